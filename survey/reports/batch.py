"""A province's batch of unit reports that survives a crash: manifest, atomic files, progress.

- Every report (PDF, or Word with --format docx) is written to a temporary name in the output
  folder and renamed into place (os.replace is atomic), so a file with the final name is whole.
- After the rename, one JSON line per unit (code, file, size, time) is appended to the batch's
  manifest beside the reports: `.manifest-<period>.jsonl` for Vietnamese PDFs,
  `.manifest-<period>-<format>-<lang>.jsonl` otherwise (a Word or English run never counts the
  Vietnamese PDFs as done). A line is written with one O_APPEND write, which POSIX keeps whole
  even with several workers appending.
- A unit is done when the manifest has its line AND the file is still there with that size
  AND it looks complete: a PDF's header and %%EOF marker, a .docx whose zip central directory
  opens. A re-run renders only the other units, so a batch killed at unit 1,700 of 3,321
  resumes at 1,701.
- A run killed mid-write leaves a hidden ``.part`` file and no final name; the next run of
  the same period and format removes them before it starts (clean_parts).
- Progress (per-unit lines, done/total, ETA) is read from the manifest, so it is the same
  whether the units are drawn inline or by RQ workers on other processes.

No Flask here: the CLI (cli.py) and the jobs (jobs.py) both use it.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

PDF_TAIL = 1024  # "%%EOF" sits in the last bytes of a PDF (after the xref and trailer)


def report_name(code: str, period: str, fmt: str = "pdf") -> str:
    return f"bao-cao-{code}-{period}.{fmt}"


def manifest_path(folder: Path, period: str, fmt: str = "pdf", lang: str = "vi") -> Path:
    tail = "" if (fmt, lang) == ("pdf", "vi") else f"-{fmt}-{lang}"
    return folder / f".manifest-{period}{tail}.jsonl"


def looks_complete(path: Path, size: int | None = None) -> bool:
    """A whole report: the expected size (when known), then by suffix a .docx whose zip central
    directory opens (it sits at the end of the file), or a PDF's header and %%EOF near the end."""
    try:
        st = path.stat()
        if size is not None and st.st_size != size:
            return False
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as zf:
                return "word/document.xml" in zf.namelist()
        with path.open("rb") as fh:
            if fh.read(5) != b"%PDF-":
                return False
            fh.seek(max(0, st.st_size - PDF_TAIL))
            return b"%%EOF" in fh.read()
    except (OSError, zipfile.BadZipFile):
        return False


def write_atomic(path: Path, data: bytes) -> None:
    """Write under a temporary name in the same folder, flush to disk, rename into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_parts(folder: Path, period: str, fmt: str = "pdf") -> int:
    """Remove the temporary files (write_atomic's ``.part``) a killed run left for this period
    and format; returns how many.  Called before a run starts its writers: a live writer's
    ``.part`` of the same batch would otherwise be taken from under it."""
    stale = list(folder.glob(f".{report_name('*', period, fmt)}.*.part"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


@dataclass(frozen=True)
class Entry:
    code: str
    file: str
    size: int
    seconds: float


def append_entry(manifest: Path, entry: Entry) -> None:
    line = json.dumps({"code": entry.code, "file": entry.file, "size": entry.size,
                       "seconds": round(entry.seconds, 3)}, ensure_ascii=False) + "\n"
    fd = os.open(manifest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))  # one write: whole lines even with several writers
    finally:
        os.close(fd)


def read_entries(manifest: Path) -> list[Entry]:
    """Lines of the manifest in order; a torn last line (a crash mid-write) is ignored."""
    out: list[Entry] = []
    try:
        text = manifest.read_text("utf-8")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            d = json.loads(line)
            out.append(Entry(str(d["code"]), str(d["file"]), int(d["size"]), float(d["seconds"])))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def done_codes(folder: Path, period: str, among: Iterable[str] | None = None, fmt: str = "pdf",
               lang: str = "vi") -> set[str]:
    """Units (of `among`, or all) whose report is recorded and still whole on disk."""
    wanted = None if among is None else set(among)
    return {e.code for e in read_entries(manifest_path(folder, period, fmt, lang))
            if (wanted is None or e.code in wanted) and looks_complete(folder / e.file, e.size)}


def render_missing(folder: Path, period: str, codes: Iterable[str], draw: Callable[[str], bytes],
                   fmt: str = "pdf", lang: str = "vi") -> int:
    """Draw and store each unit not already done; returns how many were drawn now.

    The done set is read once per call (a chunk of units), not once per unit: the manifest of
    a national batch has thousands of lines.
    """
    codes = list(codes)
    done = done_codes(folder, period, codes, fmt, lang)
    manifest = manifest_path(folder, period, fmt, lang)
    drawn = 0
    for code in codes:
        if code in done:
            continue
        t = time.perf_counter()
        data = draw(code)
        name = report_name(code, period, fmt)
        write_atomic(folder / name, data)
        append_entry(manifest, Entry(code, name, len(data), time.perf_counter() - t))
        drawn += 1
    return drawn


def chunks(codes: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(codes), size):
        yield codes[i:i + size]


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Per-unit lines with done/total and ETA, from the manifest's new lines."""

    def __init__(self, folder: Path, period: str, todo: Iterable[str], total: int,
                 echo: Callable[[str], None], fmt: str = "pdf", lang: str = "vi") -> None:
        self.manifest = manifest_path(folder, period, fmt, lang)
        self.todo = set(todo)
        self.total = total
        self.done = total - len(self.todo)
        self.echo = echo
        self.seen = len(read_entries(self.manifest))
        self.start = time.monotonic()
        self.rendered = 0

    def poll(self) -> None:
        entries = read_entries(self.manifest)
        for e in entries[self.seen:]:
            if e.code not in self.todo:
                continue  # a duplicate, or a unit done before this run
            self.todo.discard(e.code)
            self.done += 1
            self.rendered += 1
            rate = (time.monotonic() - self.start) / self.rendered
            eta = _clock(rate * len(self.todo))
            self.echo(f"[{self.done:>{len(str(self.total))}}/{self.total}] {e.code} "
                      f"({e.seconds:.2f} s) — còn lại ~{eta}")
        self.seen = len(entries)

    @property
    def finished(self) -> bool:
        return not self.todo

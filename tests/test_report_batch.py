"""The province batch resumes after a crash: a killed CLI and a killed RQ worker, for real.

The first run is killed (SIGKILL: no clean-up code runs) once a few units are written; the same
command then finishes the batch. Every PDF must be whole and readable, and the units finished
before the crash must not be drawn again.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader
from redis import Redis
from rq import Queue

from survey.reports import batch
from survey.reports.jobs import render_units
from tests.test_report_wiring import PERIOD, ROOT, responses  # noqa: F401  (fixture)

UNITS = 7  # units with responses in the demo province (as in test_report_wiring)


def _wait_for_entries(folder: Path, n: int, proc: subprocess.Popen[bytes], limit: float = 300) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = len(batch.read_entries(batch.manifest_path(folder, PERIOD)))
        if got >= n:
            return got
        assert proc.poll() is None, "the first run ended before it could be killed"
        time.sleep(0.05)
    raise AssertionError("no progress before the deadline")


def _snapshot(folder: Path) -> dict[str, int]:
    """Code -> inode of each finished file (a redraw renames a new file into place)."""
    return {e.code: (folder / e.file).stat().st_ino
            for e in batch.read_entries(batch.manifest_path(folder, PERIOD))}


def _assert_complete(folder: Path, before: dict[str, int]) -> None:
    entries = batch.read_entries(batch.manifest_path(folder, PERIOD))
    codes = {e.code for e in entries}
    assert len(codes) == UNITS
    assert {p.name for p in folder.glob("bao-cao-0*.pdf")} == {batch.report_name(c, PERIOD) for c in codes}
    for code in codes:
        path = folder / batch.report_name(code, PERIOD)
        reader = PdfReader(path)
        assert len(reader.pages) >= 3 and "SIPAS" in reader.pages[0].extract_text()
        assert batch.looks_complete(path)
    for code, inode in before.items():  # finished before the crash: kept, not drawn again
        assert (folder / batch.report_name(code, PERIOD)).stat().st_ino == inode
    assert (folder / f"bao-cao-tinh-{PERIOD}.pdf").exists()


def test_killed_cli_resumes_where_it_stopped(app, runner, responses, tmp_path, db_url):  # noqa: F811
    out = tmp_path / "out"
    env = dict(os.environ, DATABASE_URL=db_url, SECRET_KEY=secrets.token_hex(32), FLASK_APP="wsgi")
    env.pop("REDIS_URL", None)
    first = subprocess.Popen([sys.executable, "-m", "flask", "report", "province", "--period", PERIOD,
                              "-o", str(out), "--inline"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_entries(out, 2, first)
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    before = _snapshot(out)
    assert 2 <= len(before) < UNITS
    # What a kill during write_atomic leaves: a hidden .part of this batch (removed on resume)
    # and one of another period (not this run's to remove).
    stale = out / f".{batch.report_name('09999', PERIOD)}.k1ll3d.part"
    other = out / f".{batch.report_name('09999', '2025-H1')}.k1ll3d.part"
    stale.write_bytes(b"%PDF-1.7 half")
    other.write_bytes(b"%PDF-1.7 half")
    result = runner.invoke(args=["report", "province", "--period", PERIOD, "-o", str(out), "--inline"])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and other.exists()
    assert f"Tiếp tục: {len(before)}/{UNITS}" in result.output
    assert f"[{UNITS}/{UNITS}]" in result.output  # per-unit progress lines with done/total
    _assert_complete(out, before)


def test_killed_worker_resumes_where_it_stopped(app, runner, responses, tmp_path, db_url):  # noqa: F811
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    name = f"reports-test-{uuid.uuid4().hex[:12]}"
    out = tmp_path / "out"
    out.mkdir()
    with app.app_context():
        from sqlalchemy import select

        from survey.extensions import db
        from survey.models import Response, Unit
        codes = list(db.session.scalars(select(Unit.code).where(
            Unit.id.in_(select(Response.unit_id).where(Response.period == PERIOD))).order_by(Unit.code)))
    assert len(codes) == UNITS
    queue = Queue(name, connection=Redis.from_url(redis_url))
    for code in codes:  # what the CLI queues, one unit a job
        queue.enqueue(render_units, db_url, PERIOD, str(out), [code], job_timeout=600)
    worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", name, "--url", redis_url,
                               "--worker-class", "rq.worker.SimpleWorker"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_entries(out, 2, worker)
        worker.send_signal(signal.SIGKILL)  # mid-batch: no warm shutdown, no bookkeeping
    finally:
        worker.kill()
        worker.wait()
    before = _snapshot(out)
    assert 2 <= len(before) < UNITS
    try:
        app.config["REDIS_URL"] = redis_url
        app.config["REPORT_QUEUE"] = name
        result = runner.invoke(args=["report", "province", "--period", PERIOD, "-o", str(out),
                                     "--workers", "2", "--timeout", "300"])
    finally:
        Queue(name, connection=Redis.from_url(redis_url)).delete(delete_jobs=True)
    assert result.exit_code == 0, result.output
    assert f"Tiếp tục: {len(before)}/{UNITS}" in result.output
    _assert_complete(out, before)


def test_torn_or_truncated_outputs_are_not_done(tmp_path):
    pdf = b"%PDF-1.7\n" + b"x" * 2000 + b"\n%%EOF\n"
    batch.write_atomic(tmp_path / batch.report_name("001", PERIOD), pdf)
    manifest = batch.manifest_path(tmp_path, PERIOD)
    batch.append_entry(manifest, batch.Entry("001", batch.report_name("001", PERIOD), len(pdf), 0.1))
    batch.append_entry(manifest, batch.Entry("002", batch.report_name("002", PERIOD), len(pdf), 0.1))
    (tmp_path / batch.report_name("002", PERIOD)).write_bytes(pdf[:1500])  # cut short by a crash
    with manifest.open("a") as fh:
        fh.write('{"code": "003", "fi')  # a line torn mid-write
    assert batch.done_codes(tmp_path, PERIOD) == {"001"}
    drawn: list[str] = []
    assert batch.render_missing(tmp_path, PERIOD, ["001", "002", "003"],
                                lambda c: drawn.append(c) or pdf) == 2
    assert drawn == ["002", "003"]
    assert batch.done_codes(tmp_path, PERIOD) == {"001", "002", "003"}
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("size", [1, 3])
def test_chunks_cover_every_unit_once(size):
    codes = [f"{i:03d}" for i in range(7)]
    parts = list(batch.chunks(codes, size))
    assert [c for p in parts for c in p] == codes and all(len(p) <= size for p in parts)


def test_clean_parts_removes_only_this_batchs_temporaries(tmp_path):
    mine = [tmp_path / f".{batch.report_name(c, PERIOD)}.x{c}.part" for c in ("001", "tinh")]
    kept = [tmp_path / f".{batch.report_name('001', PERIOD, 'docx')}.x.part",   # another format
            tmp_path / f".{batch.report_name('001', '2025-H1')}.x.part",        # another period
            tmp_path / batch.report_name("001", PERIOD)]                          # a finished report
    for p in mine + kept:
        p.write_bytes(b"x")
    assert batch.clean_parts(tmp_path, PERIOD) == 2
    assert not any(p.exists() for p in mine) and all(p.exists() for p in kept)


def test_docx_outputs_are_checked_as_zips(tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>" + "x" * 3000)
    data = buf.getvalue()
    whole = tmp_path / batch.report_name("001", PERIOD, "docx")
    batch.write_atomic(whole, data)
    cut = tmp_path / batch.report_name("002", PERIOD, "docx")
    cut.write_bytes(data[:-40])  # the central directory, at the end, cut off by a crash
    assert batch.looks_complete(whole, len(data))
    assert not batch.looks_complete(cut)
    assert not batch.looks_complete(tmp_path / "missing.docx")
    manifest = batch.manifest_path(tmp_path, PERIOD, "docx", "en")
    assert manifest != batch.manifest_path(tmp_path, PERIOD)  # a Word run does not reuse the PDF list
    batch.append_entry(manifest, batch.Entry("001", whole.name, len(data), 0.1))
    assert batch.done_codes(tmp_path, PERIOD, fmt="docx", lang="en") == {"001"}
    assert batch.done_codes(tmp_path, PERIOD) == set()


def test_docx_english_batch_resumes(app, runner, responses, tmp_path):  # noqa: F811
    from docx import Document

    out = tmp_path / "out"
    args = ["report", "province", "--period", PERIOD, "-o", str(out), "--inline", "--format", "docx",
            "--lang", "en"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert f"[{UNITS}/{UNITS}]" in result.output
    manifest = batch.manifest_path(out, PERIOD, "docx", "en")
    entries = batch.read_entries(manifest)
    assert len({e.code for e in entries}) == UNITS and all(e.file.endswith(".docx") for e in entries)
    assert not list(out.glob("*.pdf"))
    for e in entries:
        assert batch.looks_complete(out / e.file, e.size)
        assert Document(str(out / e.file)).paragraphs
    assert (out / f"bao-cao-tinh-{PERIOD}.docx").exists()
    again = runner.invoke(args=args)  # everything already done: nothing drawn again
    assert again.exit_code == 0, again.output
    assert f"Tiếp tục: {UNITS}/{UNITS}" in again.output
    assert len(batch.read_entries(manifest)) == len(entries)


def test_a_batch_reads_the_province_once_with_the_same_figures(app, responses, monkeypatch):  # noqa: F811
    """drill.shared_ranking: one province read for every unit of a chunk (a province batch was
    O(units²)), and each unit's standing exactly what it is alone (the dashboard's)."""
    from sqlalchemy import select

    from survey.extensions import db
    from survey.indices import drill, windows
    from survey.models import Response

    with app.app_context():
        ids = sorted(db.session.scalars(select(Response.unit_id).where(Response.period == PERIOD).distinct()))
        window = windows.half(PERIOD)
        alone = [drill.standing(u, window) for u in ids]
        reads: list[object] = []
        real = drill.read
        monkeypatch.setattr(drill, "read", lambda *a, **k: reads.append(a) or real(*a, **k))
        drill._rankings.clear()     # the worker's kept rankings (PostgreSQL) would serve every unit
        with drill.shared_ranking():
            shared = [drill.standing(u, window) for u in ids]
        assert len(reads) == 1 and len(ids) == UNITS
        assert repr(shared) == repr(alone)
        assert all(s.unit is not None and s.gap is not None for s in shared)
        drill._rankings.clear()
        drill.standing(ids[0], window)  # after the block: read again, nothing kept by the block
        assert len(reads) == 2

"""Evidence files (hồ sơ kiểm chứng): what an upload is, decided from its bytes, and how it is kept.

No Flask here: the views hand bytes in and get a verdict or a stored file back.

- The type comes from the content, never from the name or the browser's Content-Type: PDF, PNG
  and JPEG by their magic numbers; DOCX, XLSX and ODT are zip packages, opened and checked for
  their main part and declared type. Anything else (an .exe renamed .pdf, HTML, SVG, a plain zip,
  macro-enabled Office files) is refused.
- Zip packages are read under limits before anything else: entry count, the total size actually
  decompressed (counted while streaming, so lying headers do not help) and the compression ratio.
  A zip bomb is refused after at most `max_unzipped` bytes of work.
- Accepted files are stored under a random name (never the upload's), written to a temporary file
  in the same directory and renamed into place, so a crash never leaves half a file under a real
  name. Their SHA-256 is recorded.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
# content type -> (extension, what people call it)
ACCEPTED: dict[str, tuple[str, str]] = {
    "application/pdf": ("pdf", "PDF"),
    "image/png": ("png", "ảnh PNG"),
    "image/jpeg": ("jpg", "ảnh JPEG"),
    DOCX: ("docx", "Word (DOCX)"),
    XLSX: ("xlsx", "Excel (XLSX)"),
    ODT: ("odt", "văn bản ODT"),
}
KINDS_TEXT = "PDF, ảnh PNG hoặc JPEG, văn bản Word (DOCX), bảng tính Excel (XLSX) hoặc ODT"

# Office packages: (main part, the content type [Content_Types].xml must declare for it).
OOXML_MAIN = {
    DOCX: ("word/document.xml",
           "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    XLSX: ("xl/workbook.xml",
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}
MAX_ENTRIES = 2000              # a large real DOCX/XLSX has a few hundred parts
MAX_RATIO = 100                 # XML compresses 10-20x; 100x is a bomb, not a document
MAX_UNZIPPED = 100 * 1024 * 1024
CHUNK = 64 * 1024


class Refused(ValueError):
    """The upload is not an evidence file we keep; the message is for the official."""


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str


def _zip_kind(data: bytes, max_unzipped: int) -> str:
    """The package type of a zip upload, after checking it is not a bomb."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        entries = package.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise Refused("Tệp nén bị hỏng, không đọc được.") from None
    if len(entries) > MAX_ENTRIES:
        raise Refused(f"Tệp nén có quá nhiều thành phần ({len(entries)}); không nhận.")
    if any(e.flag_bits & 0x1 for e in entries):
        raise Refused("Tệp có đặt mật khẩu (mã hóa); không nhận vì không kiểm tra được nội dung.")
    names = {e.filename for e in entries}
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Refused("Tệp có chứa macro; hãy lưu lại dạng DOCX/XLSX không có macro.")
    bomb = Refused("Tệp nén có tỷ lệ nén bất thường (nghi là \"bom zip\"); không nhận.")
    total = 0
    try:
        for entry in entries:
            # Count what really comes out, not what the headers claim.
            produced = 0
            with package.open(entry) as stream:
                while chunk := stream.read(CHUNK):
                    produced += len(chunk)
                    total += len(chunk)
                    if total > max_unzipped or produced > MAX_RATIO * max(entry.compress_size, 1) + CHUNK:
                        raise bomb
    except Refused:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        raise Refused("Tệp nén bị hỏng, không đọc được.") from None
    if total > MAX_RATIO * max(len(data), 1):
        raise bomb

    def part(name: str, limit: int = 256 * 1024) -> bytes:
        with package.open(name) as stream:
            return stream.read(limit)

    if "mimetype" in names and "content.xml" in names and part("mimetype", 128).strip() == ODT.encode():
        return ODT
    if "[Content_Types].xml" in names:
        declared = part("[Content_Types].xml").decode("utf-8", "replace")
        if "macroEnabled" in declared:
            raise Refused("Tệp có chứa macro; hãy lưu lại dạng DOCX/XLSX không có macro.")
        for kind, (main, main_type) in OOXML_MAIN.items():
            if main in names and re.search(
                    rf'PartName="/{re.escape(main)}"[^>]*ContentType="{re.escape(main_type)}"'
                    rf'|ContentType="{re.escape(main_type)}"[^>]*PartName="/{re.escape(main)}"',
                    declared):
                return kind
    raise Refused(f"Tệp nén không phải văn bản Word, Excel hay ODT. Chỉ nhận {KINDS_TEXT}.")


def sniff(data: bytes, max_unzipped: int = MAX_UNZIPPED) -> Sniffed:
    """What `data` is, from its bytes alone; Refused (Vietnamese message) when we do not keep it."""
    if not data:
        raise Refused("Tệp rỗng.")
    if data.startswith(b"%PDF-"):
        kind = "application/pdf"
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "image/jpeg"
    elif data.startswith(b"PK\x03\x04"):
        kind = _zip_kind(data, max_unzipped)
    elif data.startswith((b"MZ", b"\x7fELF")):
        raise Refused("Tệp là chương trình chạy được (không phải tài liệu), dù tên tệp là gì; không nhận.")
    else:
        head = data[:1024].lstrip().lower()
        if head.startswith((b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script")) or b"<svg" in head:
            raise Refused(f"Tệp HTML, SVG hoặc XML không được nhận làm hồ sơ kiểm chứng. Chỉ nhận {KINDS_TEXT}.")
        raise Refused(f"Không nhận dạng được loại tệp. Chỉ nhận {KINDS_TEXT}.")
    return Sniffed(kind, ACCEPTED[kind][0])


def safe_name(original: str | None, extension: str) -> str:
    """The name a download gets: the upload's stem (no path, no control characters) with the
    extension of what the file really is."""
    name = unicodedata.normalize("NFC", (original or "").replace("\\", "/").rsplit("/", 1)[-1])
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r"[\x00-\x1f\x7f\"<>:|?*;]+", "", stem).strip(" .") or "ho-so-kiem-chung"
    return f"{stem[:120]}.{extension}"


@dataclass(frozen=True)
class Stored:
    stored_name: str
    size: int
    sha256: str


def store(data: bytes, directory: Path) -> Stored:
    """Write `data` under a random name in `directory`, atomically (temporary file + rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Stored(name, len(data), hashlib.sha256(data).hexdigest())


def path_of(directory: Path, stored_name: str) -> Path:
    """Where a stored file lives; names are ours (hex), anything else is refused."""
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name):
        raise ValueError("not a stored evidence name")
    return directory / stored_name

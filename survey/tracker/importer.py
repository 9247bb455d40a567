"""Importing the province's published PAR INDEX / SIPAS results: read, check every row, write all.

The file (CSV, or XLSX read with openpyxl) has the columns "mã tiêu chí", "nội dung", "điểm tối
đa", "điểm đạt" and optionally "nguyên nhân mất điểm". Every row is checked and every problem is
reported with its row number (header = row 1), in Vietnamese; nothing is written unless all rows
are valid. Importing the same index and year again updates that import in place (published
results get corrected): rows are matched by code, so tasks stay on their criterion.
"""
from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from survey.extensions import db
from survey.models.loop import INDEX_KINDS, RemediationTask, TrackerCriterion, TrackerImport
from survey.remediation import files
from survey.services import audit
from survey.services.imports import MAX_ROWS, ImportRejected, RowError

# normalised header -> field; the directive's words first, then common variants.
HEADERS = {
    "mã tiêu chí": "code", "ma tieu chi": "code", "mã": "code", "stt": None,
    "nội dung": "content", "nội dung tiêu chí": "content", "tên tiêu chí": "content",
    "điểm tối đa": "max_score", "điểm chuẩn": "max_score",
    "điểm đạt": "achieved_score", "điểm đạt được": "achieved_score",
    "nguyên nhân mất điểm": "cause", "nguyên nhân": "cause",
}
REQUIRED = ("code", "content", "max_score", "achieved_score")
NAMES = {"code": "mã tiêu chí", "content": "nội dung", "max_score": "điểm tối đa",
         "achieved_score": "điểm đạt", "cause": "nguyên nhân mất điểm"}
# 1, 1.2, 1.2.3 (PAR INDEX lĩnh vực / tiêu chí / tiêu chí thành phần); a short letter prefix is
# allowed for indices that use one (A1.2). Anything else is not a criterion code.
CODE = re.compile(r"[A-Za-z]{0,3}\d{1,2}(\.\d{1,2}){0,3}")
MAX_SCORE = 1000.0


def _header(text: Any) -> str:
    words = unicodedata.normalize("NFC", str(text or "")).strip().lower()
    return re.sub(r"\s+", " ", words.replace("_", " "))


@dataclass(frozen=True)
class CriterionRow:
    row: int
    code: str
    content: str
    max_score: float
    achieved_score: float
    cause: str | None


def _table(header: list[Any], body: list[tuple[int, list[Any]]]) -> list[tuple[int, dict[str, str]]]:
    names = [HEADERS.get(_header(h), "?") for h in header]
    missing = [NAMES[f] for f in REQUIRED if f not in names]
    if missing:
        raise ImportRejected([RowError(1, None, "Dòng tiêu đề thiếu cột " + ", ".join(missing)
                                       + ". Cần các cột: mã tiêu chí, nội dung, điểm tối đa, điểm đạt.")])
    index = {f: names.index(f) for f in (*REQUIRED, "cause") if f in names}
    rows = []
    for line, values in body:
        cells = ["" if v is None else str(v).strip() for v in values]
        if not any(cells):
            continue
        rows.append((line, {f: cells[i] if i < len(cells) else "" for f, i in index.items()}))
        if len(rows) > MAX_ROWS:
            raise ImportRejected([RowError(line, None, f"Tệp có quá {MAX_ROWS} dòng.")])
    if not rows:
        raise ImportRejected([RowError(2, None, "Tệp không có dòng dữ liệu nào.")])
    return rows


def read_table(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, {field: text}) per data row of a CSV or XLSX file (decided from the bytes)."""
    if not data.strip():
        raise ImportRejected([RowError(1, None, "Tệp rỗng, không có dữ liệu.")])
    if data.startswith(b"PK\x03\x04"):
        try:
            if files.sniff(data).content_type != files.XLSX:
                raise files.Refused("Tệp không phải bảng tính XLSX.")
        except files.Refused as refused:
            raise ImportRejected([RowError(1, None, str(refused))]) from None
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
            lines = [(i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
        except Exception:  # openpyxl raises many kinds on a damaged workbook
            raise ImportRejected([RowError(1, None, "Không đọc được bảng tính XLSX.")]) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRejected([RowError(1, None, "Tệp CSV không đúng bảng mã UTF-8; hãy lưu lại "
                                                     "dạng \"CSV UTF-8\".")]) from None
        first = text.split("\n", 1)[0]
        reader = csv.reader(io.StringIO(text, newline=""),
                            delimiter=";" if first.count(";") > first.count(",") else ",")
        try:
            lines = []
            for values in reader:
                lines.append((reader.line_num, values))
        except csv.Error as error:
            raise ImportRejected([RowError(reader.line_num, None, f"Lỗi định dạng CSV ({error}).")]) from None
    if not lines:
        raise ImportRejected([RowError(1, None, "Tệp rỗng, không có dữ liệu.")])
    return _table(lines[0][1], lines[1:])


def _score(text: str) -> float:
    value = text.replace(" ", "")
    if "," in value and "." not in value:
        value = value.replace(",", ".")  # decimal comma, as Vietnamese Excel writes it
    number = float(value)  # ValueError for text
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def validate(records: list[tuple[int, dict[str, str]]]) -> list[CriterionRow]:
    """Every row checked; ImportRejected with every problem, or the rows."""
    errors: list[RowError] = []
    rows: list[CriterionRow] = []
    seen: dict[str, int] = {}
    for line, rec in records:
        problems_before = len(errors)
        code = rec["code"].strip()
        if not code:
            errors.append(RowError(line, NAMES["code"], "thiếu mã tiêu chí."))
        elif not CODE.fullmatch(code):
            errors.append(RowError(line, NAMES["code"], f"\"{code[:40]}\" không phải mã tiêu chí "
                                                        "(dạng 1, 1.2 hoặc 1.2.3)."))
        elif code in seen:
            errors.append(RowError(line, NAMES["code"], f"mã tiêu chí {code} trùng với dòng {seen[code]}."))
        else:
            seen[code] = line
        if not rec["content"]:
            errors.append(RowError(line, NAMES["content"], "thiếu nội dung tiêu chí."))
        scores = {}
        for field in ("max_score", "achieved_score"):
            text = rec[field]
            try:
                scores[field] = _score(text)
            except ValueError:
                errors.append(RowError(line, NAMES[field], f"\"{text[:20]}\" không phải là số." if text
                                       else "thiếu điểm."))
                continue
            if scores[field] < 0:
                errors.append(RowError(line, NAMES[field], "điểm không được âm."))
            elif scores[field] > MAX_SCORE:
                errors.append(RowError(line, NAMES[field], f"điểm lớn hơn {MAX_SCORE:g}, không hợp lý."))
        if len(scores) == 2 and scores["achieved_score"] > scores["max_score"] >= 0:
            errors.append(RowError(line, NAMES["achieved_score"],
                                   f"điểm đạt ({rec['achieved_score']}) lớn hơn điểm tối đa ({rec['max_score']})."))
        if len(errors) == problems_before:
            rows.append(CriterionRow(line, code, rec["content"], scores["max_score"],
                                     scores["achieved_score"], rec.get("cause") or None))
    if errors:
        raise ImportRejected(errors)
    return rows


def apply(index_kind: str, year: int, rows: list[CriterionRow], filename: str | None,
          user_id: int | None) -> TrackerImport:
    """Write the rows as one import (new, or the same index and year updated in place).

    Criteria absent from the new file are removed, unless tasks hang on them: then the file is
    refused (ImportRejected), so no task loses its criterion. The caller commits or rolls back.
    """
    if index_kind not in INDEX_KINDS:
        raise ImportRejected([RowError(1, None, "Bộ chỉ số không hợp lệ.")])
    now = datetime.now(timezone.utc)
    found = db.session.scalar(select(TrackerImport).where(TrackerImport.index_kind == index_kind,
                                                          TrackerImport.year == year))
    if found is None:
        found = TrackerImport(index_kind=index_kind, year=year)
        db.session.add(found)
    found.filename, found.imported_by, found.imported_at = (filename or None), user_id, now
    db.session.flush()
    existing = {c.code: c for c in db.session.scalars(
        select(TrackerCriterion).where(TrackerCriterion.import_id == found.id))}
    new_codes = {r.code for r in rows}
    dropped = [c for code, c in existing.items() if code not in new_codes]
    if dropped:
        busy = set(db.session.scalars(select(RemediationTask.tracker_criterion_id).where(
            RemediationTask.tracker_criterion_id.in_([c.id for c in dropped]))))
        kept = sorted(c.code for c in dropped if c.id in busy)
        if kept:
            raise ImportRejected([RowError(1, None, "Tệp thiếu các tiêu chí đã có nhiệm vụ khắc phục: "
                                           + ", ".join(kept) + ". Hãy giữ các dòng này trong tệp.")])
        for gone in dropped:
            db.session.delete(gone)
    for row in rows:
        criterion = existing.get(row.code)
        if criterion is None:
            criterion = TrackerCriterion(import_id=found.id, code=row.code)
            db.session.add(criterion)
        criterion.content, criterion.max_score = row.content, row.max_score
        criterion.achieved_score = row.achieved_score
        if row.cause:
            criterion.cause = row.cause
    audit.record("tracker_import", target=f"{index_kind}:{year}", user_id=user_id, rows=len(rows),
                 filename=filename, updated=bool(existing))
    db.session.flush()
    return found


def import_file(index_kind: str, year: int, data: bytes, filename: str | None,
                user_id: int | None) -> TrackerImport:
    """Read, check and write a results file; ImportRejected (nothing written by us) otherwise."""
    return apply(index_kind, year, validate(read_table(data)), filename, user_id)

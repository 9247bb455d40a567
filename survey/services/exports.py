"""Data downloads: scoped queries (rows in, nothing formatted) and CSV/XLSX writers (no queries).

Every query goes through access.scope, so an export can only ever contain the user's units, whatever
parameters are passed. Responses are read in keyset-paginated chunks, so a province-wide export
streams in constant memory and never holds a database cursor open between chunks.
"""
from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Counter, Question, Response, Survey, SurveyVersion, Unit, User
from survey.services import comments
from survey.services.access import descendants, scope
from survey.services.periods import in_vietnam

CHUNK = 1000
NOT_APPLICABLE = "KAD"  # "không áp dụng / không biết"
RESPONSE_COLUMNS = ("ma_phieu", "khao_sat", "phien_ban", "ky", "thoi_diem_gui", "ma_don_vi", "ten_don_vi",
                    "ma_quay", "kenh", "linh_vuc")
COUNT_COLUMNS = ("ma_don_vi", "ten_don_vi", "ky", "so_phieu")


@dataclass(frozen=True)
class ExportFilter:
    """What the user asked for; `unit_id` must already be checked visible (access.unit_or_404)."""

    period: str | None = None
    unit_id: int | None = None
    survey_code: str | None = None


def _unit_ids(flt: ExportFilter) -> set[int] | None:
    # A unit means the unit and everything below it (a commune and its service centre).
    return descendants({flt.unit_id}) if flt.unit_id is not None else None


def _filtered(query, user: User, flt: ExportFilter):
    query = scope(query, user, Response.unit_id)
    if flt.period:
        query = query.where(Response.period == flt.period)
    ids = _unit_ids(flt)
    if ids is not None:
        query = query.where(Response.unit_id.in_(ids))
    if flt.survey_code:
        query = query.where(Response.survey_id == select(Survey.id).where(Survey.code == flt.survey_code)
                            .scalar_subquery())
    return query


def question_codes(flt: ExportFilter) -> list[str]:
    """Question codes of the survey (every version, newest order first), the export's answer columns."""
    query = (select(Question.code, SurveyVersion.number, Question.position)
             .join(SurveyVersion, Question.version_id == SurveyVersion.id)
             .join(Survey, SurveyVersion.survey_id == Survey.id))
    if flt.survey_code:
        query = query.where(Survey.code == flt.survey_code)
    codes: list[str] = []
    for code, _number, _position in db.session.execute(
            query.order_by(SurveyVersion.number.desc(), Question.position)):
        if code not in codes:
            codes.append(code)
    return codes


@dataclass(frozen=True)
class ResponseRecord:
    id: int
    survey_code: str
    version: int
    period: str
    submitted_at: datetime
    unit_code: str
    unit_name: str
    counter_code: str | None
    channel: str
    service_field: str | None
    # question code -> int, text, or NOT_APPLICABLE; skipped questions are absent.
    answers: dict[str, Any]


def iter_responses(user: User, flt: ExportFilter, after_id: int = 0,
                   limit: int | None = None) -> Iterator[ResponseRecord]:
    """Responses the user may read, by id, with their answers; no client or dossier hash, ever.

    The scoped statement is built now, not when iteration starts: a streamed download iterates
    after the view has returned, when the user object may no longer be attached to a session.
    """
    base = _filtered(
        select(Response.id, Survey.code, SurveyVersion.number, Response.period, Response.submitted_at,
               Unit.code, Unit.name, Counter.code, Response.channel, Response.service_field)
        .join(Survey, Response.survey_id == Survey.id)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Unit, Response.unit_id == Unit.id)
        .outerjoin(Counter, Response.counter_id == Counter.id),
        user, flt,
    ).order_by(Response.id)
    return _chunks(base, after_id, limit)


def _chunks(base, after_id: int, limit: int | None) -> Iterator[ResponseRecord]:
    last, produced = after_id, 0
    while limit is None or produced < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - produced)
        rows = db.session.execute(base.where(Response.id > last).limit(size)).all()
        if not rows:
            return
        answers = _answers([r[0] for r in rows])
        for row in rows:
            yield ResponseRecord(*row, answers=answers.get(row[0], {}))
        produced += len(rows)
        last = rows[-1][0]


def _answers(response_ids: list[int]) -> dict[int, dict[str, Any]]:
    by_response: dict[int, dict[str, Any]] = {}
    # Free text (comments) comes only from services/comments, which redacts it; here the
    # scores, N/A marks and choice codes.
    query = (select(Answer.response_id, Question.code, Answer.value_int, Answer.value_text, Answer.na)
             .join(Question, Answer.question_id == Question.id)
             .where(Answer.response_id.in_(response_ids), Question.type != comments.FREE_TEXT))
    for response_id, code, value_int, value_text, na in db.session.execute(query):
        value = NOT_APPLICABLE if na else (value_int if value_int is not None else value_text)
        if value is not None and value != "":
            by_response.setdefault(response_id, {})[code] = value
    for response_id, texts in comments.by_response(response_ids).items():
        by_response.setdefault(response_id, {}).update(texts)
    return by_response


@dataclass(frozen=True)
class CountRecord:
    unit_id: int
    unit_code: str
    unit_name: str
    period: str
    responses: int


def response_counts(user: User, flt: ExportFilter) -> list[CountRecord]:
    """Responses per unit and period, for the units the user may read."""
    query = _filtered(
        select(Unit.id, Unit.code, Unit.name, Response.period, func.count(Response.id))
        .join(Unit, Response.unit_id == Unit.id)
        .group_by(Unit.id, Unit.code, Unit.name, Response.period),
        user, flt,
    ).order_by(Response.period, Unit.code)
    return [CountRecord(*row) for row in db.session.execute(query)]


# ---------------------------------------------------------------- formatting (no queries below)

def local_time(moment: datetime) -> datetime:
    """Vietnam wall-clock time, naive (spreadsheets have no time zones); SQLite returns naive UTC."""
    return in_vietnam(moment).replace(tzinfo=None)


def response_table(records: Iterable[ResponseRecord], codes: list[str]) -> Iterator[list[Any]]:
    yield [*RESPONSE_COLUMNS, *codes]
    for r in records:
        yield [r.id, r.survey_code, r.version, r.period, local_time(r.submitted_at), r.unit_code,
               r.unit_name, r.counter_code or "", r.channel, r.service_field or "",
               *(r.answers.get(code, "") for code in codes)]


def count_table(records: Iterable[CountRecord]) -> Iterator[list[Any]]:
    yield list(COUNT_COLUMNS)
    for r in records:
        yield [r.unit_code, r.unit_name, r.period, r.responses]


def _safe_text(value: str) -> str:
    # Citizens' comments reach spreadsheets: "=HYPERLINK(...)" must stay text, not become a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, str):
        return _safe_text(value)
    return value


def csv_chunks(rows: Iterable[list[Any]], batch: int = 500) -> Iterator[str]:
    """CSV text in pieces for a streamed response; starts with a BOM so Excel reads UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    for number, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(v) for v in row])
        if number % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(rows: Iterable[list[Any]], sheet_title: str) -> IO[bytes]:
    """An XLSX file (write-only mode: rows go to disk as they come), rewound, for send_file.

    The temporary file disappears when send_file closes it after the download.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    target = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(target)
    target.seek(0)
    return target


def _xlsx_cell(sheet, value: Any) -> Any:
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        # Control characters stored before citizen text was cleaned (forms/citizen.py clean_text),
        # or typed by an official: a worksheet cannot hold them, and the download must not fail.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "dd/mm/yyyy hh:mm"
        return cell
    if isinstance(value, str) and value.startswith("="):
        # openpyxl turns any string starting with "=" into a formula; force it to stay text.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value

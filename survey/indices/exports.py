"""Data downloads: scoped queries (rows in, nothing formatted) and CSV/XLSX writers (no queries).

Every query takes the caller's scope (access.Scope, from visible_unit_ids) and goes through
access.restrict, so an export can only ever contain the user's units, whatever parameters are
passed. Responses are read by id in chunks, in an order that reveals nothing finer
than the hour (iter_responses), so a province-wide export streams in small memory and never holds
a database cursor open between chunks.

Only counted responses are exported, rows and counts alike (stratum_sums.counted): a quarantined
response counts in no figure, and listing it, even marked, would show an insider of the rated
unit which of their submissions the rules caught, so they could learn to dodge them. Sở Nội vụ
sees held responses on the review page (survey/review), not in downloads.
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

from survey.access import Scope, descendants, restrict
from survey.catalog.periods import in_vietnam
from survey.catalog.question_bank import YES_NO_LABELS
from survey.extensions import db
from survey.indices import comments
from survey.indices.stratum_sums import counted
from survey.models import Answer, Counter, Question, Response, Survey, SurveyVersion, Unit
from survey.services import privacy

CHUNK = 1000
NOT_APPLICABLE = "KAD"  # "không áp dụng / không biết"
# stt: the row's number in this file (hour, then a keyed shuffle), not the database id; gio_gui:
# the hour, never the minute (docs/anonymity.md).
RESPONSE_COLUMNS = ("stt", "khao_sat", "phien_ban", "ky", "gio_gui", "ma_don_vi", "ten_don_vi",
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


def _filtered(query, visible: Scope, flt: ExportFilter):
    query = restrict(query, visible, Response.unit_id).where(counted())
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


def answer_labels(flt: ExportFilter) -> dict[str, dict[str, str]]:
    """Question code -> stored value -> the label the citizen read, for choice, multiple-choice
    and yes/no questions (the newest version's wording), so a download says "Nông thôn", not
    "AREA=nong-thon" or "C1=1"."""
    query = (select(Question.code, Question.type, Question.choices)
             .join(SurveyVersion, Question.version_id == SurveyVersion.id)
             .join(Survey, SurveyVersion.survey_id == Survey.id)
             .where(Question.type.in_(("choice", "multi", "yesno"))))
    if flt.survey_code:
        query = query.where(Survey.code == flt.survey_code)
    labels: dict[str, dict[str, str]] = {}
    for code, kind, choices in db.session.execute(query.order_by(SurveyVersion.number)):
        found = dict(YES_NO_LABELS) if kind == "yesno" else {
            str(c["value"]): str(c.get("vi") or c["value"]) for c in (choices or ())}
        labels[code] = {**labels.get(code, {}), **found}
    return labels


@dataclass(frozen=True)
class ResponseRecord:
    # Where the row stands in (hour, keyed order): the API's opaque cursor. Never the database
    # id, which numbers responses in the order they came (docs/anonymity.md).
    position: str
    survey_code: str
    version: int
    period: str
    hour: datetime  # the UTC hour it was submitted in, never a finer time
    unit_code: str
    unit_name: str
    counter_code: str | None
    channel: str
    service_field: str | None
    # question code -> int, text, or NOT_APPLICABLE; skipped questions are absent.
    answers: dict[str, Any]


_ID_BITS = 64
_ID_MASK = (1 << _ID_BITS) - 1


def parse_position(text: str) -> tuple[int, int]:
    """(hour number, order key) from a position string; ValueError when it is not one."""
    hour, _, key = (text or "").partition(".")
    if not (hour.isascii() and hour.isdigit() and len(hour) <= 9 and len(key) == 16
            and all(c in "0123456789abcdef" for c in key)):
        raise ValueError(text)
    return int(hour), int(key, 16)


def iter_responses(visible: Scope, flt: ExportFilter, after: str | None = None,
                   limit: int | None = None) -> Iterator[ResponseRecord]:
    """Responses of the scope `visible` (access.visible_unit_ids), with their answers; no id,
    client or dossier hash, ever.

    Only hours that are over (privacy.published_before), hour by hour, and within an hour in a
    keyed shuffle of the ids, so neither a field nor the row order tells which response of an
    hour came first. `after` is a record's `position`: the rows after it. The order is computed
    from (id, time) pairs of every row asked for, held as one int each (about 50 bytes per
    response); the rows themselves are then read by id in chunks, so memory stays small and no
    database cursor is held open between chunks. The scoped statements are built now, not when
    iteration starts: a streamed download iterates after the view has returned.
    """
    start = parse_position(after) if after else None
    keys = _filtered(select(Response.id, Response.submitted_at), visible, flt).where(
        Response.submitted_at < privacy.published_before())
    if start is not None:
        keys = keys.where(Response.submitted_at >= privacy.hour_start(start[0]))
    details = _filtered(
        # No submitted_at: the hour comes from the order pass, the minute never leaves the database.
        select(Response.id, Survey.code, SurveyVersion.number, Response.period,
               Unit.code, Unit.name, Counter.code, Response.channel, Response.service_field)
        .join(Survey, Response.survey_id == Survey.id)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Unit, Response.unit_id == Unit.id)
        .outerjoin(Counter, Response.counter_id == Counter.id),
        visible, flt,
    )
    return _chunks(keys, details, start, limit)


def _ordered(keys, start: tuple[int, int] | None) -> list[int]:
    """(hour, order key, id) packed into one int per row, sorted; read by id in keyset chunks."""
    packed: list[int] = []
    last = 0
    while True:
        rows = db.session.execute(keys.where(Response.id > last).order_by(Response.id).limit(CHUNK * 10)).all()
        if not rows:
            return sorted(packed)
        for response_id, at in rows:
            hour = privacy.hour_number(at)
            key = privacy.order_key(response_id)
            if start is None or (hour, key) > start:
                packed.append((hour << 2 * _ID_BITS) | (key << _ID_BITS) | response_id)
        last = rows[-1][0]


def _chunks(keys, details, start: tuple[int, int] | None, limit: int | None) -> Iterator[ResponseRecord]:
    order = _ordered(keys, start)
    if limit is not None:
        order = order[:limit]
    for offset in range(0, len(order), CHUNK):
        batch = order[offset:offset + CHUNK]
        ids = [p & _ID_MASK for p in batch]
        rows = {row[0]: row for row in db.session.execute(details.where(Response.id.in_(ids)))}
        answers = _answers(ids)
        for packed, response_id in zip(batch, ids):
            row = rows.get(response_id)
            if row is None:  # deleted or no longer visible since the order was read
                continue
            hour = packed >> 2 * _ID_BITS
            position = f"{hour}.{(packed >> _ID_BITS) & _ID_MASK:016x}"
            yield ResponseRecord(position, *row[1:4], privacy.hour_start(hour), *row[4:],  # type: ignore[misc, call-arg]
                                 answers=answers.get(response_id, {}))  # (mypy cannot count a Row's columns)


def _answers(response_ids: list[int]) -> dict[int, dict[str, Any]]:
    by_response: dict[int, dict[str, Any]] = {}
    # Free text (comments) comes only from indices/comments, which redacts it; here the
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


def response_counts(visible: Scope, flt: ExportFilter) -> list[CountRecord]:
    """Responses per unit and period, for the units of the scope `visible`."""
    query = _filtered(
        select(Unit.id, Unit.code, Unit.name, Response.period, func.count(Response.id))
        .join(Unit, Response.unit_id == Unit.id)
        .group_by(Unit.id, Unit.code, Unit.name, Response.period),
        visible, flt,
    ).order_by(Response.period, Unit.code)
    return [CountRecord(*row) for row in db.session.execute(query)]


# ---------------------------------------------------------------- formatting (no queries below)

def local_time(moment: datetime) -> datetime:
    """Vietnam wall-clock time, naive (spreadsheets have no time zones); SQLite returns naive UTC."""
    return in_vietnam(moment).replace(tzinfo=None)


def labelled(value: Any, labels: dict[str, str] | None) -> Any:
    """A choice's label for its stored code ("1;3": both labels, "; " between); scores, N/A
    marks and text as they are."""
    if not labels or value == NOT_APPLICABLE or value == "":
        return value
    return "; ".join(labels.get(part, part) for part in str(value).split(";"))


def response_table(records: Iterable[ResponseRecord], codes: list[str],
                   labels: dict[str, dict[str, str]] | None = None) -> Iterator[list[Any]]:
    labels = labels or {}
    yield [*RESPONSE_COLUMNS, *codes]
    for number, r in enumerate(records, start=1):
        yield [number, r.survey_code, r.version, r.period, local_time(r.hour), r.unit_code,
               r.unit_name, r.counter_code or "", r.channel, r.service_field or "",
               *(labelled(r.answers.get(code, ""), labels.get(code)) for code in codes)]


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

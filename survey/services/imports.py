"""CSV imports of units and service volumes: parse, validate every row, then write all or nothing.

Validation never stops at the first bad row: an operator fixing a spreadsheet wants the whole list
of problems at once (row number, column, what is wrong), in Vietnamese. Nothing is written unless
every row is valid. The same validators serve the web upload, the CLI and the JSON API.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence, cast

from sqlalchemy import select, tuple_

from survey.catalog.instrument import SERVICE_FIELDS
from survey.catalog.periods import is_period, period_problem
from survey.extensions import db
from survey.models import ServiceVolume, Unit
from survey.models.units import UNIT_KINDS
from survey.services import audit

UNIT_COLUMNS = ("code", "name", "kind", "parent_code")
VOLUME_COLUMNS = ("unit_code", "period", "field", "dossiers")
FIELD_CODES = tuple(code for code, _vi, _en in SERVICE_FIELDS)
UNIT_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
# service_volume.dossiers is a 32-bit INTEGER on both backends; larger numbers would fail on insert.
MAX_DOSSIERS = 2_147_483_647
# A province has a few hundred units; a volume file a few thousand rows. Far more is a wrong file.
MAX_ROWS = 50_000
# Upload routes raise the app-wide body limit (sized for the citizen form) to this, and no further.
UPLOAD_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is the line in the file (header = 1) or the item number in a JSON list."""

    row: int
    column: str | None
    message: str
    unit: str = "Dòng"  # "Dòng" for CSV lines, "Phần tử" for JSON list items

    def __str__(self) -> str:
        where = f"{self.unit} {self.row}" + (f", cột {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(ValueError):
    """The file has at least one bad row; nothing was written."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(e) for e in errors[:5]))
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    periods: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged


def valid_period(text: str | None) -> bool:
    return is_period(text)  # the app's one period rule (services/periods.py)


# ---------------------------------------------------------------- reading the file

def read_csv(data: bytes, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped value}) per data row; raises ImportRejected on a bad file."""
    if not data.strip():
        raise ImportRejected([RowError(1, None, "Tệp rỗng, không có dữ liệu.")])
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a BOM, other tools do not.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRejected([RowError(
            line, None,
            "tệp không đúng bảng mã UTF-8 (có thể được lưu bằng bảng mã cũ như TCVN3/VNI hoặc "
            "Windows-1258). Hãy lưu lại tệp dạng \"CSV UTF-8\".")]) from None
    first_line = text.split("\n", 1)[0]
    # Excel with Vietnamese regional settings writes ";" as the list separator.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ImportRejected([RowError(1, None, "Không đọc được dòng tiêu đề.")]) from None
    missing = [c for c in columns if c not in header]
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if missing or duplicated:
        problems = []
        if missing:
            problems.append("thiếu cột " + ", ".join(missing))
        if duplicated:
            problems.append("cột lặp lại " + ", ".join(duplicated))
        raise ImportRejected([RowError(
            1, None, f"Dòng tiêu đề sai ({'; '.join(problems)}). Cần đúng các cột: {', '.join(columns)}.")])
    index = {c: header.index(c) for c in columns}
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank lines at the end of a spreadsheet export
            rows.append((reader.line_num,
                         {c: (values[i].strip() if i < len(values) else "") for c, i in index.items()}))
            if len(rows) > MAX_ROWS:
                raise ImportRejected([RowError(reader.line_num, None,
                                               f"Tệp có quá {MAX_ROWS:,} dòng.".replace(",", "."))])
    except csv.Error as error:
        raise ImportRejected([RowError(reader.line_num, None, f"Lỗi định dạng CSV ({error}).")]) from None
    if not rows:
        raise ImportRejected([RowError(2, None, "Tệp chỉ có dòng tiêu đề, không có dòng dữ liệu nào.")])
    return rows


# ---------------------------------------------------------------- service volumes

@dataclass(frozen=True)
class VolumeRow:
    unit_id: int
    period: str
    field: str
    dossiers: int


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # JSON true is not a number of dossiers
        return str(value).lower()
    return str(value).strip()


def validate_volumes(records: Iterable[tuple[int, Mapping[str, Any]]],
                     unit_label: str = "Dòng") -> list[VolumeRow]:
    """Checked rows, or ImportRejected listing every problem of every row."""
    units = dict(db.session.execute(select(Unit.code, Unit.id)).all())
    errors: list[RowError] = []
    seen: dict[tuple[int, str, str], int] = {}
    rows: list[VolumeRow] = []

    for number, record in records:
        def bad(column: str | None, message: str) -> None:
            errors.append(RowError(number, column, message, unit_label))  # noqa: B023 (called in this pass only)

        before = len(errors)
        unit_code = _as_text(record.get("unit_code"))
        period = _as_text(record.get("period")).upper()
        field_code = _as_text(record.get("field")).lower()
        raw = record.get("dossiers")
        dossiers_text = _as_text(raw)

        if not unit_code:
            bad("unit_code", "thiếu mã đơn vị.")
        elif unit_code not in units:
            bad("unit_code", f"không có đơn vị mã \"{unit_code}\".")
        if not period:
            bad("period", "thiếu kỳ báo cáo.")
        elif (problem := period_problem(period)) is not None:
            bad("period", problem[0].lower() + problem[1:])
        if not field_code:
            bad("field", "thiếu lĩnh vực.")
        elif field_code not in FIELD_CODES:
            bad("field", f"lĩnh vực \"{field_code}\" không có trong danh mục ({', '.join(FIELD_CODES)}).")
        dossiers = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            dossiers = raw
        elif dossiers_text.isascii() and dossiers_text.isdigit():
            dossiers = int(dossiers_text)
        if not dossiers_text:
            bad("dossiers", "thiếu số hồ sơ.")
        elif dossiers is None:
            bad("dossiers", f"số hồ sơ \"{dossiers_text}\" phải là số nguyên không âm.")
        elif dossiers < 0:
            bad("dossiers", f"số hồ sơ {dossiers} là số âm; phải là số nguyên không âm.")
        elif dossiers > MAX_DOSSIERS:
            bad("dossiers", f"số hồ sơ {dossiers_text} quá lớn.")

        if len(errors) == before:
            key = (units[unit_code], period, field_code)
            if key in seen:
                bad(None, f"trùng với {unit_label.lower()} {seen[key]} (cùng đơn vị {unit_code}, "
                          f"kỳ {period}, lĩnh vực {field_code}).")
            else:
                seen[key] = number
                rows.append(VolumeRow(key[0], period, field_code, cast(int, dossiers)))  # no error: a number
    if errors:
        raise ImportRejected(errors)
    return rows


def parse_volumes_csv(data: bytes) -> list[VolumeRow]:
    return validate_volumes(read_csv(data, VOLUME_COLUMNS))


def parse_volumes_json(payload: Any) -> list[VolumeRow]:
    if not isinstance(payload, list) or not payload:
        raise ImportRejected([RowError(0, None, "Nội dung phải là một danh sách (JSON array) khác rỗng "
                                                "các bản ghi {unit_code, period, field, dossiers}.",
                                       "Phần tử")])
    records = []
    for number, item in enumerate(payload, start=1):
        if not isinstance(item, dict):
            raise ImportRejected([RowError(number, None, "mỗi phần tử phải là một đối tượng JSON.", "Phần tử")])
        records.append((number, item))
    return validate_volumes(records, unit_label="Phần tử")


def apply_volumes(rows: list[VolumeRow]) -> ImportResult:
    """Upsert on (unit, period, field) in the caller's transaction; the caller audits and commits."""
    result = ImportResult(periods=sorted({r.period for r in rows}))
    existing: dict[tuple[int, str, str], ServiceVolume] = {}
    keys = [(r.unit_id, r.period, r.field) for r in rows]
    # Chunked so the IN list stays well under SQLite's bound-parameter limit.
    for start in range(0, len(keys), 300):
        chunk = keys[start:start + 300]
        found = db.session.scalars(select(ServiceVolume).where(
            tuple_(ServiceVolume.unit_id, ServiceVolume.period, ServiceVolume.field).in_(chunk)))
        existing.update({(v.unit_id, v.period, v.field): v for v in found})
    for row in rows:
        volume = existing.get((row.unit_id, row.period, row.field))
        if volume is None:
            db.session.add(ServiceVolume(unit_id=row.unit_id, period=row.period, field=row.field,
                                         dossiers=row.dossiers))
            result.created += 1
        elif volume.dossiers != row.dossiers:
            volume.dossiers = row.dossiers
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    return result


def record_volume_change(result: ImportResult, via: str, user_id: int | None = None, **details: Any) -> None:
    """Service volumes are the weights' numerators: an import is audited as a weight change."""
    audit.record("weights_changed", target="service_volume", user_id=user_id, via=via,
                 periods=result.periods, created=result.created, updated=result.updated,
                 unchanged=result.unchanged, **details)


# ---------------------------------------------------------------- units

@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str | None


def validate_units(records: Sequence[tuple[int, Mapping[str, str]]]) -> list[UnitRow]:
    existing = {u.code: u for u in db.session.scalars(select(Unit))}
    errors: list[RowError] = []
    rows: list[UnitRow] = []
    first_line: dict[str, int] = {}
    file_codes = {_as_text(r.get("code")) for _n, r in records}

    for number, record in records:
        def bad(column: str | None, message: str) -> None:
            errors.append(RowError(number, column, message))  # noqa: B023 (called in this pass only)

        before = len(errors)
        code, name = _as_text(record.get("code")), _as_text(record.get("name"))
        kind, parent = _as_text(record.get("kind")).lower(), _as_text(record.get("parent_code"))
        if not code:
            bad("code", "thiếu mã đơn vị.")
        elif not UNIT_CODE_PATTERN.match(code):
            bad("code", f"mã \"{code}\" không hợp lệ (chỉ chữ, số, dấu chấm, gạch; tối đa 32 ký tự).")
        elif code in first_line:
            bad("code", f"mã \"{code}\" trùng với dòng {first_line[code]}.")
        if not name:
            bad("name", "thiếu tên đơn vị.")
        elif len(name) > 255:
            bad("name", "tên dài quá 255 ký tự.")
        if kind not in UNIT_KINDS:
            bad("kind", f"loại \"{kind}\" không hợp lệ; chọn một trong {', '.join(UNIT_KINDS)}.")
        if kind == "province" and parent:
            bad("parent_code", "đơn vị cấp tỉnh không có đơn vị cấp trên.")
        elif kind in UNIT_KINDS and kind != "province" and not parent:
            bad("parent_code", "thiếu mã đơn vị cấp trên.")
        elif parent and parent == code:
            bad("parent_code", "đơn vị không thể là cấp trên của chính nó.")
        elif parent and parent not in existing and parent not in file_codes:
            bad("parent_code", f"không có đơn vị cấp trên mã \"{parent}\" (trong hệ thống hay trong tệp).")
        if code and code not in first_line:
            first_line[code] = number
        if len(errors) == before:
            rows.append(UnitRow(number, code, name, kind, parent or None))

    if not errors:
        errors.extend(_cycles(rows, existing))
    if errors:
        raise ImportRejected(errors)
    return rows


def _cycles(rows: list[UnitRow], existing: dict[str, Unit]) -> list[RowError]:
    """Rows whose new parent would put a unit below itself (A under B under A)."""
    parent_of = {code: (u.parent.code if u.parent else None) for code, u in existing.items()}
    parent_of.update({r.code: r.parent_code for r in rows})
    errors = []
    for row in rows:
        seen, current = {row.code}, row.parent_code
        while current is not None:
            if current in seen:
                errors.append(RowError(row.line, "parent_code",
                                       f"đơn vị cấp trên \"{row.parent_code}\" tạo vòng lặp trong cây đơn vị."))
                break
            seen.add(current)
            current = parent_of.get(current)
    return errors


def parse_units_csv(data: bytes) -> list[UnitRow]:
    return validate_units(read_csv(data, UNIT_COLUMNS))


def apply_units(rows: list[UnitRow]) -> ImportResult:
    """Create new codes, update existing ones; parents are linked after every unit exists."""
    result = ImportResult()
    by_code = {u.code: u for u in db.session.scalars(select(Unit))}
    new: set[str] = set()
    changed: set[str] = set()
    for row in rows:
        unit = by_code.get(row.code)
        if unit is None:
            unit = Unit(code=row.code, name=row.name, kind=row.kind)
            db.session.add(unit)
            by_code[row.code] = unit
            new.add(row.code)
        elif (unit.name, unit.kind) != (row.name, row.kind):
            unit.name, unit.kind = row.name, row.kind
            changed.add(row.code)
    db.session.flush()  # ids for units that are parents of others in the same file
    for row in rows:
        unit = by_code[row.code]
        parent_id = by_code[row.parent_code].id if row.parent_code else None
        if unit.parent_id != parent_id:
            unit.parent_id = parent_id
            changed.add(row.code)
    db.session.flush()
    result.created = len(new)
    result.updated = len(changed - new)
    result.unchanged = len(rows) - result.created - result.updated
    return result

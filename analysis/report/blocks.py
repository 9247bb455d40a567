"""A report worded once, as plain blocks: the shape the Word writer (docx_writer.py) prints.

Paragraphs, subheadings, bullet lists, tables and images of finished Vietnamese strings, grouped
in sections under a head (issuer, title, facts) and, for administrative documents, a Letterhead
(analysis/report/letterhead.py). The progress report builds one (survey/progress/document.py, also
drawn as PDF and web page); the unit, province and thematic reports build one from their report
model (analysis/report/word.py).

A report model may grow block types of its own (a typed dataclass per question kind, say): they
print without a line here if they offer `as_blocks()` returning these blocks; otherwise
`model_blocks` prints a dataclass as a table of its fields, so nothing is silently left out.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from ..estimate import Estimate
from .format_vi import MISSING, format_interval, format_number, format_percent
from .letterhead import Letterhead

__all__ = ["Paragraph", "Subheading", "Bullets", "Table", "Image", "Block", "Section", "Document",
           "model_blocks"]


@dataclass(frozen=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"  # what the template draws
    text: str
    note: bool = False              # a small explanatory line


@dataclass(frozen=True)
class Subheading:
    kind: ClassVar[str] = "subheading"  # what the template draws
    text: str


@dataclass(frozen=True)
class Bullets:
    kind: ClassVar[str] = "bullets"  # what the template draws
    items: tuple[str, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"  # what the template draws
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()   # right-aligned columns
    nowrap: tuple[int, ...] = ()    # columns kept on one line in the PDF (dates, signed points)


@dataclass(frozen=True)
class Image:
    """A chart as PNG (analysis/report/charts.py with fmt="png")."""
    kind: ClassVar[str] = "image"
    png: bytes
    caption: str | None = None
    width_cm: float = 16.0          # the text width of an A4 page with the decree's margins


Block = Paragraph | Subheading | Bullets | Table | Image


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    issuer: str                     # the province, or the body issuing the report
    kind_line: str
    name: str                       # the unit (or "Toàn tỉnh")
    period_text: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    filename_stem: str
    letterhead: Letterhead | None = None  # the national heading block and closing when set
    lead: tuple[Block, ...] = ()    # under the title, before the first section
    appendix: tuple[Section, ...] = ()  # after the signature (phụ lục)


# ---------------------------------------------------------------- model blocks of any kind

def _value_text(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, Estimate):
        if not math.isfinite(value.estimate):
            return MISSING
        # A share (rate, index) lies in [0, 1] with its interval; a 1–5 score or a count does not.
        if not 0.0 <= value.estimate <= 1.0 or (math.isfinite(value.ci_high) and value.ci_high > 1.0):
            return f"{format_number(value.estimate, 2)} ({format_interval(value.ci_low, value.ci_high, percent=False)})"
        return f"{format_percent(value.estimate)} ({format_interval(value.ci_low, value.ci_high)})"
    if isinstance(value, float):
        return format_number(value, 2)
    if isinstance(value, (tuple, list)):
        return "; ".join(_value_text(v) for v in value)
    return str(value)


def _is_record(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _records_table(records: Sequence[Any]) -> Table:
    names = [f.name for f in dataclasses.fields(records[0])]
    rows = tuple(tuple(_value_text(getattr(r, n, None)) for n in names) for r in records)
    numeric = tuple(i for i, n in enumerate(names) if all(
        isinstance(getattr(r, n, None), (int, float, Estimate)) for r in records))
    return Table(tuple(names), rows, numeric=numeric)


def model_blocks(obj: Any) -> tuple[Block, ...]:
    """The blocks of one model object: its own `as_blocks()`, or a plain rendering of its fields.

    The plain rendering: "code. text" (when it has them) as a subheading, other single values as
    "name: value" lines, and a tuple of records (options with their shares, groups of a
    breakdown) as a table with a column per field, so no figure is dropped from the document.
    """
    if isinstance(obj, (Paragraph, Subheading, Bullets, Table, Image)):
        return (obj,)
    own = getattr(obj, "as_blocks", None)
    if callable(own):
        return tuple(b for item in own() for b in model_blocks(item))
    if not _is_record(obj):
        return (Paragraph(_value_text(obj)),)
    values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    out: list[Block] = []
    title = ". ".join(str(part) for part in (values.pop("code", None), values.pop("text", None)) if part)
    if title:
        out.append(Subheading(title))
    lines = []
    for name, value in values.items():
        if isinstance(value, (tuple, list)) and value and all(_is_record(v) for v in value):
            out.append(_records_table(value))
        else:
            lines.append(f"{name}: {_value_text(value)}")
    if lines:
        out.insert(1 if title else 0, Bullets(tuple(lines)))
    return tuple(out)

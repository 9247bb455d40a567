"""PDF reports: plain report data in (model), PDF bytes out (render); Word (.docx) bytes out
(render_*_docx, word.py and word_province.py).

No Flask here; the web app and CLI assemble the data and call render_*:

    from analysis.report import UnitReportData, render_unit_report
    pdf: bytes = render_unit_report(UnitReportData(...))

Estimates are analysis.Estimate (the one estimate type; anything else is
refused when the report data is built), printed with their own interval
method (model.METHOD_LABELS).
Vietnamese number and date formatting for the web app: analysis.report.format_vi.
Demo data for previews: analysis.report.demo. Timing: bench/reports.py.
"""
from typing import Any

from .model import (
    METHOD_LABELS,
    ChangeRow,
    Comment,
    ComponentRow,
    HeatRow,
    ItemRow,
    MethodsInfo,
    PosterData,
    ProvinceReportData,
    RankedUnit,
    TargetProgress,
    ThematicReportData,
    TrendPoint,
    UnitReportData,
    ci_method_text,
    method_label,
)

_RENDERERS = ("render_posters", "render_province_report", "render_thematic_report",
              "render_unit_report")
# Word documents of the same reports (python-docx): name -> module.
_DOCX = {"render_unit_docx": "word", "render_thematic_docx": "word", "render_province_docx": "word_province"}

__all__ = [
    "ChangeRow", "Comment", "ComponentRow", "HeatRow", "ItemRow",
    "MethodsInfo", "PosterData", "ProvinceReportData", "RankedUnit", "TargetProgress",
    "ThematicReportData", "TrendPoint", "UnitReportData", "METHOD_LABELS", "method_label",
    "ci_method_text", *_RENDERERS, *_DOCX,
]


def __getattr__(name: str) -> Any:
    # Lazy: the web app imports format_vi on every request path and should not
    # pay for importing matplotlib and WeasyPrint until a PDF is drawn.
    if name in _RENDERERS:
        from . import render
        return getattr(render, name)
    if name in _DOCX:
        from importlib import import_module
        return getattr(import_module(f"{__name__}.{_DOCX[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""PDF reports: plain report data in (model), PDF bytes out (render).

No Flask here; the web app and CLI assemble the data and call render_*:

    from analysis.report import UnitReportData, render_unit_report
    pdf: bytes = render_unit_report(UnitReportData(...))

Estimates may be any objects with estimate, ci_low, ci_high, n (and
optionally n_eff, deff, unreliable), e.g. analysis.estimators.Estimate.
Vietnamese number and date formatting for the web app: analysis.report.format_vi.
Demo data for previews: analysis.report.demo. Timing: bench/reports.py.
"""
from .model import (ChangeRow, Comment, ComponentRow, EstimateView, HeatRow, ItemRow,
                    MethodsInfo, PosterData, ProvinceReportData, RankedUnit, TargetProgress,
                    ThematicReportData, TrendPoint, UnitReportData, as_view)

_RENDERERS = ("render_posters", "render_province_report", "render_thematic_report",
              "render_unit_report")

__all__ = [
    "ChangeRow", "Comment", "ComponentRow", "EstimateView", "HeatRow", "ItemRow",
    "MethodsInfo", "PosterData", "ProvinceReportData", "RankedUnit", "TargetProgress",
    "ThematicReportData", "TrendPoint", "UnitReportData", "as_view", *_RENDERERS,
]


def __getattr__(name: str):
    # Lazy: the web app imports format_vi on every request path and should not
    # pay for importing matplotlib and WeasyPrint until a PDF is drawn.
    if name in _RENDERERS:
        from . import render
        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

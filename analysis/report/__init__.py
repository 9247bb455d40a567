"""PDF reports: plain report data in (model), PDF bytes out (render).

No Flask here; the web app and CLI assemble the data and call render_*.
"""
from .model import (Comment, ComponentRow, ChangeRow, EstimateView, HeatRow, ItemRow,
                    MethodsInfo, PosterData, ProvinceReportData, RankedUnit, TargetProgress,
                    ThematicReportData, TrendPoint, UnitReportData, as_view)
from .render import (render_posters, render_province_report, render_thematic_report,
                     render_unit_report)

__all__ = [
    "Comment", "ComponentRow", "ChangeRow", "EstimateView", "HeatRow", "ItemRow",
    "MethodsInfo", "PosterData", "ProvinceReportData", "RankedUnit", "TargetProgress",
    "ThematicReportData", "TrendPoint", "UnitReportData", "as_view",
    "render_posters", "render_province_report", "render_thematic_report", "render_unit_report",
]

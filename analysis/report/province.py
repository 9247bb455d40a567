"""Template context for the province report (Sở Nội vụ): ranking, heat table, declines."""
from __future__ import annotations

from typing import Any

from . import charts
from .model import ProvinceReportData, RankedUnit, weakest_items
from .ranking import rank_span, rank_units

__all__ = ["province_context", "CHART_CHUNK"]

# Units per comparison chart: one chart must fit on a page (0,5 cm a row).
CHART_CHUNK = 40


def _ranked(units: tuple[RankedUnit, ...]) -> list[RankedUnit]:
    if any(u.rank is not None for u in units):
        return list(units)
    # Caller passed raw estimates: rank here with the same rule as everywhere.
    return rank_units((u.unit_name, u.estimate, u.responses) for u in units)


def province_context(d: ProvinceReportData, fmt: charts.ChartFormat = "svg") -> dict[str, Any]:
    units = _ranked(d.units)
    ranked = sorted((u for u in units if u.rank is not None), key=lambda u: u.rank or 0)
    unranked = sorted((u for u in units if u.rank is None), key=lambda u: u.unit_name)
    comparison = [
        charts.comparison_chart([charts.Bar(f"{u.rank}. {u.unit_name}", u.estimate, u.tie_group)
                                 for u in ranked[i:i + CHART_CHUNK]], fmt=fmt)
        for i in range(0, len(ranked), CHART_CHUNK)
    ]
    heat = [(row.unit_name, [(v, charts.heat_colour(v)) for v in row.values]) for row in d.heat]
    # A significant decline: the whole interval of the change is below 0 (NaN never is).
    declines = sorted(((c, c.change) for c in d.changes
                       if c.change is not None and c.change.ci_high < 0),
                      key=lambda p: p[1].estimate)
    appendix = [(u, weakest_items(u.items)) for u in d.appendix]
    return {
        "d": d, "ranked": [(u, rank_span(u, ranked)) for u in ranked], "unranked": unranked, "comparison": comparison,
        "heat": heat, "declines": [c for c, _ in declines], "appendix": appendix,
        "n_ranked": len(ranked),
    }

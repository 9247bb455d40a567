"""Dashboard charts: full width, labelled axes, empty periods left out, and download buttons
(exercised in a browser by tests/polish/test_accessibility.py)."""
from __future__ import annotations

import re
from pathlib import Path

from analysis import Estimate
from survey.dashboards import charts
from tests.conftest import login

STYLE = Path(__file__).resolve().parents[2] / "templates" / "dashboards" / "_style.html"


def est(value: float) -> Estimate:
    return Estimate(estimate=value, se=0.02, ci_low=value - 0.04, ci_high=value + 0.04, n=200,
                    n_eff=180.0, deff=1.1, df=199, reliable=True)


def test_trend_leaves_out_periods_without_figures():
    points, line = charts.trend_points([("2025-H1", None), ("2025-H2", est(0.8)), ("2026-H1", None),
                                        ("2026-H2", est(0.9))])
    assert [p.period for p in points] == ["2025-H2", "2026-H2"]
    frame = charts.TREND
    # The two periods with figures span the plot, first at the left edge, last at the right.
    assert points[0].x == frame.left and points[1].x == frame.width - frame.right
    assert line == f"{points[0].x},{points[0].y} {points[1].x},{points[1].y}"
    assert points[1].y == frame.y(0.9) < points[0].y  # higher value, higher on the page


def test_trend_of_one_period_sits_in_the_middle_and_of_none_is_empty():
    (point,), _line = charts.trend_points([("2026-H1", None), ("2026-H2", est(0.5))])
    assert point.x == charts.TREND.left + (charts.TREND.width - charts.TREND.left - charts.TREND.right) / 2
    assert charts.trend_points([("2026-H1", None)]) == ([], "")


def test_charts_fill_the_width():
    css = STYLE.read_text(encoding="utf-8")
    rule = re.search(r"svg\.chart\{([^}]*)\}", css).group(1)
    assert "width:100%" in rule and "max-width" not in rule


def test_dashboard_charts_have_axes_titles_and_download_hooks(app, client):
    from survey.services.demo_responses import seed_demo_responses

    with app.app_context():
        seed_demo_responses(n_per_unit=30, periods=("2026-H1", "2026-H2"))
    login(client, "official")
    html = client.get("/quan-ly/bang-dieu-khien/?period=2026-H2").get_data(as_text=True)
    figures = re.findall(r'<figure class="chart-figure" data-name="([^"]+)"', html)
    assert {"chi-so-thanh-phan", "dien-bien"} <= set(figures)
    assert 'src="/static/charts.js"' in html
    for title in ("Tỷ lệ hài lòng (%); vạch ngang: khoảng tin cậy 95%", "Chỉ số hài lòng (%)", "Kỳ báo cáo"):
        assert f">{title}</text>" in html, title
    assert html.count('class="axis"') >= 4
    # Raw period codes never label a chart.
    assert not re.search(r'class="period"[^>]*>\d{4}-H[12]<', html)

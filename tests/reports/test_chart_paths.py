"""The two drawings of a chart: direct SVG (PDF) and matplotlib PNG (DOCX) from the same call."""
import math
import re
import xml.etree.ElementTree as ET

from conftest import est

from analysis.estimate import Estimate
from analysis.report import charts, wp_svgtext
from analysis.report.chartstyle import bar_layout

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def _bars() -> list[charts.Bar]:
    weak = Estimate(0.7, 0.1, 0.5, 0.9, 20, 15, 1.3, 2, method="mean", reliable=False)
    nan = Estimate(math.nan, math.nan, math.nan, math.nan, 0, 0, math.nan, 0, method="mean", reliable=False)
    return [charts.Bar("A1. Tiếp cận dịch vụ", est(0.823)),
            charts.Bar("A5. Tiếp nhận, xử lý phản ánh, kiến nghị " * 3, est(0.95, 0.04)),
            charts.Bar("A6. Dịch vụ công trực tuyến", weak), charts.Bar("A7. Không có", nan),
            charts.Bar("A8. Chưa đo", None)]


def test_bar_svg_has_every_bar_label_value_and_interval():
    bars = _bars()
    svg = charts.bar_chart(bars)
    root = ET.fromstring(svg)  # well-formed
    texts = _texts(svg)
    lines = [line for lab in bar_layout(bars, 17.0, 0.42, 8.0, 0.6, True, False).labels for line in lab.split("\n")]
    assert all(line in texts for line in lines) and any(t.endswith("…") for t in lines)
    assert {"82,3%", "95,0%", "70,0% *"} <= set(texts)            # values, the unreliable one starred
    assert texts.count("chưa có dữ liệu") == 2                     # NaN and None: no bar, said so
    assert [t for t in texts if t.endswith("%") and " " not in t][-6:] == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert len(root.findall(f".//{SVG}rect")) == 3                 # one bar per estimate
    whiskers = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == charts.WHISKER]
    assert len(re.findall("M", whiskers[0].get("d", ""))) == 3 * 3  # interval line and two caps, each
    assert "font-family: 'SIPAS Noto Sans'" in svg


def test_png_path_draws_the_same_call():
    bars = _bars()
    png = charts.bar_chart(bars, fmt="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    trend = [("2025-H1", est(0.81)), ("2025-H2", None), ("2026-H1", est(0.85))]
    assert charts.trend_chart(trend, fmt="png")[:4] == b"\x89PNG"
    assert charts.comparison_chart(bars[:2], fmt="png")[:4] == b"\x89PNG"
    texts = _texts(charts.trend_chart(trend))
    assert {"81,0%", "85,0%"} <= set(texts) and any("2026" in t for t in texts)


def test_svg_text_replacement_is_installed_on_the_tested_weasyprint():
    import weasyprint
    import weasyprint.svg as wsvg

    from analysis.report import render_posters
    render_posters([])
    if weasyprint.__version__.split(".")[0] == wp_svgtext.TESTED_MAJOR:
        assert wsvg.TAGS["text"] is wsvg.text and wsvg.text.__module__ == wp_svgtext.__name__


def test_both_drawings_speak_the_report_language():
    """English: "no data", "82.3%", "H1/2026" in the SVG, from the catalogue (NO_DATA via N_/gettext)."""
    from pathlib import Path

    from babel.support import Translations

    from analysis.report.language import language

    en = Translations.load(str(Path(__file__).resolve().parents[2] / "translations"), ["en"])
    bars = [charts.Bar("A1", est(0.823)), charts.Bar("A2", None)]
    points = [("2026-H1", est(0.823)), ("2026-H2", None)]
    vi_texts = _texts(charts.bar_chart(bars)) + _texts(charts.trend_chart(points))
    assert "82,3%" in vi_texts and "chưa có dữ liệu" in vi_texts
    with language(en):
        texts = _texts(charts.bar_chart(bars)) + _texts(charts.trend_chart(points))
        png = charts.bar_chart(bars, fmt="png")
    assert "82.3%" in texts and "82,3%" not in texts
    assert "chưa có dữ liệu" not in texts and en.gettext("chưa có dữ liệu") in texts
    assert any(t.startswith("H1") for t in texts)
    assert png.startswith(b"\x89PNG")

"""The reports in English: the caller passes the catalogue, figures follow the locale (no Flask)."""
from __future__ import annotations

import pytest

from analysis.report import render_posters, render_thematic_report, render_unit_report
from analysis.report.demo import demo_posters, demo_thematic
from analysis.report.format_vi import (
    format_interval,
    format_number,
    format_percent,
    format_points,
    period_label,
    period_label_short,
)
from analysis.report.language import current_locale, language
from analysis.report.render import render_html, unit_context
from survey.i18n import translations
from tests.reports.conftest import make_unit, pdf_text


def test_one_formatter_two_locales() -> None:
    assert format_percent(0.8505) == "85,1%" and format_percent(0.8505, locale="en") == "85.1%"
    assert format_number(12345.67) == "12.345,7" and format_number(12345.67, locale="en") == "12,345.7"
    assert format_points(0.023) == "+2,3 điểm %" and format_points(0.023, locale="en") == "+2.3 pp"
    assert format_interval(0.82, 0.881, locale="en") == "82.0–88.1%"
    assert period_label("2026-H1", "en") == "First half of 2026"
    assert period_label("2026-H2", "en") == "Second half of 2026"
    assert period_label("2026-Q3", "en") == "Q3 2026" and period_label("2026-03", "en") == "March 2026"
    assert period_label_short("2026-H2", "en") == "H2/2026" and period_label_short("2026-H2") == "6T cuối/2026"


def test_language_is_per_render_and_restored() -> None:
    assert current_locale() == "vi"
    with language(translations("en")):
        assert current_locale() == "en"
    assert current_locale() == "vi"
    with language(translations("vi")):  # no Vietnamese catalogue: the source strings
        assert current_locale() == "vi"


def test_unit_report_html_in_english() -> None:
    data = make_unit()
    with language(translations("en")):
        html = render_html("reports/unit.html", data.generated_at, **unit_context(data))
    assert '<html lang="en">' in html
    for text in ("Overall satisfaction index", "Results per question", "How to read the figures",
                 format_percent(data.overall.estimate, locale="en"), "Page"):
        assert text in html, text
    assert "Chỉ số hài lòng chung" not in html and "Cách đọc số liệu" not in html
    # The same data without a catalogue: Vietnamese, decimal comma.
    vi = render_html("reports/unit.html", data.generated_at, **unit_context(data))
    assert "Chỉ số hài lòng chung" in vi and format_percent(data.overall.estimate) in vi


@pytest.mark.parametrize("render, data, heading", [
    (render_thematic_report, demo_thematic, "Purpose and response collection progress"),
    (render_posters, demo_posters, "Scan the code to rate your satisfaction"),
])
def test_other_reports_in_english(render, data, heading) -> None:
    text = " ".join(" ".join(pdf_text(render(data(), translations=translations("en")))).split())
    assert heading in text


def test_unit_pdf_in_english_has_english_headings() -> None:
    text = "\n".join(pdf_text(render_unit_report(make_unit(), translations=translations("en"))))
    assert "Overall satisfaction index" in text and "Citizens' comments" in text

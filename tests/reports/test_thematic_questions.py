"""The report model of a campaign's own questions: one estimate type, and the PDF prints it."""
from __future__ import annotations

import subprocess

import pytest

from analysis.report.demo import demo_thematic
from analysis.report.format_vi import format_p_value, format_percent
from analysis.report.model import Breakdown, ChoiceShare, GroupRow, QuestionResult
from analysis.report.render import render_thematic_report


def test_question_records_take_estimates_only():
    with pytest.raises(TypeError):
        ChoiceShare("1", "Có", {"estimate": 0.5})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        GroupRow("Nam", [0.5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        QuestionResult("C1", "yesno", "?", rate=0.4)  # type: ignore[arg-type]
    b = Breakdown("SEX", "Giới tính", ["Tỷ lệ"], [])  # type: ignore[arg-type]
    assert b.columns == ("Tỷ lệ",) and b.rows == () and b.test is None


def test_p_values_read_as_people_write_them():
    assert format_p_value(0.0105) == "0,011"
    assert format_p_value(0.00002) == "< 0,001"
    assert format_p_value(float("nan")) == format_percent(None)


def test_demo_thematic_report_prints_its_questions_and_the_test():
    data = demo_thematic()
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=render_thematic_report(data),
                          capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.split())
    for q in data.questions:
        assert f"{q.code}. {q.text}" in flat
    choice = next(q for q in data.questions if q.type == "choice")
    assert all(format_percent(s.share.estimate) in flat for s in choice.shares)
    assert "F = 6,20" in flat and "p = 0,003" in flat and "có ý nghĩa thống kê" in flat

from datetime import date, datetime

import pytest

from analysis.report.format_vi import (
    format_date,
    format_datetime,
    format_int,
    format_interval,
    format_number,
    format_percent,
    format_points,
    period_label,
    period_label_short,
)


@pytest.mark.parametrize("value, expected", [
    (0.851, "85,1%"),
    (0.8505, "85,1%"),      # half-up on the written decimal, not float rounding
    (0.8504, "85,0%"),
    (1.0, "100,0%"),
    (0.0, "0,0%"),
    (0.07, "7,0%"),
    (None, "—"),
    (float("nan"), "—"),
])
def test_percent(value, expected):
    assert format_percent(value) == expected


def test_percent_digits():
    assert format_percent(0.8512, 0) == "85%"
    assert format_percent(0.12345, 2) == "12,35%"


@pytest.mark.parametrize("value, expected", [
    (12345, "12.345"), (0, "0"), (999, "999"), (1000, "1.000"), (1234567, "1.234.567"),
    (-12345, "-12.345"), (412.6, "413"), (None, "—"),
])
def test_int(value, expected):
    assert format_int(value) == expected


def test_number():
    assert format_number(12345.67) == "12.345,7"
    assert format_number(4.256, 2) == "4,26"
    assert format_number(-0.04) == "0,0"          # never "-0,0"
    assert format_number(2.5, 1, sign=True) == "+2,5"
    assert format_number(-2.5, 1, sign=True) == "-2,5"


def test_points_and_interval():
    assert format_points(0.023) == "+2,3 điểm %"
    assert format_points(-0.0234) == "-2,3 điểm %"
    assert format_interval(0.82, 0.881) == "82,0–88,1%"
    assert format_interval(3.9, 4.25, 2, percent=False) == "3,90–4,25"
    assert format_interval(None, 0.5) == "—"


def test_dates():
    assert format_date(date(2026, 3, 5)) == "05/03/2026"
    assert format_datetime(datetime(2026, 12, 31, 7, 4)) == "31/12/2026 07:04"
    assert format_datetime(datetime(2026, 1, 2, 23, 59)) == "02/01/2026 23:59"


@pytest.mark.parametrize("code, label", [
    ("2026-H1", "6 tháng đầu năm 2026"),
    ("2026-H2", "6 tháng cuối năm 2026"),
    ("2026", "Năm 2026"),
    ("2025-Q3", "Quý III năm 2025"),
    ("2026-03", "Tháng 3 năm 2026"),
])
def test_period_label(code, label):
    assert period_label(code) == label


def test_period_label_short():
    assert period_label_short("2026-H1") == "6T đầu/2026"
    assert period_label_short("2025-H2") == "6T cuối/2025"


@pytest.mark.parametrize("bad", ["2026-H3", "26-H1", "2026-13", "", "2026/H1"])
def test_period_label_rejects(bad):
    with pytest.raises(ValueError):
        period_label(bad)

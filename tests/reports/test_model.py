import math

import pytest
from conftest import est, make_unit

from analysis import Design, Estimate, mean
from analysis.estimate import is_reliable
from analysis.report.model import (
    ChangeRow,
    ComponentRow,
    HeatRow,
    ItemRow,
    ProvinceReportData,
    RankedUnit,
    TrendPoint,
    ci_method_text,
    weakest_items,
)
from analysis.report.ranking import rank_span, rank_units


def test_reliability_rule_from_design():
    assert not est(0.85, 0.03, n=29).reliable                # n < 30
    assert not est(0.85, 0.101, n=400).reliable              # half-width > 10 points
    assert est(0.85, 0.099, n=30).reliable
    # Mean scores are on 1-5: their limit is 0.4 points, not 10 percentage points.
    assert est(4.1, 0.2, n=400).reliable and not est(4.1, 0.41, n=400).reliable
    assert not is_reliable(400, 0.8, float("nan"))           # no interval: not reliable
    e = est(0.85, 0.02)
    assert e.unreliable is not e.reliable and e.half_width == pytest.approx(0.02)


def test_estimators_state_their_own_reliability():
    design = Design.from_arrays(n=40)
    y = [1.0] * 30 + [0.0] * 10
    assert mean(design, y).reliable is False       # half-width 0.14 > 10 points
    assert mean(Design.from_arrays(n=400), y * 10).reliable is True


@pytest.mark.parametrize("shape", [
    {"estimate": 0.85, "ci_low": 0.83, "ci_high": 0.87, "n": 400},   # the old row dict
    (0.85, 0.83, 0.87, 400),
])
def test_report_records_refuse_anything_but_an_estimate(shape):
    with pytest.raises(TypeError, match="analysis.Estimate"):
        ComponentRow("A1", "Tiếp cận dịch vụ", shape)
    with pytest.raises(TypeError):
        ItemRow("A1.1", "a", est(0.8), mean=shape)
    with pytest.raises(TypeError):
        TrendPoint("2026-H1", shape)
    with pytest.raises(TypeError):
        HeatRow("X", (est(0.8), shape))
    with pytest.raises(TypeError):
        ChangeRow("X", est(0.8), est(0.7), shape)
    with pytest.raises(TypeError):
        RankedUnit("X", shape)
    with pytest.raises(TypeError):
        make_unit(overall_change=shape)
    with pytest.raises(TypeError):
        ProvinceReportData("P", "2026-H1", "S", (), overall=shape)
    with pytest.raises(TypeError):
        ci_method_text([("x", [shape])])


def test_none_is_no_estimate():
    assert ComponentRow("A1", "Tiếp cận dịch vụ", None).estimate is None
    assert isinstance(ComponentRow("A1", "Tiếp cận dịch vụ", est(0.8)).estimate, Estimate)
    assert ItemRow("A1.1", "a", None).unreliable and ItemRow("A1.1", "a", None).n == 0


def test_nan_interval_is_never_ranked():
    nan = float("nan")
    no_ci = Estimate(0.95, nan, nan, nan, 400, nan, nan, 0, reliable=True)
    units = rank_units([("A", est(0.9, 0.01), 400), ("B", no_ci, 400)])
    assert [(u.unit_name, u.rank) for u in units] == [("A", 1), ("B", None)]
    assert math.isnan(units[1].estimate.ci_low)


def test_items_derive_component_and_flag():
    it = ItemRow("A3.2", "Công chức lắng nghe", est(0.8, n=12))
    assert it.component == "A3" and it.unreliable and it.n == 12


def test_weakest_skips_unreliable_and_sorts():
    items = [ItemRow("A1.1", "a", est(0.7)), ItemRow("A1.2", "b", est(0.5, n=10)),
             ItemRow("A1.3", "c", est(0.6)), ItemRow("A1.4", "d", None), ItemRow("A1.5", "e", est(0.9)),
             ItemRow("A1.6", "f", est(0.8))]
    assert [i.code for i in weakest_items(items)] == ["A1.3", "A1.1", "A1.6"]


def test_weakest_shows_every_item_tied_with_the_third():
    # 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 are the same rate summed in another order.
    third, fourth = (0.1 + 0.2 + 0.3) / 1.0, (0.3 + 0.2 + 0.1) / 1.0
    assert third != fourth
    items = [ItemRow("A2.1", "a", est(0.3)), ItemRow("A2.2", "b", est(0.5)),
             ItemRow("A2.3", "c", est(third)), ItemRow("A2.4", "d", est(fourth)),
             ItemRow("A2.5", "e", est(0.6 + 2e-6)), ItemRow("A2.6", "f", est(0.2, n=12))]
    assert [i.code for i in weakest_items(items)] == ["A2.1", "A2.2", "A2.3", "A2.4"]
    shuffled = items[:2] + items[3:] + items[2:3]
    assert [i.code for i in weakest_items(shuffled)] == ["A2.1", "A2.2", "A2.3", "A2.4"]
    # Close is not equal: a rate 2e-6 higher is not tied.
    assert [i.code for i in weakest_items(items, k=2)] == ["A2.1", "A2.2"]


def test_equal_estimates_share_a_rank_whatever_their_summation_order():
    a, b = 0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1       # 0.6000000000000001 and 0.6
    assert a != b
    for order, (vb, vc) in ((["A", "B", "C", "D"], (a, b)), (["D", "C", "B", "A"], (b, a))):
        values = {"A": est(0.9, 0.01), "B": est(vb, 0.01), "C": est(vc, 0.01), "D": est(0.5, 0.01)}
        units = rank_units([(name, values[name], 400) for name in order])
        assert [(u.unit_name, u.rank) for u in units] == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]


def test_rank_units_groups_by_leader_not_by_chain():
    units = rank_units([("A", est(0.90, 0.03), 400), ("B", est(0.86, 0.03), 400),
                        ("C", est(0.82, 0.03), 400), ("D", est(0.78, 0.03), 400),
                        ("E", est(0.5, 0.3, n=12), 12)])
    by = {u.unit_name: u for u in units}
    assert [u.rank for u in units] == [1, 2, 3, 4, None]
    # A-B overlap, B-C overlap, C-D overlap: a chain would tie A with D.
    assert by["A"].tie_group == by["B"].tie_group != by["C"].tie_group == by["D"].tie_group
    assert by["E"].rank is None and by["E"].tie_group is None
    ranked = [u for u in units if u.rank]
    assert rank_span(by["B"], ranked) == (1, 3)
    assert rank_span(by["A"], ranked) == (1, 2)


def test_chart_labels_wrap_to_two_measured_lines():
    from analysis.report.charts import _text_width, _wrap
    text = "Công chức tuân thủ đúng quy định, không yêu cầu thêm giấy tờ, không gây phiền hà " * 3
    wrapped = _wrap(text, 200.0, 8.0)
    lines = wrapped.split("\n")
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(_text_width(line, 8.0) <= 200.0 for line in lines)
    assert _wrap("Nhận kết quả đúng hẹn", 200.0, 8.0) == "Nhận kết quả đúng hẹn"

from dataclasses import dataclass

from analysis.report.model import (ComponentRow, EstimateView, ItemRow, as_view, weakest_items)
from analysis.report.ranking import rank_span, rank_units

from conftest import Est, est


def test_as_view_accepts_estimator_shaped_objects():
    v = as_view(Est(0.85, 0.01, 0.83, 0.87, 400, 300.0, 1.3, 40))
    assert v == EstimateView(0.85, 0.83, 0.87, 400, False, 300.0, 1.3)


def test_reliability_rule_from_design():
    assert as_view(est(0.85, 0.03, n=29)).unreliable            # n < 30
    assert as_view(est(0.85, 0.101, n=400)).unreliable          # half-width > 10 points
    assert not as_view(est(0.85, 0.099, n=30)).unreliable
    # Mean scores are on 1-5: the 10-point rule is for proportions only.
    assert not as_view(est(4.1, 0.2, n=400), proportion=False).unreliable


def test_flag_carried_by_the_estimate_wins():
    @dataclass
    class Flagged:
        estimate: float = 0.9
        ci_low: float = 0.89
        ci_high: float = 0.91
        n: int = 1000
        unreliable: bool = True
    assert as_view(Flagged()).unreliable


def test_nan_and_none_become_missing():
    v = as_view(Est(float("nan"), float("nan"), float("nan"), float("nan"), 0, 0.0, float("nan"), 0))
    assert v.missing and v.unreliable
    assert as_view(None) is None
    assert ComponentRow("A1", "Tiếp cận dịch vụ", None).estimate is None


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

"""The drill-down's figures (survey/indices/drill.py) agree with the paths they relabel:
counters pooled back are the unit; a whole-year window is the two halves pooled; the
province is indices/pooled.py; the gap is unit − province; a range is cut by its dates."""
from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.indices import aggregates, drill
from survey.indices.pooled import pooled_rows
from survey.indices.windows import custom, half, quarter, year
from survey.models import Response, Unit

PERIOD = "2026-H1"


@pytest.fixture
def seeded(app, demo_responses):
    demo_responses(40, ("2025-H2", PERIOD))
    with app.app_context():
        yield app


def _busiest_unit() -> int:
    from sqlalchemy import func
    return db.session.scalar(select(Response.unit_id).where(Response.period == PERIOD)
                             .group_by(Response.unit_id).order_by(func.count().desc()).limit(1))


def _same(a, b):
    assert a.n == b.n
    for k in ("estimate", "se", "ci_low", "ci_high"):
        assert math.isclose(getattr(a, k), getattr(b, k), rel_tol=1e-9, abs_tol=1e-12), k


def test_counters_pooled_back_are_the_unit(seeded):
    unit_id = _busiest_unit()
    data = drill.read(half(PERIOD), {unit_id}, by_counter=True)
    pooled = drill.by_domain(drill.estimates(data, unit=unit_id))[unit_id]
    rows = {(r.stat, r.measure): r.est for r in aggregates.index_rows(PERIOD, {unit_id})}
    assert set(pooled) == set(rows)
    for key, est in rows.items():
        _same(pooled[key], est)
    per_counter = drill.counters(unit_id, half(PERIOD))
    assert len(per_counter) >= 2
    assert sum(f[("overall", "overall")].n for f in per_counter.values()) == rows[("overall", "overall")].n


def test_a_year_is_both_halves_pooled_and_the_province_is_pooled_py(seeded):
    want = pooled_rows("SIPAS", ["2025-H2"], None)
    figures = drill.province(year(2025), None, "overall", "overall", ["2025-H2"])
    # 2025 has responses only in its second half: the year is that half.
    _same(figures.pooled.overall, want[("overall", "overall")])
    assert figures.units and all(e.period == "2025" for e in figures.units)
    assert figures.trend[0][1] is not None


def test_gap_is_unit_minus_province_and_ranked(seeded):
    unit_id = _busiest_unit()
    got = drill.standing(unit_id, half(PERIOD))
    assert got.unit is not None and got.province is not None and got.gap is not None
    assert math.isclose(got.gap.estimate, got.unit.estimate - got.province.estimate, abs_tol=1e-12)
    assert got.gap.ci_low < got.gap.estimate < got.gap.ci_high
    assert got.units >= 2


def test_a_range_is_cut_by_its_dates(seeded):
    unit_id = _busiest_unit()
    whole = drill.counters(unit_id, half(PERIOD))
    ranged = drill.counters(unit_id, custom(date(2026, 1, 1), date(2026, 6, 30)))
    assert {c for c, _ in ranged} == {c for c, _ in whole}
    for (c, _), found in ranged.items():   # a range that is the half-year is the half-year
        _same(found[("overall", "overall")], whole[(c, PERIOD)][("overall", "overall")])
    q1 = drill.standing(unit_id, quarter(2026, 1))
    q2 = drill.standing(unit_id, quarter(2026, 2))
    n = drill.standing(unit_id, half(PERIOD)).unit.n
    assert (q1.unit.n if q1.unit else 0) + (q2.unit.n if q2.unit else 0) == n
    assert db.session.scalar(select(Unit.id).where(Unit.id == unit_id)) == unit_id


def test_the_ranking_places_each_unit_as_the_index_table_does(seeded):
    """drill.ranking keeps every unit's figures as columns and builds one Estimate on demand:
    each must be the index_table() Estimate of the units relabelled to the window (the path it
    replaced), and the province the pooled one."""
    window = half(PERIOD)
    found = drill.ranking(window)
    data = drill.read(window, None, stats=("overall",))
    every = {e.unit: e for e in drill.estimates(data, period=PERIOD)}
    assert set(found.row) == set(every) and len(every) >= 2
    for unit_id, est in every.items():
        assert repr(found.unit(unit_id)) == repr(est)
    assert found.ranked == sum(1 for e in every.values() if e.rank > 0)
    from dataclasses import replace
    pooled = drill.estimates(data, unit=0, period=PERIOD)[0]
    assert repr(found.province) == repr(replace(pooled, unit=None))
    assert found.unit(-5) is None and found.gap(-5) is None


def test_gc_paused_restores_collection_even_after_an_error():
    import gc

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with drill.gc_paused():
            assert not gc.isenabled()
            raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with drill.gc_paused():
            pass
        assert not gc.isenabled()   # off before: left off
    finally:
        gc.enable()

"""SIPAS index tables from SQL aggregates: equal to the row-level reference, and to hand sums."""
from __future__ import annotations

import math
from collections import Counter as Tally
from datetime import datetime, timezone

import numpy as np
import pytest
from sqlalchemy import select

from analysis import Estimate
from analysis.indices import index_cells_from_rows, index_table, service_weights
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.indices.aggregates import (
    UNWEIGHTED_NOTE,
    IndexRow,
    index_cells,
    index_rows,
    strata_rows,
    stratum_label,
    trend,
    unit_summary,
)
from survey.indices.stratum_sums import instrument_of
from survey.models import Answer, Question, Response, ServiceVolume, Survey, Unit
from survey.services.demo_responses import NewResponse, insert_responses

PERIOD = "2026-H2"
WHEN = {"2026-H1": datetime(2026, 3, 10, 3, 0, tzinfo=timezone.utc),
        "2026-H2": datetime(2026, 9, 10, 3, 0, tzinfo=timezone.utc)}


# --- helpers shared with test_dashboards (no test_ prefix, so they are not collected twice) ---

def unit_id(code: str) -> int:
    return db.session.scalar(select(Unit.id).where(Unit.code == code))


def add(unit_code: str, answers: dict[str, int | None], field: str | None = None,
        period: str = PERIOD, comment: str | None = None, when: datetime | None = None,
        counter_index: int = 0) -> None:
    """Store one response; answers map item codes to 1..5, or None for "không áp dụng"."""
    add_many([(unit_code, answers, field, period, comment, when, counter_index)])


def add_many(specs) -> None:
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    rows = []
    for code, answers, field, period, comment, when, counter_index in specs:
        unit = db.session.get(Unit, unit_id(code))
        rows.append(NewResponse(unit.id, unit.counters[counter_index].id, period,
                                when or WHEN[period], field, answers, comment))
    insert_responses(survey.current_version.id, rows)
    db.session.commit()


def volumes(unit_code: str, period: str, dossiers: dict[str, int]) -> None:
    for field, d in dossiers.items():
        db.session.add(ServiceVolume(unit_id=unit_id(unit_code), period=period, field=field,
                                     dossiers=d))
    db.session.commit()


def overall_row(rows, code: str) -> Estimate:
    """The overall index of one unit among index rows (which must be IndexRow, not dicts)."""
    [row] = [r for r in rows if r.unit_code == code and r.est.stat == "overall"]
    assert isinstance(row, IndexRow) and isinstance(row.est, Estimate)
    return row.est


# --- the SQL cells equal analysis.indices.index_cells_from_rows on the same data --------------

A_ITEMS = ("A1.1", "A1.2", "A1.3", "A2.1", "A2.3", "A3.1", "A3.2", "A4.1", "A5.1", "A6.2")


def _random_data(seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    fields = ["ho-tich", "dat-dai", "chung-thuc", None]
    specs = []
    for code, n in (("00157", 45), ("00178", 38), ("00193", 20)):
        for period in ("2026-H1", "2026-H2"):
            for _ in range(n):
                answers = {}
                for item in A_ITEMS + ("OVERALL",):
                    u = rng.random()
                    if u < 0.12:
                        continue                      # skipped: no answer row
                    answers[item] = None if u < 0.22 else int(rng.integers(1, 6))
                specs.append((code, answers, fields[rng.integers(0, 4)], period, None, None, 0))
    specs.append(("00157", {"A1.1": None, "A2.1": None}, "ho-tich", PERIOD, None, None, 0))
    add_many(specs)
    volumes("00157", "2026-H1", {"ho-tich": 400, "dat-dai": 250, "chung-thuc": 90})
    volumes("00157", "2026-H2", {"ho-tich": 520, "dat-dai": 180, "chung-thuc": 75, "khac": 30})
    volumes("00178", "2026-H2", {"ho-tich": 210, "dat-dai": 0})   # dat-dai 0: no volume
    # 00178 in 2026-H1 and 00193 always: no volumes at all.


def _reference(periods):
    """Row-level weights by the documented rule, computed here from fetched rows."""
    responses = db.session.execute(
        select(Response.id, Response.unit_id, Response.period, Response.service_field)
        .where(Response.period.in_(periods)).order_by(Response.id)).all()
    vol = {(u, p, f): d for u, p, f, d in db.session.execute(
        select(ServiceVolume.unit_id, ServiceVolume.period, ServiceVolume.field,
               ServiceVolume.dossiers)) if d > 0}
    unit_total = Tally()
    for (u, p, _), d in vol.items():
        unit_total[(u, p)] += d
    key = [(u, p, f if (u, p, f) in vol else "*") for _, u, p, f in responses]
    n_h, n_u = Tally(key), Tally((u, p) for _, u, p, _ in responses)
    weights = []
    for u, p, f in key:
        if f != "*":
            weights.append(float(service_weights([n_h[(u, p, f)]], [vol[(u, p, f)]])[0]))
        elif unit_total[(u, p)]:
            weights.append(unit_total[(u, p)] / n_u[(u, p)])
        else:
            weights.append(1.0)
    index = {rid: i for i, (rid, *_rest) in enumerate(responses)}
    codes = sorted(A_ITEMS)
    matrix = np.full((len(responses), len(codes) + 1), np.nan)
    for rid, code, value in db.session.execute(
            select(Answer.response_id, Question.code, Answer.value_int)
            .join(Question, Question.id == Answer.question_id)
            .where(Question.type == "likert5")):
        if rid in index:
            col = len(codes) if code == "OVERALL" else codes.index(code)
            matrix[index[rid], col] = 0 if value is None else value   # N/A -> 0, invalid
    units = [u for _, u, _, _ in responses]
    period = [p for _, _, p, _ in responses]
    strata = [stratum_label(*k) for k in key]
    cells = index_cells_from_rows(units, period, strata, weights, matrix[:, :-1], codes,
                                  [c.split(".")[0] for c in codes])
    overall_item = index_cells_from_rows(units, period, strata, weights, matrix[:, -1:],
                                         ["OVERALL"], ["OVERALL"])
    keep = np.isin(overall_item["stat"], ["rate", "score"])
    merged = {k: np.concatenate([cells[k], overall_item[k][keep]]) for k in cells}
    frame = {"stratum": np.array(sorted(set(strata))),
             "n_psu": np.array([Tally(strata)[s] for s in sorted(set(strata))])}
    return merged, frame, weights, strata


def _by_key(cells) -> dict[tuple, np.ndarray]:
    out = {}
    for i in range(len(cells["n"])):
        k = tuple(str(cells[c][i]) for c in ("unit", "period", "stat", "measure", "stratum"))
        assert k not in out
        out[k] = np.array([float(cells[c][i]) for c in ("n", "sum_w", "sum_wy", "sum_wy2",
                                                         "sum_w2", "sum_w2y", "sum_w2y2")])
    return out


def test_sql_cells_equal_the_row_level_reference(app):
    periods = ["2026-H1", "2026-H2"]
    with app.app_context():
        _random_data()
        inst = instrument_of()
        sql = _by_key(index_cells(inst, periods, None))
        ref_cells, frame, weights, strata = _reference(periods)
        ref = _by_key(ref_cells)
        assert set(sql) == set(ref)
        assert {k[2] for k in ref} == {"rate", "score", "component", "overall"}
        for k in ref:
            np.testing.assert_allclose(sql[k], ref[k], rtol=1e-10, err_msg=str(k))
        # The frame: every stratum with its response count and weight.
        got = {s["stratum"]: (s["n_h"], s["w"]) for s in strata_rows(inst, periods, None)}
        assert {s: n for s, (n, _) in got.items()} == dict(zip(frame["stratum"], frame["n_psu"]))
        for label, w in zip(strata, weights):
            assert math.isclose(got[label][1], w, rel_tol=1e-12)
        # And the index table built from them is the same.
        want = index_table(frame, ref_cells)
        rows = {(r.unit_id, r.est.stat, r.est.measure): r.est
                for r in index_rows(PERIOD, None)}
        checked = 0
        for w in want:
            if w.period != PERIOD:
                continue
            row = rows[(int(w.unit), w.stat, w.measure)]
            assert math.isclose(row.estimate, w.estimate, rel_tol=1e-9)
            assert math.isclose(row.se, w.se, rel_tol=1e-6, abs_tol=1e-12)
            assert row.rank_best == w.rank_best and row.method == w.method
            checked += 1
        assert checked == len(rows)


def test_only_visible_units_are_aggregated(app):
    with app.app_context():
        _random_data()
        mine = index_rows(PERIOD, {unit_id("00178")})
        everyone = index_rows(PERIOD, None)
        assert {r.unit_code for r in mine} == {"00178"}
        assert {r.unit_code for r in everyone} == {"00157", "00178", "00193"}
        # A unit's estimate does not depend on the other units in the query.
        assert overall_row(mine, "00178").estimate == pytest.approx(
            overall_row(everyone, "00178").estimate, rel=1e-12)
        assert index_rows(PERIOD, set()) == []


# --- hand-computed cases ----------------------------------------------------------------

def _three_responses() -> None:
    # r1: A1 = (5, 2) -> 1/2, A3 = (4) -> 1  => overall (0.5 + 1) / 2 = 0.75
    add("00157", {"A1.1": 5, "A1.2": 2, "A3.1": 4, "OVERALL": 4}, field="ho-tich")
    # r2: A1 = (3) -> 0, A2.1 "không áp dụng" => only A1 answered, overall 0
    add("00157", {"A1.1": 3, "A2.1": None, "OVERALL": 2}, field="ho-tich")
    # r3: A2 = (4, 5) -> 1 => overall 1
    add("00157", {"A2.1": 4, "A2.2": 5, "OVERALL": 5}, field="dat-dai")
    volumes("00157", PERIOD, {"ho-tich": 100, "dat-dai": 300})


def test_overall_index_by_hand(app):
    with app.app_context():
        _three_responses()
        rows = {(r.est.stat, r.est.measure): r.est for r in index_rows(PERIOD, None)}
    w1 = w2 = 100 / 2          # ho-tich: 100 dossiers, 2 responses
    w3 = 300 / 1               # dat-dai: 300 dossiers, 1 response
    overall = (w1 * 0.75 + w2 * 0.0 + w3 * 1.0) / (w1 + w2 + w3)      # = 0.84375
    assert rows[("overall", "overall")].estimate == pytest.approx(overall, rel=1e-12)
    assert rows[("overall", "overall")].n == 3
    assert rows[("overall", "overall")].reliable is False and rows[("overall", "overall")].rank == -1
    assert rows[("component", "A1")].estimate == pytest.approx((w1 * 0.5 + w2 * 0) / (w1 + w2))
    assert rows[("component", "A2")].estimate == pytest.approx(1.0)
    assert rows[("component", "A2")].n == 1          # r2's "không áp dụng" is not an answer
    assert rows[("rate", "A1.1")].estimate == pytest.approx(0.5)
    assert rows[("score", "A1.1")].estimate == pytest.approx((5 + 3) / 2)
    # The overall question is an item of its own, not part of the composite.
    assert rows[("rate", "OVERALL")].estimate == pytest.approx((w1 * 1 + w2 * 0 + w3 * 1) / 400)
    assert ("component", "OVERALL") not in rows


def test_component_weights_from_the_survey_scope(app):
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        survey.scope = {"component_weights": {"A1": 3}}
        db.session.commit()
        _three_responses()
        row = overall_row(index_rows(PERIOD, None), "00157")
    # r1: (3 * 0.5 + 1 * 1) / 4 = 0.625; r2 and r3 unchanged.
    assert row.estimate == pytest.approx((50 * 0.625 + 50 * 0 + 300 * 1) / 400, rel=1e-12)


def test_missing_volumes_fall_back_to_the_unit_average_then_to_weight_one(app):
    with app.app_context():
        add("00178", {"A3.1": 5}, field="ho-tich")
        add("00178", {"A3.1": 2}, field="ho-tich")
        add("00178", {"A3.1": 4}, field=None)           # no field: residual stratum
        add("00178", {"A3.1": 5}, field="dat-dai")      # field without a volume: residual
        volumes("00178", PERIOD, {"ho-tich": 100, "khac": 60})
        for value in (5, 4, 1):                          # 00193: no volumes at all
            add("00193", {"A3.1": value}, field="ho-tich" if value > 1 else None)
        rows = index_rows(PERIOD, None, stats=("overall",))
        strata = {(s["unit_id"], s["field_key"]): s["w"]
                  for s in strata_rows(instrument_of(), [PERIOD], None)}
        u178, u193 = unit_id("00178"), unit_id("00193")
    # ho-tich: 100 / 2 = 50; residual: the unit's 160 dossiers / 4 responses = 40.
    assert strata[(u178, "ho-tich")] == 50 and strata[(u178, "*")] == 40
    want = (50 * 1 + 50 * 0 + 40 * 1 + 40 * 1) / (50 + 50 + 40 + 40)
    row = overall_row(rows, "00178")
    assert row.estimate == pytest.approx(want, rel=1e-12) and row.estimate != 0.75
    [extra] = [r for r in rows if r.est is row]
    assert extra.weighted is True and extra.fallback_responses == 2 and extra.responses == 4
    plain = overall_row(rows, "00193")
    [plain_extra] = [r for r in rows if r.est is plain]
    assert plain_extra.weighted is False and plain.estimate == pytest.approx(2 / 3)
    # As the module docstring says: no split by field, one residual stratum with w = 1.
    assert {k: w for k, w in strata.items() if k[0] == u193} == {(u193, "*"): 1.0}
    assert "chưa gia quyền" in UNWEIGHTED_NOTE


def test_no_responses_gives_empty_results(app):
    with app.app_context():
        assert index_rows(PERIOD, None) == []
        summary = unit_summary(unit_id("00157"), PERIOD)
        assert summary.responses == 0 and summary.overall is None and summary.weakest() == []
        assert [c for c, _, _ in summary.components] == ["A1", "A2", "A3", "A4", "A5", "A6"]
        assert trend(unit_id("00157"), ["2026-H1", PERIOD]) == [("2026-H1", None), (PERIOD, None)]


def test_unit_summary_and_trend(app):
    with app.app_context():
        _three_responses()
        add("00157", {"A1.1": 5, "A3.1": 5}, field="ho-tich", period="2026-H1")
        summary = unit_summary(unit_id("00157"), PERIOD)
        points = trend(unit_id("00157"), ["2025-H2", "2026-H1", PERIOD])
    assert summary.responses == 3 and summary.weighted and summary.fallback_responses == 0
    assert summary.overall.estimate == pytest.approx(0.84375)
    assert summary.overall.unreliable
    assert summary.overall_item.code == "OVERALL"
    # A1.2 (0% satisfied) and A1.1 (50%) rest on 1-2 answers: unreliable, so not "weakest".
    assert summary.weakest(2) == []
    by_code = {i.code: i for i in summary.items}
    assert by_code["A1.2"].rate.estimate == 0 and by_code["A1.2"].rate.unreliable
    assert by_code["A1.2"].text.startswith("Khu vực chờ")
    assert [p for p, _ in points] == ["2025-H2", "2026-H1", PERIOD]
    assert points[0][1] is None and points[1][1].estimate == 1.0
    assert points[2][1].estimate == pytest.approx(0.84375)


# --- one weakest-items rule on screen and paper ------------------------------------------------

def test_dashboard_and_pdf_name_the_same_weakest_items_for_every_demo_unit(app):
    from analysis.report.model import weakest_items
    from survey.indices.report_data import unit_report_data
    from survey.services.demo_responses import seed_demo_responses

    with app.app_context():
        seed_demo_responses(n_per_unit=60, periods=("2026-H1",))
        units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
        named = 0
        for unit in units:
            screen = [i.code for i in unit_summary(unit.id, "2026-H1").weakest()]
            paper = [i.code for i in weakest_items(unit_report_data(unit, "2026-H1").items)]
            assert screen == paper, unit.code
            named += len(screen)
            summary = unit_summary(unit.id, "2026-H1")
            assert all(i.rate.reliable for i in summary.weakest())
        assert named >= 3, "no unit has reliable items: the comparison is blind"


# --- flask rollup after a change of component weights -------------------------------------------

def test_flask_rollup_rebuilds_after_weights_change_with_nothing_pending(app):
    from survey.indices import rollups
    from survey.models import RollupState

    runner = app.test_cli_runner()
    with app.app_context():
        _three_responses()
    assert runner.invoke(args=["rollup"]).exit_code == 0
    with app.app_context():
        assert rollups.pending() == 0
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        survey.scope = {"component_weights": {"A1": 3}}
        db.session.commit()
        survey_id = survey.id
    result = runner.invoke(args=["rollup"])                  # no new response since the last run
    assert result.exit_code == 0, result.output
    assert "Trọng số thành phần đã thay đổi" in result.output and "Đã cộng dồn 3 phiếu" in result.output
    with app.app_context():
        state = db.session.get(RollupState, survey_id)
        assert state is not None and state.component_weights["A1"] == 3.0
        assert rollups.pending() == 0
        want = (50 * 0.625 + 50 * 0 + 300 * 1) / 400     # as in test_rollups: A1 weighs 3
        assert overall_row(index_rows(PERIOD, None), "00157").estimate == pytest.approx(want)
    assert "Không có phiếu mới" in runner.invoke(args=["rollup"]).output  # and then it is current

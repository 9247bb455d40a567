"""Rollup tables: index tables are the same whether responses are folded, half folded or not."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.indices import rollups
from survey.indices.aggregates import IndexRow, index_cells, index_rows, strata_rows
from survey.indices.stratum_sums import instrument_of
from survey.models import Answer, Response, RollupCell, RollupState, RollupStratum, Survey
from tests.indices.test_aggregates import PERIOD, _by_key, _random_data, _reference, _three_responses, add, overall_row

PERIODS = ["2026-H1", "2026-H2"]


def _rows() -> dict[tuple, IndexRow]:
    return {(r.unit_id, r.est.period, r.est.stat, r.est.measure): r
            for p in PERIODS for r in index_rows(p, None)}


def _assert_same(a: dict[tuple, IndexRow], b: dict[tuple, IndexRow]) -> None:
    assert set(a) == set(b)
    for k in a:
        for col in ("estimate", "se", "ci_low", "ci_high", "deff"):
            x, y = getattr(a[k].est, col), getattr(b[k].est, col)
            assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), \
                (k, col, x, y)
        for col in ("n", "df", "method", "rank", "rank_best", "rank_worst"):
            assert getattr(a[k].est, col) == getattr(b[k].est, col), (k, col)
        for col in ("responses", "fallback_responses", "weighted"):
            assert getattr(a[k], col) == getattr(b[k], col), (k, col)


def _assert_equals_reference() -> None:
    sql = _by_key(index_cells(instrument_of(), PERIODS, None))
    ref_cells, frame, _weights, _strata = _reference(PERIODS)
    ref = _by_key(ref_cells)
    assert set(sql) == set(ref)
    for k in ref:
        np.testing.assert_allclose(sql[k], ref[k], rtol=1e-10, err_msg=str(k))
    got = {s["stratum"]: s["n_h"] for s in strata_rows(instrument_of(), PERIODS, None)}
    assert got == dict(zip(frame["stratum"], frame["n_psu"]))


def test_folded_in_chunks_equals_the_row_level_reference_and_the_live_table(app):
    with app.app_context():
        _random_data()
        live = _rows()
        total = db.session.scalar(select(func.count()).select_from(Response))
        seen = []
        assert rollups.refresh(chunk=97, progress=seen.append) == total
        assert seen == sorted(seen) and seen[-1] == total and len(seen) == math.ceil(total / 97)
        assert rollups.pending() == 0
        # Every response counted once in the rollup strata.
        assert db.session.scalar(select(func.sum(RollupStratum.responses))) == total
        assert db.session.scalar(select(func.count()).select_from(RollupCell)) > 0
        _assert_same(_rows(), live)
        _assert_equals_reference()
        # Nothing left to fold: a second refresh changes nothing.
        assert rollups.refresh() == 0
        _assert_same(_rows(), live)


def test_rollup_plus_new_responses_is_exact(app):
    with app.app_context():
        _random_data()
        rollups.refresh(chunk=40)
        # New responses, in strata already folded and in a new one.
        add("00157", {"A1.1": 1, "A1.2": 2, "A3.1": 5, "OVERALL": 1}, field="ho-tich")
        add("00193", {"A2.1": 5, "A6.2": None}, field="khac")
        add("00178", {"A4.1": 4}, field=None, period="2026-H1")
        assert rollups.pending() == 3
        mixed = _rows()
        _assert_equals_reference()
        rollups.refresh()
        assert rollups.pending() == 0
        _assert_same(_rows(), mixed)
        _assert_equals_reference()


def test_changed_component_weights_bypass_then_rebuild_the_rollup(app):
    with app.app_context():
        _three_responses()
        rollups.refresh()
        equal = overall_row(index_rows(PERIOD, None), "00157").estimate
        assert equal == pytest.approx(0.84375)
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        survey.scope = {"component_weights": {"A1": 3}}
        db.session.commit()
        # The folded overall sums used equal weights; they must not be read now.
        want = (50 * 0.625 + 50 * 0 + 300 * 1) / 400
        assert overall_row(index_rows(PERIOD, None), "00157").estimate == pytest.approx(want)
        assert rollups.refresh() == 3                  # rebuilt with the new weights
        state = db.session.get(RollupState, survey.id)
        assert state.component_weights["A1"] == 3.0
        assert overall_row(index_rows(PERIOD, None), "00157").estimate == pytest.approx(want)


def test_reset_after_deleting_responses(app):
    with app.app_context():
        _random_data()
        rollups.refresh()
        gone = db.session.scalars(select(Response.id).where(Response.period == "2026-H1")).all()
        db.session.execute(delete(Answer).where(Answer.response_id.in_(gone)))
        db.session.execute(delete(Response).where(Response.id.in_(gone)))
        db.session.commit()
        # Stale until reset: the folded sums still hold the deleted responses.
        assert db.session.scalar(select(func.sum(RollupStratum.responses))) > \
            db.session.scalar(select(func.count()).select_from(Response))
        rollups.reset()
        assert db.session.scalar(select(func.count()).select_from(RollupStratum)) == 0
        assert rollups.pending() == db.session.scalar(select(func.count()).select_from(Response))
        rollups.refresh()
        _assert_equals_reference()


def test_demo_seeding_leaves_a_complete_rollup(app):
    from survey.services.demo_responses import seed_demo_responses

    with app.app_context():
        first = seed_demo_responses(n_per_unit=12, periods=["2026-H2"], seed=1)
        second = seed_demo_responses(n_per_unit=7, periods=["2026-H2"], seed=2)
        stored = db.session.scalar(select(func.count()).select_from(Response))
        assert first["responses"] != second["responses"] == stored
        assert rollups.pending() == 0
        assert db.session.scalar(select(func.sum(RollupStratum.responses))) == stored


def test_flask_rollup_command(app):
    with app.app_context():
        _random_data()
        total = rollups.pending()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rollup", "--chunk", "50"])
    assert result.exit_code == 0, result.output
    assert f"Đã cộng dồn {total:,} phiếu".replace(",", ".") in result.output
    again = runner.invoke(args=["rollup"])
    assert "Không có phiếu mới" in again.output
    rebuilt = runner.invoke(args=["rollup", "--rebuild"])
    assert f"Đã cộng dồn {total:,} phiếu".replace(",", ".") in rebuilt.output
    with app.app_context():
        assert rollups.pending() == 0

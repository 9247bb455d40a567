"""SIPAS indices against R (scores computed independently in make_reference.R)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_fixtures import load_csv, reference_cases

from analysis import DesignError, Estimate
from analysis.indices import _ranks, index_cells_from_rows, index_table, respondent_scores, service_weights

ITEMS = ["A1.1", "A1.2", "A2.1", "A2.2", "A2.3", "A3.1"]
COMP = ["A1", "A1", "A2", "A2", "A2", "A3"]
MEASURES = {"rate_A2.1": ("rate", "A2.1"), "score_A2.1": ("score", "A2.1"),
            "score_A2": ("component", "A2"), "overall": ("overall", "overall")}


@pytest.fixture(scope="module")
def sipas():
    d = load_csv("sipas")
    answers = np.column_stack([d[i] for i in ITEMS])
    strata, counts = np.unique(d["stratum"], return_counts=True)
    frame = {"stratum": strata, "n_psu": counts}
    w = service_weights(counts, [d["dossiers"][d["stratum"] == s][0] for s in strata])
    weights = w[np.searchsorted(strata, d["stratum"])]
    cells = index_cells_from_rows(d["unit"], d["period"], d["stratum"], weights, answers,
                                  ITEMS, COMP)
    return d, answers, weights, index_table(frame, cells)


def test_weights_are_dossiers_per_response(sipas):
    d, _, weights, _ = sipas
    assert np.allclose(weights, d["w"], rtol=1e-12)


def test_respondent_scores_match_r(sipas):
    d, answers, _, _ = sipas
    comps, scores, overall = respondent_scores(answers, COMP)
    assert comps == ["A1", "A2", "A3"]
    for j, c in enumerate(comps):
        np.testing.assert_allclose(scores[:, j], d[f"score_{c}"], rtol=1e-12)
    np.testing.assert_allclose(overall, d["overall"], rtol=1e-12)


@pytest.mark.parametrize("case", [c for c in reference_cases() if c["stat"] == "sipas"],
                         ids=lambda c: c["id"])
def test_index_table_matches_r(sipas, case):
    table = sipas[3]
    stat, measure = MEASURES[case["measure"]]
    [row] = [e for e in table if (e.unit, e.period, e.stat, e.measure)
             == (case["unit"], case["period"], stat, measure)]
    assert isinstance(row, Estimate)
    want = case["expected"]
    for key in ("estimate", "se", "ci_low", "ci_high", "deff"):
        assert math.isclose(getattr(row, key), want[key], rel_tol=1e-6), key
    assert row.n == want["n"] and row.df == want["df"]
    assert type(row.n) is int and type(row.df) is int and type(row.estimate) is float
    assert row.reliable == (want["n"] >= 30 and
                            (want["ci_high"] - want["ci_low"]) / 2 <= (
                                0.4 if stat == "score" else 0.1))
    # The interval it got: t for scores, components and overall; logit (or its fallback) for rates.
    assert row.method == ("mean" if stat != "rate" else "logit")


def test_unreliable_rows_are_never_ranked(sipas):
    t = sipas[3]
    assert all(e.rank == -1 for e in t if e.unreliable)
    assert all(e.rank >= 1 for e in t if e.reliable)
    assert not any(e.reliable for e in t if e.n < 30)
    assert all(isinstance(e, Estimate) for e in t)


def test_component_weights_and_na():
    # Two components; response 0 skips all of B, response 1 marks A "không áp dụng" (0).
    answers = [[5, 2, np.nan], [0, 0, 4], [4, 4, 1]]
    comps, scores, overall = respondent_scores(answers, ["A", "A", "B"], {"A": 3, "B": 1})
    np.testing.assert_allclose(scores, [[0.5, np.nan], [np.nan, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(overall, [0.5, 1.0, 0.75])


def test_rank_intervals_mark_overlaps():
    t = {"period": np.array(["p"] * 4), "stat": np.array(["overall"] * 4),
         "measure": np.array(["overall"] * 4),
         "estimate": np.array([0.90, 0.85, 0.60, 0.70]),
         "ci_low": np.array([0.86, 0.80, 0.55, 0.66]),
         "ci_high": np.array([0.94, 0.88, 0.65, 0.74]),
         "reliable": np.array([True, True, True, False])}
    r = _ranks(t)
    assert r["rank"].tolist() == [1, 2, 3, -1]
    assert r["rank_best"].tolist() == [1, 1, 3, -1]   # units 0 and 1 overlap: tied
    assert r["rank_worst"].tolist() == [2, 2, 3, -1]


def test_service_weights_refuse_missing_volume():
    with pytest.raises(DesignError):
        service_weights([3, 4], [10, 0])


def test_equal_estimates_share_a_rank_whatever_their_summation_order():
    # Units U1 and U2 have the same 40 responses, summed in opposite orders: the same score
    # mathematically, different in the last bit. U3 answers one point lower.
    rng = np.random.default_rng(0)
    n = 40
    w, a = rng.uniform(0.5, 3, n), rng.integers(3, 6, (n, 1)).astype(float)
    back = np.arange(n)[::-1]
    units = ["U1"] * n + ["U2"] * n + ["U3"] * n
    cells = index_cells_from_rows(units, ["P"] * (3 * n), units, np.r_[w, w[back], w],
                                  np.r_[a, a[back], a - 1], ["A1.1"], ["A1"])
    frame = {"stratum": np.array(["U1", "U2", "U3"]), "n_psu": np.array([n, n, n])}
    t = [e for e in index_table(frame, cells) if e.stat == "score"]
    est = {e.unit: e.estimate for e in t}
    assert est["U1"] != est["U2"] and math.isclose(est["U1"], est["U2"], rel_tol=1e-14)
    assert {e.unit: e.rank for e in t} == {"U1": 1, "U2": 1, "U3": 3}


def test_competition_ranks_and_tolerance():
    from analysis.ties import competition_ranks, same

    assert competition_ranks([0.9, 0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1, 0.5]).tolist() == [1, 2, 2, 4]
    assert competition_ranks([0.9, 0.9, 0.9]).tolist() == [1, 1, 1]
    assert competition_ranks([]).tolist() == []
    assert same(0.6, 0.1 + 0.2 + 0.3) and not same(0.6, 0.6 + 1e-6)


def test_constant_domain_gets_se_zero_in_index_rows():
    # U1: 40 responses over two strata with uneven weights, every A1.1 answer 5 and every A1.2
    # answer 3, so each of its rates (1 and 0), scores (5 and 3), component and overall (0.5)
    # is constant: SE exactly 0 through the public rows, not the ~1e-8 raw-moment rounding
    # noise these weights give without the exact branch (analysis.linearization.CONSTANT_TOL).
    # U2 varies, as a control that SEs are computed at all.
    rng = np.random.default_rng(3)
    n = 40
    units = ["U1"] * n + ["U2"] * n
    strata = [f"{u}-{i % 2}" for i, u in enumerate(units)]
    w = rng.uniform(0.3, 7.0, 2 * n)
    answers = np.r_[np.full((n, 2), 5.0), rng.integers(1, 6, (n, 2)).astype(float)]
    answers[:n, 1] = 3.0
    cells = index_cells_from_rows(units, ["P"] * (2 * n), strata, w, answers, ["A1.1", "A1.2"],
                                  ["A1", "A1"])
    labels, counts = np.unique(strata, return_counts=True)
    rows = index_table({"stratum": labels, "n_psu": counts}, cells)
    u1 = {(e.stat, e.measure): e for e in rows if e.unit == "U1"}
    want = {("rate", "A1.1"): 1.0, ("rate", "A1.2"): 0.0, ("score", "A1.1"): 5.0,
            ("score", "A1.2"): 3.0, ("component", "A1"): 0.5, ("overall", "overall"): 0.5}
    assert u1.keys() == want.keys()
    for key, e in u1.items():
        assert isinstance(e, Estimate) and e.se == 0.0, (key, e.se)
        assert e.estimate == pytest.approx(want[key], rel=1e-12, abs=1e-15)
    # A share of 0 or 1 has no logit interval: Korn-Graubard on n, and the row says so.
    assert u1[("rate", "A1.1")].method == u1[("rate", "A1.2")].method == "beta"
    assert u1[("rate", "A1.1")].ci_high == 1.0 and 0.9 < u1[("rate", "A1.1")].ci_low < 1.0
    assert u1[("rate", "A1.2")].ci_low == 0.0 and 0.0 < u1[("rate", "A1.2")].ci_high < 0.1
    assert u1[("score", "A1.1")].ci_low == u1[("score", "A1.1")].ci_high
    assert all(e.se > 0 for e in rows if e.unit == "U2")


def test_constant_domain_test_sees_rounding_noise_without_the_exact_branch(monkeypatch):
    import analysis.linearization

    monkeypatch.setattr(analysis.linearization, "CONSTANT_TOL", -1.0)
    with pytest.raises(AssertionError):
        test_constant_domain_gets_se_zero_in_index_rows()


def test_estimates_built_in_bulk_equal_the_constructor():
    from analysis.estimate import Estimate, estimates_from_columns

    rows = [dict(estimate=0.5, se=0.1, ci_low=0.3, ci_high=0.7, n=40, n_eff=35.0, deff=1.1, df=39,
                 level=0.95, method="logit", reliable=True, rank=1, rank_best=1, rank_worst=2,
                 unit=7, period="2026-H2", stat="rate", measure="A1.1"),
            dict(estimate=3.9, se=0.2, ci_low=3.5, ci_high=4.3, n=12, n_eff=float("nan"),
                 deff=float("nan"), df=11, level=0.9, method="mean", reliable=False, rank=-1,
                 rank_best=-1, rank_worst=-1, unit=None, period=None, stat=None, measure=None)]
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    built = estimates_from_columns(columns)
    assert [repr(b) for b in built] == [repr(Estimate(**r)) for r in rows]
    assert built[0] == Estimate(**rows[0]) and hash(built[0]) == hash(Estimate(**rows[0]))
    import dataclasses

    import pytest
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].estimate = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        estimates_from_columns({k: v for k, v in columns.items() if k != "rank"})

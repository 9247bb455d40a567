"""aggregates.weigh: per-stratum sums to weighted cells in arrays, against a plain-Python
reference of the weighting rules (aggregates' docstring), and the one-pass grouping of
analysis.sums/linearization against the sorting path on the same cells in another order."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from analysis.indices import index_columns
from survey.indices.aggregates import RESIDUAL, SUMS, stratum_label, weigh
from survey.indices.stratum_sums import StratumSums
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL

MEASURES = [(KIND_ITEM, "A1.2"), (KIND_ITEM, "A1.1"), (KIND_COMPONENT, "A1"),
            (KIND_COMPONENT, "B2"), (KIND_OVERALL, "overall"), (KIND_ITEM, "B2.1")]
STAT_OF = {KIND_ITEM: ("rate", "score"), KIND_COMPONENT: ("component",),
           KIND_OVERALL: ("overall",)}


def _sums(seed: int) -> StratumSums:
    """Random strata (units in no order, two periods, fields with and without volumes, no
    field), and cells, some (stratum, measure) twice (the rollup's and the tail's)."""
    rng = np.random.default_rng(seed)
    units = [int(u) for u in rng.permutation(np.arange(30, 90, 3))[:12]]
    strata = [(u, p, f) for u in units for p in ("2026-H1", "2025-H2")
              for f in ("", "dat_dai", "ho_tich", "xay_dung") if rng.random() < 0.7]
    responses = [int(r) for r in rng.integers(1, 60, len(strata))]
    volumes: dict[tuple[int, str, str], float] = {}
    for u in units[:-2]:                           # the last two units have no volumes at all
        for p in ("2026-H1", "2025-H2"):
            for f in ("dat_dai", "ho_tich", "tu_phap"):    # tu_phap: a volume, no responses
                if rng.random() < 0.6:
                    volumes[(u, p, f)] = float(rng.integers(20, 900))
    cs = np.repeat(np.arange(len(strata)), len(MEASURES))
    cm = np.tile(np.arange(len(MEASURES)), len(strata))
    keep = rng.random(len(cs)) < 0.8
    cs, cm = cs[keep], cm[keep]
    again = rng.random(len(cs)) < 0.2                  # a tail cell of the same pair
    cs, cm = np.concatenate([cs, cs[again]]), np.concatenate([cm, cm[again]])
    order = rng.permutation(len(cs))
    cs, cm = cs[order], cm[order]
    n = rng.integers(1, 40, len(cs))
    kind = np.array([k for k, _ in MEASURES])[cm]
    y = np.where(kind == KIND_ITEM, rng.integers(1, 6, len(cs)), rng.random(len(cs)))
    sat = np.minimum(n, rng.integers(0, 40, len(cs)))
    return StratumSums(strata, responses, list(MEASURES), cs, cm, n, sat, n * y, n * y * y * 1.3,
                       volumes=volumes)


def _reference(sums: StratumSums) -> tuple[dict, dict]:
    """Strata by the rules, cells keyed by (stratum label, stat, measure): plain Python."""
    unit_d: dict[tuple[int, str], float] = defaultdict(float)
    for (u, p, _f), d in sums.volumes.items():
        unit_d[(u, p)] += d
    n_h: dict[tuple[int, str, str], int] = defaultdict(int)
    for (u, p, f), n in zip(sums.strata, sums.responses):
        n_h[(u, p, f if (u, p, f) in sums.volumes else RESIDUAL)] += n
    unit_n: dict[tuple[int, str], int] = defaultdict(int)
    for (u, p, _f), n in n_h.items():
        unit_n[(u, p)] += n
    strata = {}
    for (u, p, f), n in n_h.items():
        d_h, d_u = sums.volumes.get((u, p, f)), unit_d.get((u, p), 0.0)
        w = d_h / n if d_h is not None else (d_u / unit_n[(u, p)] if d_u else 1.0)
        strata[stratum_label(u, p, f)] = (n, w, bool(d_u), d_h is None)
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0] * 7)
    for h, m, n, sat, s1, s2 in zip(sums.cell_stratum, sums.cell_measure, sums.n, sums.sat,
                                    sums.s1, sums.s2):
        u, p, f = sums.strata[h]
        label = stratum_label(u, p, f if (u, p, f) in sums.volumes else RESIDUAL)
        w = strata[label][1]
        kind, code = sums.measures[m]
        for stat in STAT_OF[kind]:
            y1, y2 = (sat, sat) if stat == "rate" else (s1, s2)
            cell = cells[(label, stat, code)]
            for k, v in enumerate((n, w * n, w * y1, w * y2, w * w * n, w * w * y1, w * w * y2)):
                cell[k] += v
    return strata, cells


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weigh_equals_the_rules_written_out(seed):
    sums = _sums(seed)
    want_strata, want_cells = _reference(sums)
    data = weigh(sums)
    got_strata = {s["stratum"]: (s["n_h"], s["w"], s["weighted"], s["fallback"])
                  for s in data.strata}
    assert got_strata.keys() == want_strata.keys()
    for label, (n, w, wt, fb) in want_strata.items():
        assert got_strata[label][0] == n and got_strata[label][2:] == (wt, fb)
        assert got_strata[label][1] == pytest.approx(w, rel=1e-12)
    labels = [s["stratum"] for s in data.strata]
    got = {(labels[h], st, m): [data.cells[k][i] for k in SUMS] for i, (h, st, m) in
           enumerate(zip(data.cells["stratum"], data.cells["stat"], data.cells["measure"]))}
    assert got.keys() == want_cells.keys()
    for key, values in want_cells.items():
        assert got[key] == pytest.approx(values, rel=1e-12), key
    # Each cell's unit and period are its stratum's.
    for h, u, p in zip(data.cells["stratum"], data.cells["unit"], data.cells["period"]):
        assert (data.strata[h]["unit_id"], data.strata[h]["period"]) == (u, p)
    flags = data.flags()
    for (u, p), (responses, weighted, fallback) in flags.items():
        mine = [s for s in data.strata if (s["unit_id"], s["period"]) == (u, p)]
        assert responses == sum(s["n_h"] for s in mine)
        assert fallback == sum(s["n_h"] for s in mine if s["fallback"])
        assert weighted == mine[0]["weighted"]


@pytest.mark.parametrize("seed", [4, 5])
def test_cells_in_domain_order_give_the_sorted_paths_estimates(seed):
    """The cells come grouped by domain and stratum (analysis then groups them in one pass);
    the same cells in a random order take np.unique's path: the same index table."""
    data = weigh(_sums(seed), labels=False)
    cells, keys = data.cells, data.keys
    sizes = [len(keys[k][0]) for k in ("unit", "period", "stat", "measure")]
    domain = np.zeros(len(cells["n"]), dtype=np.int64)
    for k, size in zip(("unit", "period", "stat", "measure"), sizes):
        domain = domain * size + cells[k]
    pair = domain * len(data) + cells["stratum"]
    assert (np.diff(domain) >= 0).all() and (np.diff(pair) > 0).all()
    fast = index_columns(data.frame(), cells, keys=keys)
    shuffled = np.random.default_rng(seed).permutation(len(cells["n"]))
    labelled = {k: (keys[k][0][v[shuffled]] if k in keys else v[shuffled])
                for k, v in cells.items()}
    frame = data.frame()
    slow = index_columns({"stratum": frame["stratum"][::-1].copy(),
                          "n_psu": frame["n_psu"][::-1].copy()}, labelled)
    assert len(fast["estimate"]) == len(slow["estimate"]) > 100
    for k in ("estimate", "se", "ci_low", "ci_high", "deff", "n_eff"):
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-12, atol=1e-15, err_msg=k)
    for k in ("n", "df", "rank", "rank_best", "rank_worst", "reliable", "method"):
        np.testing.assert_array_equal(fast[k], slow[k], err_msg=k)

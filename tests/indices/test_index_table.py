"""IndexRows (survey/indices/index_table.py): rows built when read equal the rows built at once.

The reference is analysis.indices.estimates_of over the same columns (the eager builder every
other consumer of index_columns uses), row for row, whatever order the rows are read in.
"""
from __future__ import annotations

import numpy as np
import pytest

from analysis.indices import estimates_of, index_columns
from survey.indices import index_table
from survey.indices.index_table import IndexRow, IndexRows


def _columns(units: int = 40, measures: int = 30):
    rng = np.random.default_rng(3)
    unit = np.repeat(np.arange(units), measures)
    measure = np.tile([f"M{j:02d}" for j in range(measures)], units)
    n = rng.integers(20, 80, len(unit))
    y = rng.random(len(unit)) * n
    w = 1.0 + unit % 3
    cells = {"unit": unit, "period": np.full(len(unit), "2026-H1"),
             "stat": np.full(len(unit), "overall"), "measure": measure, "stratum": unit,
             "n": n, "sum_w": w * n, "sum_wy": w * y, "sum_wy2": w * y,
             "sum_w2": w * w * n, "sum_w2y": w * w * y, "sum_w2y2": w * w * y}
    frame = {"stratum": np.arange(units), "n_psu": np.full(units, 100)}
    return index_columns(frame, cells)


def _same(got: list, want: list) -> bool:
    """Equal estimates, NaN (deff of these small domains) equal to NaN."""
    return [repr(e) for e in got] == [repr(e) for e in want]


def test_rows_read_in_any_order_equal_the_eager_rows(monkeypatch):
    monkeypatch.setattr(index_table, "BLOCK", 64)           # several blocks, a partial last one
    cols = _columns()
    order = np.random.default_rng(5).permutation(len(cols["estimate"]))
    units = {u: (f"U{u}", f"Xã {u}", "commune") for u in range(40)}
    flags = {(u, "2026-H1"): (100 + u, u % 2 == 0, u) for u in range(40)}
    rows = IndexRows(cols, order, units, flags)
    want = estimates_of(cols, order=order)
    assert len(rows) == len(want) == 1200
    assert _same([rows[-1].est, rows[700].est], [want[-1], want[700]])   # built out of order
    assert _same([r.est for r in rows[100:300:7]], want[100:300:7])
    got = list(rows)
    assert _same([r.est for r in got], want)
    assert all(type(r) is IndexRow for r in got)
    assert all((r.unit_code, r.responses, r.weighted, r.fallback_responses)
               == (f"U{r.unit_id}", 100 + r.unit_id, r.unit_id % 2 == 0, r.unit_id) for r in got)
    assert rows == got and rows != got[:-1] and rows[0] is got[0]    # built once
    np.testing.assert_array_equal(rows.column("estimate"), cols["estimate"][order])
    with pytest.raises(IndexError):
        rows[len(rows)]

"""When two estimates are the same number: one rule for ranks and for "the three weakest".

An estimate is a ratio of sums of floats, and the order of the additions (the SQL plan, the
strata a unit happens to have, NumPy's pairwise summation) changes its last bits: two units with
mathematically equal estimates can differ by ~1e-16 relative, and an exact comparison would then
rank one of them ahead of the other by chance. Estimates are compared with a tolerance instead:
1e-9 of the scale, far above that rounding noise (a few ulps, even after millions of additions)
and far below any difference a report can show (0.1 percentage point = 1e-3). Estimates live on
scales of order 1 (proportions, 1-5 scores, differences), so the scale is max(1, |a|, |b|).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar

import numpy as np

REL_TOL = 1e-9
T = TypeVar("T")


def same(a: float, b: float) -> bool:
    """True when `a` and `b` are the same estimate up to summation order."""
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def same_as_previous(values: np.ndarray) -> np.ndarray:
    """For sorted `values`: is each the same estimate as the one before it (first: False)."""
    v = np.asarray(values, dtype=float)
    out = np.zeros(len(v), dtype=bool)
    if len(v) > 1:
        scale = np.maximum(1.0, np.maximum(np.abs(v[1:]), np.abs(v[:-1])))
        out[1:] = np.abs(v[1:] - v[:-1]) <= REL_TOL * scale
    return out


def competition_ranks(ordered: Sequence[float] | np.ndarray) -> np.ndarray:
    """Ranks 1, 2, 2, 4 ("standard competition") of values already sorted best first."""
    tied = same_as_previous(np.asarray(ordered, dtype=float))
    position = np.arange(len(tied))
    # A run of equal values takes the rank of its first member.
    return np.maximum.accumulate(np.where(tied, 0, position)) + 1


def by_name_within_ties(ordered: list[T], value: Callable[[T], float], name: Callable[[T], Any]
                        ) -> list[T]:
    """`ordered` (sorted by value) with each run of equal values put in `name` order, so the
    listing of tied items does not depend on which of them happened to round higher."""
    out: list[T] = []
    run: list[T] = []
    for item in ordered:
        if run and not same(value(run[-1]), value(item)):
            out += sorted(run, key=name)
            run = []
        run.append(item)
    return out + sorted(run, key=name)

"""The one estimate type: every estimator, index table, difference and report uses it.

An :class:`Estimate` is a point estimate with its design-based uncertainty (se, t interval
or the interval named by ``method``, n, effective n, design effect, t degrees of freedom),
its reliability flag and, when it is a row of an index table, its keys (unit, period, stat,
measure) and its rank among the units of its (period, stat, measure).  A bare estimate
(``analysis.mean`` and friends) has keys None and rank -1.

Values are plain Python floats and ints; a quantity R reports as NA (deff of a domain with
N <= n, an interval on 0 degrees of freedom) is NaN, never None, so every consumer formats
"missing" one way (``analysis.report.format_vi`` prints NaN as "—").
"""
from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass, fields
from typing import Any, Mapping, Sequence

__all__ = ["Estimate", "METHODS", "MIN_N", "MAX_HALF_WIDTH", "estimates_from_columns", "is_reliable"]

# The interval an estimate got.  "mean": t on degf; "logit", "beta" (Korn-Graubard), "wilson":
# proportion intervals (analysis.intervals); "difference": t on a contrast within one design
# (covariance from shared PSUs, df of that design); "independent_difference": t on a - b for
# independent samples (df_a + df_b); "JK1", "JKn": jackknife variance with a t interval.
METHODS = ("mean", "logit", "beta", "wilson", "difference", "independent_difference",
           "JK1", "JKn")

# DESIGN.md section 5: n < 30 or a half-width over 10 points is "không đủ độ tin cậy".  The
# 10 points are on a 0-1 scale (proportions, component and overall indices); 1-5 scores use
# their own limit (analysis.indices.MAX_HALF_WIDTH).
MIN_N = 30
MAX_HALF_WIDTH = 0.10


def is_reliable(n: int, ci_low: float, ci_high: float,
                max_half_width: float = MAX_HALF_WIDTH) -> bool:
    """The reliability rule: at least MIN_N responses and a finite half-width within limit."""
    half = (ci_high - ci_low) / 2
    return n >= MIN_N and math.isfinite(half) and half <= max_half_width


# No slots: a frozen dataclass with slots takes about twice as long to build, and a province's
# index table is ~10^5 of these.
@dataclass(frozen=True)
class Estimate:
    """One estimate with its uncertainty.  ``df`` is the t degrees of freedom.

    ``reliable`` must be stated (keyword only): the estimator that made the estimate knows
    its scale.  ``rank`` is -1 when not ranked (a bare estimate, or an unreliable row);
    ``rank_best``..``rank_worst`` is the range of ranks the intervals allow.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    n_eff: float
    deff: float
    df: int
    level: float = 0.95
    method: str = "mean"
    _: KW_ONLY
    reliable: bool
    rank: int = -1
    rank_best: int = -1
    rank_worst: int = -1
    unit: int | str | None = None   # unit id in the app, any label in analysis tests
    period: str | None = None
    stat: str | None = None
    measure: str | None = None

    @property
    def unreliable(self) -> bool:
        return not self.reliable

    @property
    def tied(self) -> bool:
        """Ranked, and the intervals allow more than one rank (it overlaps another unit)."""
        return self.rank_best < self.rank_worst

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


_FIELDS = tuple(f.name for f in fields(Estimate))


def estimates_from_columns(columns: Mapping[str, Sequence[Any]]) -> list[Estimate]:
    """Estimates built in bulk from columns of plain Python values (``tolist()``), one per row.

    Every field of :class:`Estimate` must be a column.  A frozen dataclass's ``__init__`` sets
    each of its 17 fields through ``object.__setattr__``, ~5 µs a row; filling the instance's
    ``__dict__`` directly makes the same immutable objects ~4x faster, which matters for an
    index table of 10^5 rows.  Equal to ``Estimate(**row)`` (tests/analysis).
    """
    missing = set(_FIELDS) - set(columns)
    if missing:
        raise ValueError(f"columns missing: {sorted(missing)}")
    new = object.__new__
    out = []
    for values in zip(*(columns[name] for name in _FIELDS)):
        est = new(Estimate)
        est.__dict__.update(zip(_FIELDS, values))
        out.append(est)
    return out

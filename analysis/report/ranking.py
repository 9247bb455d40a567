"""Ranking units for the province report: reliable units only, ties by overlap.

Ranks follow the point estimates, but a rank alone overstates precision.
A tie group starts at a unit (its leader) and takes in the following units
whose 95% intervals overlap the leader's. Chaining on neighbours instead
would put the first and the last unit of a province in one group through a
string of small overlaps. Per unit, `rank_span` gives the ranks of all units
whose intervals overlap its own, which is what the report prints.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

from ..estimate import Estimate
from ..ties import by_name_within_ties, competition_ranks
from .model import RankedUnit

__all__ = ["rank_units", "rank_span"]


def _overlap(a: Estimate, b: Estimate) -> bool:
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


def _has_interval(v: Estimate) -> bool:
    return math.isfinite(v.estimate) and math.isfinite(v.ci_low) and math.isfinite(v.ci_high)


def rank_units(entries: Iterable[tuple[str, Estimate | None, int]]) -> list[RankedUnit]:
    """(unit name, estimate, responses) -> ranked units, best first.

    Unreliable or missing estimates come last, unranked (rank None), by name. Equal
    estimates (analysis.ties) share a rank and are listed by name.
    Tie groups number from 1 and are only set for groups of two or more.
    """
    good: list[tuple[str, Estimate, int]] = []
    rest: list[tuple[str, Estimate | None, int]] = []
    for name, v, n in entries:
        if v is not None and v.reliable and _has_interval(v):
            good.append((name, v, n))
        else:
            rest.append((name, v, n))
    good = by_name_within_ties(sorted(good, key=lambda r: (-r[1].estimate, r[0])),
                               lambda r: r[1].estimate, lambda r: r[0])
    groups: list[list[int]] = []
    for i, r in enumerate(good):
        if groups and _overlap(good[groups[-1][0]][1], r[1]):
            groups[-1].append(i)
        else:
            groups.append([i])
    group_of: dict[int, int] = {}
    label = 0
    for g in groups:
        if len(g) > 1:
            label += 1
            for i in g:
                group_of[i] = label
    # Equal estimates share a rank (1, 2, 2, 4), whatever order their sums were taken in.
    ranks = competition_ranks([r[1].estimate for r in good])
    ranked = [RankedUnit(name, v, n, rank=int(ranks[i]), tie_group=group_of.get(i))
              for i, (name, v, n) in enumerate(good)]
    ranked += [RankedUnit(name, v, n) for name, v, n in sorted(rest, key=lambda r: r[0])]
    return ranked


def rank_span(unit: RankedUnit, ranked: Sequence[RankedUnit]) -> tuple[int, int] | None:
    """Lowest and highest rank among ranked units whose interval overlaps `unit`'s."""
    v = unit.estimate
    if unit.rank is None or v is None or not _has_interval(v):
        return None
    ranks = [u.rank for u in ranked if u.rank is not None and u.estimate is not None
             and _has_interval(u.estimate) and _overlap(v, u.estimate)]
    return (min(ranks), max(ranks)) if ranks else (unit.rank, unit.rank)

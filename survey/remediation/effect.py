"""What a task changed, said honestly: the criterion before and after, and the difference's interval.

Values come from survey/indices/aggregates (the dashboard's numbers); the difference and its
interval from analysis.independent_difference (t on df_before + df_after: the two periods are
disjoint samples). "Đã cải thiện có ý nghĩa thống kê" only when that interval lies above 0.

The plan shows its frozen baseline (what the official saw when writing it). The effect compares
the two periods' estimates as they stand now, both computed the same way: the difference needs
each side's standard error and degrees of freedom, which the frozen baseline does not keep, and
comparing a frozen number with a live one would mix late responses into one side only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from analysis import Estimate, independent_difference
from survey.catalog.periods import following, period_of
from survey.indices.aggregates import index_rows
from survey.models.loop import RemediationTask

# criterion kind -> the index table's stat
STAT_OF_KIND = {"item": "rate", "component": "component", "overall": "overall"}


def criterion_key(kind: str, code: str) -> tuple[str, str]:
    """(stat, measure) of a criterion in aggregates' index rows."""
    return STAT_OF_KIND[kind], ("overall" if kind == "overall" else code)


def estimates(period: str, unit_ids: Iterable[int], keys: Iterable[tuple[str, str]]
              ) -> dict[tuple[int, str, str], Estimate]:
    """(unit, stat, measure) -> estimate, for several units at once (one index query)."""
    stats = {stat for stat, _ in keys}
    units = set(unit_ids)
    if not stats or not units:
        return {}
    return {(r.unit_id, r.stat, r.measure): r.est
            for r in index_rows(period, units, stats=tuple(stats))}


def criterion_estimate(unit_id: int, period: str, kind: str, code: str) -> Estimate | None:
    """The criterion's value for one unit and period (None: no answers, or a tracker criterion)."""
    if kind not in STAT_OF_KIND:
        return None
    stat, measure = criterion_key(kind, code)
    return estimates(period, {unit_id}, {(stat, measure)}).get((unit_id, stat, measure))


@dataclass(frozen=True)
class TaskEffect:
    before_period: str
    before: Estimate
    after_period: str
    after: Estimate
    change: Estimate          # after - before, analysis.independent_difference
    significant: bool         # the change's interval excludes 0

    @property
    def improved(self) -> bool:
        """Đã cải thiện có ý nghĩa thống kê: the whole interval is above 0."""
        return self.significant and self.change.ci_low > 0

    @property
    def declined(self) -> bool:
        return self.significant and self.change.ci_high < 0


def effect_periods(task: RemediationTask, now: datetime | None = None) -> tuple[str, str] | None:
    """(before, after) periods, or None when there is no "after" yet.

    before: the baseline period. after: the period following the one the task was completed in;
    for a task not done yet, the current period (an interim reading). An "after" later than the
    current period has no data yet, and one not after the baseline compares nothing.
    """
    if task.criterion_kind not in STAT_OF_KIND or not task.baseline_period:
        return None
    current = period_of(now or datetime.now(timezone.utc))
    if task.status == "done" and task.completed_at is not None:
        after = following(period_of(task.completed_at))
    else:
        after = current
    if after > current or after <= task.baseline_period:
        return None
    return task.baseline_period, after


def task_effect(task: RemediationTask) -> TaskEffect | None:
    """The criterion before (baseline period) and after, with the difference and its interval;
    None while it cannot be measured (see effect_periods; or a side has no answers)."""
    periods = effect_periods(task)
    if periods is None:
        return None
    before_period, after_period = periods
    before = criterion_estimate(task.unit_id, before_period, task.criterion_kind, task.criterion_code)
    after = criterion_estimate(task.unit_id, after_period, task.criterion_kind, task.criterion_code)
    if before is None or after is None or not (math.isfinite(before.se) and math.isfinite(after.se)):
        return None
    change = independent_difference(after, before)
    significant = change.ci_low > 0 or change.ci_high < 0
    return TaskEffect(before_period, before, after_period, after, change, significant)

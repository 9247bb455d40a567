"""The progress report's data from the database: survey results (survey/indices), remediation
tasks (survey/remediation), feedback cases (survey/feedback) and what the unit typed
(ProgressReport). Plain ProgressData out; no Flask, so the CLI and the pages share it.

Which tasks a period's report lists: every task of the unit (province: of every unit in scope)
whose deadline falls in the period or that was open at some time during it (created by its
last day and not completed before its first day): the rule of task_counts in
survey/remediation/queries.py; and the tasks completed in the period before, whose effect
("after" = the period following completion) is measured in this one. "Quá hạn" is judged
on `as_of`: today, or the period's last day for a period already over
(RemediationTask.overdue_on, the one rule).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Iterable

from flask_babel import gettext
from sqlalchemy import select

from analysis import Estimate
from survey.access import Scope
from survey.catalog.instrument import COMPONENTS, STANDING_CODE
from survey.catalog.periods import VIETNAM, in_vietnam, period_of, previous
from survey.extensions import db
from survey.feedback.metrics import case_metrics, metrics_by_unit
from survey.indices import aggregates, pooled
from survey.indices.report_data import period_change
from survey.models import Unit
from survey.models.loop import EvidenceFile, ProgressReport, RemediationTask, TrackerCriterion
from survey.progress.model import CaseSummary, Figure, ProgressData, TaskEffectView, TaskRow, UnitLine
from survey.remediation.effect import task_effect
from survey.remediation.queries import tasks_for


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a half-year ('2026-H2' -> 01/07/2026, 31/12/2026)."""
    year, half = int(period[:4]), period[-1]
    return (date(year, 1, 1), date(year, 6, 30)) if half == "1" else (date(year, 7, 1), date(year, 12, 31))


def as_of_day(period: str, today: date) -> date:
    return min(today, period_bounds(period)[1])


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


def province_unit() -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))


# ---------------------------------------------------------------- survey results

def _figure(code: str, current: Estimate | None, before: Estimate | None) -> Figure:
    name = gettext("Chỉ số hài lòng chung") if code == "overall" else aggregates.component_name(code)
    return Figure(code, name, current, before, period_change(current, before))


def unit_figures(unit_id: int, period: str) -> tuple[aggregates.UnitSummary, tuple[Figure, ...]]:
    now = aggregates.unit_summary(unit_id, period)
    before = aggregates.unit_summary(unit_id, previous(period))
    earlier = {code: ind for code, _name, ind in before.components}
    figures = [_figure("overall", now.overall, before.overall)]
    figures += [_figure(code, ind, earlier.get(code)) for code, _name, ind in now.components
                if code in COMPONENTS]
    return now, tuple(figures)


def province_figures(period: str) -> tuple[Figure, ...]:
    """Overall and components over every unit (pooled: strata are nested in units)."""
    now = pooled.pooled_rows(STANDING_CODE, [period], None)
    before = pooled.pooled_rows(STANDING_CODE, [previous(period)], None)
    keys = [("overall", "overall")] + [("component", code) for code in COMPONENTS]
    return tuple(_figure(code, now.get((stat, code)), before.get((stat, code))) for stat, code in keys)


# ---------------------------------------------------------------- tasks

def _in_period(task: RemediationTask, period: str) -> bool:
    """The rule of survey/remediation/queries.in_period (deadline in the period, or open at some
    time during it), plus tasks completed in the period before: their effect is measured in
    this one (survey/remediation/effect.py), which is what this period's report has to show."""
    start, end = period_bounds(period)
    created = in_vietnam(task.created_at).date()
    completed = in_vietnam(task.completed_at).date() if task.completed_at else None
    if start <= task.deadline <= end:
        return True
    if task.status == "done" and task.completed_at is not None and period_of(task.completed_at) == previous(period):
        return True
    return created <= end and (completed is None or completed >= start)


def criterion_words(task: RemediationTask, item_texts: dict[str, tuple[str, str | None]]) -> str:
    code = task.criterion_code
    if task.criterion_kind == "item":
        text = item_texts.get(code, (None,))[0]
        return gettext("Câu hỏi %(code)s", code=code) + (f". {text}" if text else "")
    if task.criterion_kind == "component":
        return gettext("Lĩnh vực %(code)s", code=code) + f". {aggregates.component_name(code)}"
    if task.criterion_kind == "overall":
        return gettext("Chỉ số hài lòng chung")
    criterion = db.session.get(TrackerCriterion, task.tracker_criterion_id) if task.tracker_criterion_id else None
    return (gettext("Tiêu chí %(code)s", code=criterion.code) + f". {criterion.content}" if criterion
            else gettext("Tiêu chí %(code)s", code=code))


def _effect(task: RemediationTask) -> TaskEffectView | None:
    effect = task_effect(task)
    if effect is None:
        return None
    return TaskEffectView(effect.before_period, effect.after_period, effect.change,
                          bool(effect.significant))


def task_rows(scope: Scope, period: str, as_of: date, unit_id: int | None = None) -> tuple[TaskRow, ...]:
    tasks = [t for t in tasks_for(scope, unit_id=unit_id) if _in_period(t, period)]
    ids = [t.id for t in tasks]
    evidence: dict[int, list[str]] = {}
    if ids:
        for task_id, name in db.session.execute(
                select(EvidenceFile.task_id, EvidenceFile.original_name)
                .where(EvidenceFile.task_id.in_(ids)).order_by(EvidenceFile.uploaded_at, EvidenceFile.id)):
            assert task_id is not None  # the where clause selected it
            evidence.setdefault(task_id, []).append(name)
    names = _unit_names({t.unit_id for t in tasks} | {t.lead_unit_id for t in tasks})
    texts = aggregates.question_texts(STANDING_CODE)
    rows = [TaskRow(unit_id=t.unit_id, unit_name=names.get(t.unit_id, ""), criterion=criterion_words(t, texts),
                    action=t.action, lead_unit=names.get(t.lead_unit_id, ""), owner=t.owner,
                    deadline=t.deadline, status=t.status, overdue=t.overdue_on(as_of),
                    completed_on=in_vietnam(t.completed_at).date() if t.completed_at else None,
                    evidence=tuple(evidence.get(t.id, ())), effect=_effect(t))
            for t in tasks]
    return tuple(sorted(rows, key=lambda r: (r.unit_name, r.deadline, r.action)))


def _unit_names(ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    return dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


# ---------------------------------------------------------------- cases, typed sections

def case_summary(scope: Scope, period: str, unit_id: int | None = None,
                 today: date | None = None) -> CaseSummary:
    m = case_metrics(scope, period, unit_id=unit_id, today=today)
    return CaseSummary(cases=m.cases, answered=m.answered, late_open=m.late_open,
                       on_time=m.on_time, followup=m.followup,
                       followup_satisfied=m.followup_satisfied)


def typed_sections(unit_id: int | None, period: str) -> ProgressReport | None:
    if unit_id is None:
        return None
    return db.session.scalar(select(ProgressReport).where(ProgressReport.unit_id == unit_id,
                                                          ProgressReport.period == period))


# ---------------------------------------------------------------- the two versions

def unit_progress(unit: Unit, period: str, scope: Scope = None, today: date | None = None) -> ProgressData:
    """One unit's report; `scope` is the reader's (the unit itself is checked by the caller)."""
    as_of = as_of_day(period, today or today_in_vietnam())
    summary, figures = unit_figures(unit.id, period)
    typed = typed_sections(unit.id, period)
    root = province_unit()
    return ProgressData(
        title_name=unit.name, unit_code=unit.code, province_name=root.name if root else "",
        period=period, previous_period=previous(period), as_of=as_of, responses=summary.responses,
        weighted=summary.weighted, figures=figures, tasks=task_rows(scope, period, as_of, unit.id),
        cases=case_summary(scope, period, unit.id, today),
        difficulties=typed.difficulties if typed else None, proposals=typed.proposals if typed else None,
        generated_at=datetime.now(VIETNAM))


def province_progress(period: str, scope: Scope = None, today: date | None = None) -> ProgressData:
    """Every unit aggregated, for Sở Nội vụ; the typed sections are the province unit's."""
    as_of = as_of_day(period, today or today_in_vietnam())
    rows = {r.unit_id: r for r in aggregates.index_rows(period, None, stats=("overall",))}
    before = {r.unit_id: r.est for r in aggregates.index_rows(previous(period), None, stats=("overall",))}
    tasks = task_rows(scope, period, as_of)
    case_counts = {unit_id: m.cases for unit_id, m in metrics_by_unit(scope, period, today).items()}
    root = province_unit()
    unit_ids = set(rows) | set(case_counts) | {t.unit_id for t in tasks}
    units = db.session.scalars(select(Unit).where(Unit.id.in_(sorted(unit_ids))).order_by(Unit.code)).all()
    lines = []
    for u in units:
        own = [t for t in tasks if t.unit_id == u.id]
        current = rows[u.id].est if u.id in rows else None
        earlier = before.get(u.id)
        lines.append(UnitLine(u.code, u.name, current, period_change(current, earlier),
                              sum(t.status == "done" for t in own),
                              sum(t.status != "done" and not t.overdue for t in own),
                              sum(t.overdue for t in own), int(case_counts.get(u.id, 0))))
    typed = typed_sections(root.id if root else None, period)
    return ProgressData(
        title_name=(gettext("%(name)s (tổng hợp các đơn vị)", name=root.name) if root
                    else gettext("Toàn tỉnh")), unit_code=None,
        province_name=root.name if root else "", period=period, previous_period=previous(period),
        as_of=as_of, responses=sum(r.responses for r in rows.values()),
        weighted=bool(rows) and all(r.weighted for r in rows.values()),
        figures=province_figures(period), tasks=tasks, cases=case_summary(scope, period, today=today),
        difficulties=typed.difficulties if typed else None, proposals=typed.proposals if typed else None,
        units=tuple(lines), generated_at=datetime.now(VIETNAM))


"""The SQL that sums answers per stratum and measure, shared by the rollup fold and the read.

See :mod:`survey.indices.rollups` for how the sums are folded and read back exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from sqlalchemy import Float, Integer, and_, any_, case, cast, func, literal, or_, select

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.memo import once, remember
from survey.models import (
    Answer,
    Question,
    Response,
    RollupLate,
    RollupState,
    Survey,
    SurveyVersion,
)
from survey.models.responses import COUNTED
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL

COUNT_MEASURE = 0             # the count row of a stratum (no rollup_measure has id 0)
OVERALL = "overall"
NO_FIELD = ""                 # service_field NULL, stored as '' so it can be part of a key
COUNTER_MARK = "@"            # 'A1@17': a measure summed per counter (sum_selects by_counter)
LOCK_KEY = 7_240_311          # pg_advisory_xact_lock: one refresh at a time
PG_WORK_MEM = "64MB"
FOLD_WORK_MEM = "256MB"       # a first fold of millions of responses sorts big groups
ANALYZE_FROM = 50_000         # tail responses from which a fold joins by hash, not index probes
MAX_ID = 2**63 - 1            # every response id is below it (see unfolded())


@dataclass(frozen=True)
class Instrument:
    survey_id: int
    components: tuple[str, ...]
    component_weights: dict[str, float]

    def measures(self) -> list[tuple[int, str]]:
        """The composite measures, in the order of the score columns."""
        return ([(KIND_COMPONENT, c) for c in self.components] + [(KIND_OVERALL, OVERALL)])


def questions_of(survey_id: int) -> list[tuple[str, str, str | None, str]]:
    """(code, wording, component, type) of every version's questions, oldest version first.

    One read per request serves the instrument (its components) and the item wordings.
    """
    return [(code, text, component, kind) for code, text, _en, component, kind in _questions(survey_id)]


def question_wordings(survey_id: int, lang: str) -> dict[str, str]:
    """Item code -> wording in `lang` (English where the question has it), newest version winning."""
    return {code: (text_en or text) if lang == "en" else text
            for code, text, text_en, _component, _kind in _questions(survey_id)}


def _questions(survey_id: int) -> list[tuple[str, str, str | None, str | None, str]]:
    # Both wordings in the one read, so a page in English costs no extra query.
    return once(("questions", survey_id), lambda: [
        (code, text, text_en, component, kind) for code, text, text_en, component, kind
        in db.session.execute(
            select(Question.code, Question.text_vi, Question.text_en, Question.component, Question.type)
            .join(SurveyVersion, SurveyVersion.id == Question.version_id)
            .where(SurveyVersion.survey_id == survey_id)
            .order_by(SurveyVersion.number, Question.id))])


def instrument_for(survey: Survey) -> Instrument:
    """The survey's composite components (from its questions) and their weights."""
    return _instrument(survey.id, survey.scope)


def _instrument(survey_id: int, scope: dict | None) -> Instrument:
    comps = {comp for _code, _text, comp, kind in questions_of(survey_id)
             if kind == "likert5" and comp is not None and comp != "OVERALL"}
    configured = (scope or {}).get("component_weights") or {}
    weights = {c: float(configured.get(c, 1.0)) for c in comps}
    return Instrument(survey_id, tuple(sorted(comps)), weights)


@dataclass(frozen=True)
class _SurveyRow:
    id: int
    scope: dict | None


def _survey_row(survey_code: str) -> _SurveyRow | None:
    """The survey's id and scope, with its rollup state read in the same statement."""
    def read() -> _SurveyRow | None:
        row = db.session.execute(
            select(Survey.id, Survey.scope, RollupState.survey_id, RollupState.component_weights)
            .outerjoin(RollupState, RollupState.survey_id == Survey.id)
            .where(Survey.code == survey_code)).first()
        if row is None:
            return None
        remember(("rollup_weights", row[0]), None if row[2] is None else row[3])
        return _SurveyRow(row[0], row[1])
    return once(("survey", survey_code), read)


def survey_id_of(survey_code: str = STANDING_CODE) -> int | None:
    """The survey's id (read once per request, with its instrument and rollup state)."""
    row = _survey_row(survey_code)
    return None if row is None else row.id


def instrument_of(survey_code: str = STANDING_CODE) -> Instrument | None:
    row = _survey_row(survey_code)
    return None if row is None else _instrument(row.id, row.scope)


def counted() -> Any:
    """The filter of every figure: quarantined and rejected responses count nowhere."""
    return Response.status == COUNTED


def _f(expr: Any) -> Any:
    # Double precision everywhere: SQLite divides integers as integers, PostgreSQL would
    # otherwise return NUMERIC (Decimal) for sums of integers.
    return cast(expr, Float)


def _field_expr() -> Any:
    return func.coalesce(Response.service_field, literal(NO_FIELD))


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def vacuum_cells(folded: int) -> None:
    """After a fold (PostgreSQL), VACUUM rollup_cell: the pages it touched are all-visible
    again, so a standing's read of one measure stays an index-only scan (ix_rollup_cell_measure;
    after updating a tenth of 8x10^5 cells it made 15,000 heap fetches, 35 -> 173 ms).  It visits
    only the pages not all-visible (0.1-0.9 s at 10^6 responses); a big fold's also ANALYZEs.
    Outside the fold's transaction: VACUUM cannot run in one."""
    if not folded or not is_postgres():
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM {'(ANALYZE) ' if folded >= ANALYZE_FROM else ''}rollup_cell")


def late_ids(survey_id: Any) -> Any:
    """SQL: the response id is in the survey's late set (rollup_late).  On PostgreSQL as
    ``id = ANY(ARRAY(subquery))``: an index condition, so OR-ed with the watermark's id range
    the planner reads both from the primary key (a BitmapOr); ``IN (subquery)`` under an OR
    becomes a filter on every response of the survey."""
    late = select(RollupLate.response_id).where(RollupLate.survey_id == survey_id)
    if is_postgres():
        return Response.id == any_(func.array(late.scalar_subquery()))
    return Response.id.in_(late)


def unfolded(survey_id: Any = Response.survey_id) -> Any:
    """SQL: the response is not in its survey's rollup (with counted(): the live tail).

    The rollup holds every counted response with id <= the survey's watermark
    (``rollup_state.folded_to``; no row: 0) except the late ones, so the tail is the ids above
    the watermark plus the late set: a range of the primary key, no per-response flag.  Read in
    the statement that reads the rollup, so both come from one snapshot.  The upper bound
    changes nothing but the planner's guess: an open range against a value it cannot see is
    estimated at a third of the table (every score row hashed), a closed one at 0.5 %.
    """
    mark = func.coalesce(select(RollupState.folded_to).where(RollupState.survey_id == survey_id)
                         .scalar_subquery(), 0)
    return or_(and_(Response.id > mark, Response.id <= MAX_ID), late_ids(survey_id))


# --- the GROUP BY over responses: one shape for folding and for the live tail ---------------
# Columns of every select: the stratum's key columns (unit_id, period, field, or the fold's
# stratum id), measure (a rollup_measure id; COUNT_MEASURE: the stratum's response count),
# counter (0 unless by_counter), n, sat, s1, s2.

def _stratum_keys(keys: Sequence[Any] | None) -> tuple[list[Any], list[Any]]:
    """Columns and GROUP BY expressions of the stratum: (unit, period, field) by default."""
    if keys is not None:
        return list(keys), list(keys)
    f = _field_expr()
    return [Response.unit_id.label("unit_id"), Response.period.label("period"),
            f.label("field")], [Response.unit_id, Response.period, f]


def count_select(where: Sequence[Any], keys: Sequence[Any] | None = None) -> Any:
    columns, group = _stratum_keys(keys)
    return (select(*columns, literal(COUNT_MEASURE, Integer).label("measure"),
                   literal(0, Integer).label("counter"), func.count().label("n"),
                   literal(0, Integer).label("sat"), _f(literal(0)).label("s1"),
                   _f(literal(0)).label("s2"))
            .where(*where).group_by(*group))


def _counter(by_counter: bool) -> tuple[Any, list[Any]]:
    if by_counter:
        return Response.counter_id.label("counter"), [Response.counter_id]
    return literal(0, Integer).label("counter"), []


def _per_response(inst: Instrument, where: Sequence[Any]) -> tuple[Any, list[Any], Any]:
    """Per response (rid): its component scores and the expression of its overall score.

    A response's component score is the share of its valid items in the component rated 4-5;
    its overall score the component-weighted mean over the components it answered.
    """
    scores = []
    for i, comp in enumerate(inst.components):
        inside = Question.component == comp
        satisfied = func.count().filter(and_(inside, Answer.value_int >= 4))
        answered = func.count().filter(inside)
        scores.append((_f(satisfied) / _f(func.nullif(answered, 0))).label(f"c{i}"))
    per = (select(Answer.response_id.label("rid"), *scores)
           .join(Question, Question.id == Answer.question_id)
           .join(Response, and_(Response.id == Answer.response_id, Response.period == Answer.period))
           .where(*where, Question.type == "likert5", Answer.value_int.between(1, 5),
                  Question.component.in_(inst.components))
           .group_by(Answer.response_id)).subquery("per_response")
    comp_cols = [per.c[f"c{i}"] for i in range(len(inst.components))]
    cw = [inst.component_weights[c] for c in inst.components]
    numerator = sum((func.coalesce(col * k, 0.0) for col, k in zip(comp_cols, cw)),
                    _f(literal(0)))
    denominator = sum((case((col.isnot(None), k), else_=0.0) for col, k in zip(comp_cols, cw)),
                      _f(literal(0)))
    return per, comp_cols, numerator / func.nullif(denominator, 0.0)


def overall_scores(inst: Instrument, where: Sequence[Any]) -> Any:
    """Subquery (rid, y): each response's overall score, for breakdowns the rollup has not."""
    per, _cols, overall = _per_response(inst, where)
    return select(per.c.rid.label("rid"), overall.label("y")).subquery("overall_score")


def equal_weights(inst: Instrument) -> bool:
    """Whether the stored overall score (the equal-weight mean) is the survey's."""
    return len(set(inst.component_weights.values())) <= 1


# --- reading: rollup + tail from one snapshot --------------------------------------------

@dataclass
class StratumSums:
    """Plain per-stratum sums: what aggregates.py weights and hands to analysis.indices.

    ``strata``: (unit_id, period, field) keys, ``field`` '' for no service field;
    ``responses[i]`` responses in stratum i.  ``measures``: (kind, code) pairs.  Cell j:
    stratum ``cell_stratum[j]``, measure ``cell_measure[j]``, sums ``n, sat, s1, s2``.
    A (stratum, measure) pair may appear more than once (rollup and tail): add them up.
    """

    strata: list[tuple[int, str, str]]
    responses: list[int]
    measures: list[tuple[int, str]]
    cell_stratum: np.ndarray
    cell_measure: np.ndarray
    n: np.ndarray
    sat: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    # Dossiers (> 0) per (unit_id, period, field) with a ServiceVolume row: the weights.
    volumes: dict[tuple[int, str, str], float] = field(default_factory=dict)


def state_matches(inst: Instrument) -> bool:
    """Whether the rollup was folded with the instrument's component weights (or never)."""
    def read() -> dict | None:
        state = db.session.get(RollupState, inst.survey_id)
        return None if state is None else state.component_weights
    folded = once(("rollup_weights", inst.survey_id), read)
    return folded is None or folded == inst.component_weights


def kinds_for(stats: Iterable[str]) -> set[int]:
    stats = set(stats)
    kinds: set[int] = set()
    if stats & {"rate", "score"}:
        kinds.add(KIND_ITEM)
    if "component" in stats:
        kinds.add(KIND_COMPONENT)
    if "overall" in stats:
        kinds.add(KIND_OVERALL)
    return kinds

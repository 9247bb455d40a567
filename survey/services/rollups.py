"""Per-stratum sums of answers: folded into rollup tables once, read back with the unfolded tail.

An index table needs, per stratum (survey x unit x period x raw service field) and measure,
only n, the count of satisfied answers, Σy and Σy² (services/aggregates.py turns those into
the weighted sums of analysis.sums).  Computing them from 10 million responses x ~20 answer
rows at every request costs minutes, and they are additive, so :func:`refresh` folds each
response in exactly once: it marks a set of unfolded responses with a fresh batch id
(``Response.rollup_batch``), adds their sums to ``rollup_stratum`` / ``rollup_cell`` with
INSERT ... ON CONFLICT DO UPDATE, and commits the marks and the sums together.

:func:`read` returns the rollup rows plus the same GROUP BY over responses whose batch is still
NULL, in one SQL statement, so a concurrent refresh can never make a response count twice or
not at all: the result is exact whether the rollup is current, stale or empty.  Run
``flask rollup`` from cron (every few minutes) to keep the tail short; nothing else depends
on it.

Overall scores are a component-weighted mean, not additive in the weights, so each survey's
rollup records the weights it was summed with (``rollup_state``); when the survey's weights
differ, :func:`read` ignores the rollup (live sums) and the next refresh rebuilds it.

Only counted responses (``Response.status == 'counted'``, :func:`counted`) are folded or summed
live; quarantined and rejected ones keep ``rollup_batch`` NULL.  :func:`unfold` takes responses
that are already folded back out (their exact sums subtracted) when an analyst quarantines them;
a released response is unfolded and counted, so the live tail sums it and the next refresh folds
it (docs/integrity.md).
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from sqlalchemy import (Float, Integer, String, and_, bindparam, case, cast, delete, func,
                        literal, literal_column, null, or_, select, text, true, union_all,
                        update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from survey.extensions import db
from survey.models import (Answer, Question, Response, RollupCell, RollupMeasure, RollupState,
                           RollupStratum, Survey, SurveyVersion)
from survey.models.responses import COUNTED
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL
from survey.services.instrument import STANDING_CODE

KIND_COUNT = 0
OVERALL = "overall"
NO_FIELD = ""                 # service_field NULL, stored as '' so it can be part of a key
LOCK_KEY = 7_240_311          # pg_advisory_xact_lock: one refresh at a time
PG_WORK_MEM = "64MB"
FOLD_WORK_MEM = "256MB"       # a first fold of millions of responses sorts big groups
ANALYZE_FROM = 50_000         # marked rows from which the planner must learn the batch size


@dataclass(frozen=True)
class Instrument:
    survey_id: int
    components: tuple[str, ...]
    component_weights: dict[str, float]

    def measures(self) -> list[tuple[int, str]]:
        """The composite measures, in the order of the score columns."""
        return ([(KIND_COMPONENT, c) for c in self.components] + [(KIND_OVERALL, OVERALL)])


def instrument_for(survey: Survey) -> Instrument:
    """The survey's composite components (from its questions) and their weights."""
    comps = db.session.scalars(
        select(Question.component).distinct()
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .where(SurveyVersion.survey_id == survey.id, Question.type == "likert5",
               Question.component.isnot(None), Question.component != "OVERALL")
    ).all()
    configured = (survey.scope or {}).get("component_weights") or {}
    weights = {c: float(configured.get(c, 1.0)) for c in comps}
    return Instrument(survey.id, tuple(sorted(comps)), weights)


def instrument_of(survey_code: str = STANDING_CODE) -> Instrument | None:
    survey = db.session.scalar(select(Survey).where(Survey.code == survey_code))
    return None if survey is None else instrument_for(survey)


def counted() -> Any:
    """The filter of every figure: quarantined and rejected responses count nowhere."""
    return Response.status == COUNTED


def _f(expr: Any) -> Any:
    # Double precision everywhere: SQLite divides integers as integers, PostgreSQL would
    # otherwise return NUMERIC (Decimal) for sums of integers.
    return cast(expr, Float)


def _field_expr() -> Any:
    return func.coalesce(Response.service_field, literal(NO_FIELD))


def _pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


# --- the GROUP BY over responses: one shape for folding and for the live tail ---------------
# Columns of every select: unit_id, period, field, kind, code, n, sat, s1, s2.

def _count_select(where: Sequence[Any]) -> Any:
    f = _field_expr()
    return (select(Response.unit_id.label("unit_id"), Response.period.label("period"),
                   f.label("field"), literal(KIND_COUNT, Integer).label("kind"),
                   literal("", String).label("code"), func.count().label("n"),
                   literal(0, Integer).label("sat"), _f(literal(0)).label("s1"),
                   _f(literal(0)).label("s2"))
            .where(*where).group_by(Response.unit_id, Response.period, f))


def _item_select(where: Sequence[Any]) -> Any:
    """Per stratum and item code: valid answers (1..5), satisfied (4-5), Σv, Σv²."""
    v, f = Answer.value_int, _field_expr()
    # Group by question id first (answer and response columns only); item codes and the
    # likert5 filter are joined to the much smaller grouped result.
    raw = (select(Response.unit_id, Response.period, f.label("field"), Answer.question_id,
                  func.count().label("n"), func.count().filter(v >= 4).label("sat"),
                  func.sum(v).label("s1"), func.sum(v * v).label("s2"))
           .join(Response, Response.id == Answer.response_id)
           .where(*where, v.between(1, 5))
           .group_by(Response.unit_id, Response.period, f, Answer.question_id)).subquery("raw")
    keys = (raw.c.unit_id, raw.c.period, raw.c.field, Question.code)
    return (select(raw.c.unit_id, raw.c.period, raw.c.field,
                   literal(KIND_ITEM, Integer).label("kind"), Question.code.label("code"),
                   func.sum(raw.c.n).label("n"), func.sum(raw.c.sat).label("sat"),
                   _f(func.sum(raw.c.s1)).label("s1"), _f(func.sum(raw.c.s2)).label("s2"))
            .join(Question, Question.id == raw.c.question_id)
            .where(Question.type == "likert5").group_by(*keys))


def _composite_selects(inst: Instrument, where: Sequence[Any]) -> list[Any]:
    """Per stratum: count, Σy, Σy² of each component score and of the overall score.

    A response's component score is the share of its valid items in the component rated 4-5;
    its overall score the component-weighted mean over the components it answered.
    """
    if not inst.components:
        return []
    scores = []
    for i, comp in enumerate(inst.components):
        inside = Question.component == comp
        satisfied = func.count().filter(and_(inside, Answer.value_int >= 4))
        answered = func.count().filter(inside)
        scores.append((_f(satisfied) / _f(func.nullif(answered, 0))).label(f"c{i}"))
    per = (select(Answer.response_id.label("rid"), *scores)
           .join(Question, Question.id == Answer.question_id)
           .join(Response, Response.id == Answer.response_id)
           .where(*where, Question.type == "likert5", Answer.value_int.between(1, 5),
                  Question.component.in_(inst.components))
           .group_by(Answer.response_id)).subquery("per_response")
    comp_cols = [per.c[f"c{i}"] for i in range(len(inst.components))]
    cw = [inst.component_weights[c] for c in inst.components]
    numerator = sum((func.coalesce(col * k, 0.0) for col, k in zip(comp_cols, cw)),
                    _f(literal(0)))
    denominator = sum((case((col.isnot(None), k), else_=0.0) for col, k in zip(comp_cols, cw)),
                      _f(literal(0)))
    overall = numerator / func.nullif(denominator, 0.0)
    f = _field_expr()
    columns = []
    for i, y in enumerate(comp_cols + [overall]):
        columns += [func.count(y).label(f"m{i}_n"), func.sum(y).label(f"m{i}_s1"),
                    func.sum(y * y).label(f"m{i}_s2")]
    wide = (select(Response.unit_id, Response.period, f.label("field"), *columns)
            .join(per, per.c.rid == Response.id)
            .group_by(Response.unit_id, Response.period, f)).cte("wide")
    return [select(wide.c.unit_id, wide.c.period, wide.c.field,
                   literal(kind, Integer).label("kind"), literal(code, String).label("code"),
                   wide.c[f"m{i}_n"].label("n"), literal(0, Integer).label("sat"),
                   _f(wide.c[f"m{i}_s1"]).label("s1"), _f(wide.c[f"m{i}_s2"]).label("s2"))
            .where(wide.c[f"m{i}_n"] > 0)
            for i, (kind, code) in enumerate(inst.measures())]


def _sum_selects(inst: Instrument, where: Sequence[Any], kinds: set[int]) -> list[Any]:
    parts = [_count_select(where)]
    if KIND_ITEM in kinds:
        parts.append(_item_select(where))
    if kinds & {KIND_COMPONENT, KIND_OVERALL}:
        parts += [s for s, (kind, _) in zip(_composite_selects(inst, where), inst.measures())
                  if kind in kinds]
    return parts


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


def _state_matches(inst: Instrument) -> bool:
    state = db.session.get(RollupState, inst.survey_id)
    return state is None or state.component_weights == inst.component_weights


def kinds_for(stats: Iterable[str]) -> set[int]:
    stats = set(stats)
    kinds = {KIND_COUNT}
    if stats & {"rate", "score"}:
        kinds.add(KIND_ITEM)
    if "component" in stats:
        kinds.add(KIND_COMPONENT)
    if "overall" in stats:
        kinds.add(KIND_OVERALL)
    return kinds


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """A read-only connection whose statements all see one snapshot of the database.

    The rollup and the tail are read by separate statements; a refresh committing between
    them would otherwise move responses from the tail into the rollup unseen (or twice).
    """
    if _pg():
        with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            # The tail's per-response GROUP BY hashes one row per response; the default 4 MB
            # spills to disk from ~50,000 responses.
            conn.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
            yield conn
            conn.rollback()
    else:
        # pysqlite opens transactions only for writes; an explicit BEGIN pins the WAL snapshot.
        with db.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()


# One cell packed by PostgreSQL's send functions (big-endian, fixed width).
_CELL_DTYPE = np.dtype([("sid", ">i4"), ("mid", ">i4"), ("n", ">i8"), ("sat", ">i8"),
                        ("s1", ">f8"), ("s2", ">f8")])
_CELL_KEYS = ("sid", "mid", "n", "sat", "s1", "s2")


def _fetch_cells(conn: Connection, query: Any) -> dict[str, np.ndarray]:
    """Rollup cells as arrays sid, mid, n, sat, s1, s2.

    A province-wide table is ~1 million cells.  On PostgreSQL they travel as ONE bytea of
    packed binary rows read straight into NumPy: ~4x faster than row tuples, and than
    COPY BINARY, which psycopg delivers one message per row.
    """
    if conn.dialect.name == "postgresql":
        sub = query.subquery()
        packed = (func.int4send(sub.c.stratum_id).op("||")(func.int4send(sub.c.measure_id))
                  .op("||")(func.int8send(sub.c.n)).op("||")(func.int8send(sub.c.sat))
                  .op("||")(func.float8send(sub.c.s1)).op("||")(func.float8send(sub.c.s2)))
        data = conn.execute(select(func.string_agg(packed, literal_column("''::bytea")))
                            ).scalar() or b""
        rows = np.frombuffer(data, dtype=_CELL_DTYPE)
        return {k: rows[k].astype(np.int64 if k in ("sid", "mid", "n", "sat") else float)
                for k in _CELL_KEYS}
    rows = conn.execute(query).all()
    table = np.array(rows, dtype=float).reshape(len(rows), 6)
    return {k: table[:, i].astype(np.int64 if i < 4 else float)
            for i, k in enumerate(_CELL_KEYS)}


def read(inst: Instrument, periods: Sequence[str], unit_ids: set[int] | None,
         kinds: set[int], include: Sequence[int] = (), verified: bool | None = None
         ) -> StratumSums:
    """Exact per-stratum sums of the survey's counted responses in ``periods`` (and ``unit_ids``).

    ``include``: ids of responses not counted (quarantined, rejected: never folded) to sum as
    if they were, for the review page's "index with them".  ``verified``: only the verified
    (True) or open (False) channel; the rollup does not split channels, so that is all live.
    """
    use_rollup = _state_matches(inst) and verified is None
    status = or_(counted(), Response.id.in_(sorted(include))) if include else counted()
    where = [Response.survey_id == inst.survey_id, Response.period.in_(list(periods)), status]
    if verified is not None:
        where.append(Response.verified.is_(verified))
    st_where = [RollupStratum.survey_id == inst.survey_id, RollupStratum.period.in_(list(periods))]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
        st_where.append(RollupStratum.unit_id.in_(sorted(unit_ids)))
    if use_rollup:
        where.append(Response.rollup_batch.is_(None))
    wanted = select(RollupMeasure.id).where(RollupMeasure.kind.in_(sorted(kinds)))
    cells_query = (select(RollupCell.stratum_id, RollupCell.measure_id, RollupCell.n,
                          RollupCell.sat, RollupCell.s1, RollupCell.s2)
                   .join(RollupStratum, RollupStratum.id == RollupCell.stratum_id)
                   .where(*st_where, RollupCell.measure_id.in_(wanted)))
    with _snapshot() as conn:
        folded_strata = conn.execute(select(
            RollupStratum.id, RollupStratum.unit_id, RollupStratum.period, RollupStratum.field,
            RollupStratum.responses).where(*st_where)).all() if use_rollup else []
        folded = _fetch_cells(conn, cells_query) if use_rollup else None
        tail = conn.execute(union_all(*_sum_selects(inst, where, kinds))).all()
    # Measures are only ever added: reading them afterwards covers every id seen above.
    measure_of = {mid: (kind, code) for mid, kind, code in db.session.execute(
        select(RollupMeasure.id, RollupMeasure.kind, RollupMeasure.code))}
    return _assemble(folded_strata, folded, tail, measure_of)


def _assemble(folded_strata: Sequence[Any], folded: dict[str, np.ndarray] | None,
              tail: Sequence[Any], measure_of: dict[int, tuple[int, str]]) -> StratumSums:
    strata: list[tuple[int, str, str]] = []
    responses: list[int] = []
    stratum_at: dict[tuple[int, str, str], int] = {}
    for _sid, unit_id, period, field, n in folded_strata:
        stratum_at[(unit_id, period, field)] = len(strata)
        strata.append((unit_id, period, field))
        responses.append(int(n))
    measures = sorted(set(measure_of.values()))
    measure_at = {m: i for i, m in enumerate(measures)}
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("st", "m", "n", "sat", "s1", "s2")}
    if folded is not None and len(folded["sid"]):
        sids = np.array([r[0] for r in folded_strata], dtype=np.int64)
        order = np.argsort(sids)
        pos = order[np.searchsorted(sids, folded["sid"], sorter=order)]
        lookup = np.full(max(measure_of) + 1, -1, dtype=np.int64)
        for mid, m in measure_of.items():
            lookup[mid] = measure_at[m]
        cols["st"].append(pos)
        cols["m"].append(lookup[folded["mid"]])
        for k in ("n", "sat", "s1", "s2"):
            cols[k].append(folded[k])
    extra: dict[str, list] = {k: [] for k in cols}
    for unit_id, period, field, kind, code, n, sat, s1, s2 in tail:
        key = (unit_id, period, field)
        if key not in stratum_at:
            stratum_at[key] = len(strata)
            strata.append(key)
            responses.append(0)
        if kind == KIND_COUNT:
            responses[stratum_at[key]] += int(n)
            continue
        if (kind, code) not in measure_at:
            measure_at[(kind, code)] = len(measures)
            measures.append((kind, code))
        for k, v in zip(extra, (stratum_at[key], measure_at[(kind, code)], n, sat, s1, s2)):
            extra[k].append(v)
    for k in cols:
        cols[k].append(np.asarray(extra[k], dtype=np.int64 if k in ("st", "m", "n", "sat")
                                  else float))
    joined = {k: np.concatenate(v) for k, v in cols.items()}
    return StratumSums(strata, responses, measures, joined["st"], joined["m"], joined["n"],
                       joined["sat"], joined["s1"], joined["s2"])


# --- folding -----------------------------------------------------------------------------

def _upsert(model: Any, columns: list[str], source: Any, keys: list[str],
            added: list[str]) -> None:
    """INSERT ... SELECT ... ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c."""
    table = model.__table__
    dialect_insert = postgresql.insert if _pg() else sqlite.insert
    sub = source.subquery()
    # SQLite needs a WHERE in an upsert's SELECT, or it reads ON CONFLICT as a join's ON.
    stmt = dialect_insert(table).from_select(columns, select(*sub.c).where(true()))
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in added})
    db.session.execute(stmt)


def _ensure_measures(inst: Instrument) -> None:
    items = db.session.scalars(
        select(Question.code).distinct()
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .where(SurveyVersion.survey_id == inst.survey_id, Question.type == "likert5")).all()
    wanted = {(KIND_ITEM, c) for c in items} | set(inst.measures())
    have = {(k, c) for k, c in db.session.execute(select(RollupMeasure.kind, RollupMeasure.code))}
    db.session.add_all(RollupMeasure(kind=k, code=c) for k, c in sorted(wanted - have))
    db.session.flush()


def _fold_survey(inst: Instrument, batch: int) -> None:
    where = [Response.rollup_batch == batch, Response.survey_id == inst.survey_id]
    counts = _count_select(where).subquery()
    _upsert(RollupStratum, ["survey_id", "unit_id", "period", "field", "responses"],
            select(literal(inst.survey_id, Integer), counts.c.unit_id, counts.c.period,
                   counts.c.field, counts.c.n),
            ["survey_id", "unit_id", "period", "field"], ["responses"])
    _ensure_measures(inst)
    kinds = {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}
    raw = union_all(*_sum_selects(inst, where, kinds)[1:]).subquery("raw")
    st, m = RollupStratum, RollupMeasure
    cells = (select(st.id, m.id, raw.c.n, raw.c.sat, raw.c.s1, raw.c.s2)
             .join(st, and_(st.survey_id == inst.survey_id, st.unit_id == raw.c.unit_id,
                            st.period == raw.c.period, st.field == raw.c.field))
             .join(m, and_(m.kind == raw.c.kind, m.code == raw.c.code)))
    _upsert(RollupCell, ["stratum_id", "measure_id", "n", "sat", "s1", "s2"], cells,
            ["stratum_id", "measure_id"], ["n", "sat", "s1", "s2"])
    state = db.session.get(RollupState, inst.survey_id)
    now = datetime.now(timezone.utc)
    if state is None:
        db.session.add(RollupState(survey_id=inst.survey_id,
                                   component_weights=inst.component_weights, refreshed_at=now))
    else:
        state.refreshed_at = now


def lock() -> None:
    """The rollup's writer lock for this transaction (PostgreSQL: an advisory lock; SQLite has
    one writer anyway): refresh, reset, unfold and quarantine decisions take it first."""
    if _pg():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        db.session.execute(text(f"SET LOCAL work_mem = '{FOLD_WORK_MEM}'"))


def reset(survey_id: int | None = None) -> None:
    """Forget the rollup (of one survey, or all): every response becomes tail again.

    Needed after responses are deleted (sums cannot be un-added) and when a survey's
    component weights change; :func:`refresh` does the latter by itself.
    """
    lock()
    strata = select(RollupStratum.id)
    responses = update(Response).where(Response.rollup_batch.isnot(None))
    states = delete(RollupState)
    if survey_id is not None:
        strata = strata.where(RollupStratum.survey_id == survey_id)
        responses = responses.where(Response.survey_id == survey_id)
        states = states.where(RollupState.survey_id == survey_id)
    db.session.execute(delete(RollupCell).where(RollupCell.stratum_id.in_(strata)))
    db.session.execute(delete(RollupStratum).where(RollupStratum.id.in_(strata)))
    db.session.execute(states)
    db.session.execute(responses.values(rollup_batch=None))
    db.session.commit()


def pending() -> int:
    """Counted responses not folded yet."""
    return db.session.scalar(select(func.count()).select_from(Response)
                             .where(Response.rollup_batch.is_(None), counted()))


def reset_stale() -> list[int]:
    """Reset the rollup of every survey whose component weights changed since it was summed.

    Its responses become tail again, so they are pending and the next fold rebuilds the
    rollup with the new weights.  Returns the ids of the surveys reset.  Called by
    :func:`refresh`, and by ``flask rollup`` before it counts pending responses: otherwise,
    with no new response, it would stop before noticing the weights changed, and every read
    would keep summing that survey live.
    """
    stale = [survey.id for survey in db.session.scalars(select(Survey).join(RollupState)).all()
             if not _state_matches(instrument_for(survey))]
    for survey_id in stale:
        reset(survey_id)
    return stale


def refresh(chunk: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Fold every unfolded response into the rollup, ``chunk`` responses per transaction,
    after rebuilding (:func:`reset_stale`) the rollups whose weights changed.

    Returns how many were folded.  Safe to run concurrently with submissions and with
    itself (PostgreSQL: an advisory lock; SQLite: one writer at a time).
    """
    reset_stale()
    done = 0
    while True:
        lock()
        batch = secrets.randbits(62) or 1
        mark = update(Response).where(Response.rollup_batch.is_(None), counted())
        if chunk:
            first_ids = (select(Response.id).where(Response.rollup_batch.is_(None), counted())
                         .order_by(Response.id).limit(chunk).subquery())
            last = db.session.scalar(select(func.max(first_ids.c.id)))
            if last is None:
                db.session.rollback()
                break
            mark = mark.where(Response.id <= last)
        marked = db.session.execute(mark.values(rollup_batch=batch)).rowcount
        if not marked:
            db.session.rollback()
            break
        if marked >= ANALYZE_FROM and _pg():
            # Statistics still say "every rollup_batch is NULL", so the planner expects one
            # row for this batch and picks nested loops over millions of answers (60 µs per
            # response instead of a few).  ANALYZE samples our own uncommitted marks.
            db.session.execute(text("ANALYZE response"))
        surveys = db.session.scalars(select(Survey).where(Survey.id.in_(
            select(Response.survey_id).where(Response.rollup_batch == batch).distinct())))
        for survey in surveys.all():
            _fold_survey(instrument_for(survey), batch)
        db.session.commit()
        done += marked
        if progress:
            progress(done)
        if not chunk:
            break
    return done


# --- unfolding: quarantine after the fact --------------------------------------------------

def unfold(response_ids: Sequence[int]) -> int:
    """Take folded responses back out of the rollup, in the caller's transaction.

    Subtracts exactly the sums their fold added (the same GROUP BY over just these responses)
    and sets their ``rollup_batch`` back to NULL, so that with their status changed in the same
    transaction no figure sees them, and a later release lets the live tail and the next
    refresh count them again.  Cells and strata left empty are deleted (a design stratum needs
    a response).  Returns how many responses were unfolded.  The caller commits.
    """
    ids = sorted(set(response_ids))
    if not ids:
        return 0
    lock()  # no refresh may fold or re-fold between our read and our subtraction
    folded = [Response.id.in_(ids), Response.rollup_batch.isnot(None)]
    surveys = db.session.scalars(select(Response.survey_id).where(*folded).distinct()).all()
    for survey_id in surveys:
        inst = instrument_for(db.session.get(Survey, survey_id))
        state = db.session.get(RollupState, survey_id)
        if state is None or state.component_weights != inst.component_weights:
            # Summed with other weights: read() ignores this rollup already and refresh()
            # rebuilds it; forget it now rather than subtract sums that were never added.
            _forget(survey_id)
            continue
        where = [*folded, Response.survey_id == survey_id]
        kinds = {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}
        sums = db.session.execute(union_all(*_sum_selects(inst, where, kinds))).all()
        _subtract(survey_id, sums)
    return db.session.execute(update(Response).where(*folded).values(rollup_batch=None)).rowcount


def _forget(survey_id: int) -> None:
    strata = select(RollupStratum.id).where(RollupStratum.survey_id == survey_id)
    db.session.execute(delete(RollupCell).where(RollupCell.stratum_id.in_(strata)))
    db.session.execute(delete(RollupStratum).where(RollupStratum.survey_id == survey_id))
    db.session.execute(delete(RollupState).where(RollupState.survey_id == survey_id))
    db.session.execute(update(Response).where(Response.survey_id == survey_id,
                                              Response.rollup_batch.isnot(None))
                       .values(rollup_batch=None))


def _subtract(survey_id: int, rows: Sequence[Any]) -> None:
    """Rows of the sum selects (unit, period, field, kind, code, n, sat, s1, s2), subtracted."""
    units = sorted({r[0] for r in rows})
    stratum_of = {(u, p, f): sid for sid, u, p, f in db.session.execute(
        select(RollupStratum.id, RollupStratum.unit_id, RollupStratum.period, RollupStratum.field)
        .where(RollupStratum.survey_id == survey_id, RollupStratum.unit_id.in_(units)))}
    measure_of = {(k, c): mid for mid, k, c in db.session.execute(
        select(RollupMeasure.id, RollupMeasure.kind, RollupMeasure.code))}
    strata, cells = [], []
    for unit_id, period, field, kind, code, n, sat, s1, s2 in rows:
        sid = stratum_of[(unit_id, period, field)]
        if kind == KIND_COUNT:
            strata.append({"sid": sid, "dn": int(n)})
        else:
            cells.append({"sid": sid, "mid": measure_of[(kind, code)], "dn": int(n),
                          "dsat": int(sat or 0), "ds1": float(s1 or 0), "ds2": float(s2 or 0)})
    st, cell = RollupStratum.__table__, RollupCell.__table__
    if cells:
        db.session.execute(
            update(cell).where(cell.c.stratum_id == bindparam("sid"),
                               cell.c.measure_id == bindparam("mid"))
            .values(n=cell.c.n - bindparam("dn"), sat=cell.c.sat - bindparam("dsat"),
                    s1=cell.c.s1 - bindparam("ds1"), s2=cell.c.s2 - bindparam("ds2")), cells)
    if strata:
        db.session.execute(update(st).where(st.c.id == bindparam("sid"))
                           .values(responses=st.c.responses - bindparam("dn")), strata)
    touched = sorted({s["sid"] for s in strata})
    db.session.execute(delete(cell).where(cell.c.stratum_id.in_(touched), cell.c.n <= 0))
    db.session.execute(delete(st).where(st.c.id.in_(touched), st.c.responses <= 0))

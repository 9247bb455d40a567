"""Per-stratum sums of answers: folded into rollup tables once, read back with the unfolded tail.

An index table needs, per stratum (survey x unit x period x raw service field) and measure,
only n, the count of satisfied answers, Σy and Σy² (indices/aggregates.py turns those into
the weighted sums of analysis.sums).  Both the fold and the live tail sum the narrow score
rows written with each response (indices/scores.py) with one GROUP BY.  Computing them from
10 million responses x ~20 answer rows at every request costs minutes, and they are additive,
so :func:`refresh` folds each response in exactly once: it marks a set of unfolded responses with a fresh batch id
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
from datetime import datetime, timezone
from typing import Any, Callable, Sequence, cast

from sqlalchemy import (
    CursorResult,
    Integer,
    Table,
    bindparam,
    delete,
    func,
    literal,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from survey.extensions import db
from survey.indices.stratum_sums import (
    ANALYZE_FROM,
    COUNT_MEASURE,
    FOLD_WORK_MEM,
    LOCK_KEY,
    Instrument,
    _field_expr,
    count_select,
    counted,
    instrument_for,
    is_postgres,
    state_matches,
    sum_selects,
)
from survey.models import (
    Response,
    RollupCell,
    RollupState,
    RollupStratum,
    Survey,
)
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL


def _upsert(model: Any, columns: list[str], source: Any, keys: list[str],
            added: list[str]) -> None:
    """INSERT ... SELECT ... ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c."""
    table = model.__table__
    dialect_insert = postgresql.insert if is_postgres() else sqlite.insert
    sub = source.subquery()
    # SQLite needs a WHERE in an upsert's SELECT, or it reads ON CONFLICT as a join's ON.
    stmt = dialect_insert(table).from_select(columns, select(*sub.c).where(true()))
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in added})
    db.session.execute(stmt)


def _fold_survey(inst: Instrument, batch: int) -> None:
    where = [Response.rollup_batch == batch, Response.survey_id == inst.survey_id]
    counts = count_select(where).subquery()
    _upsert(RollupStratum, ["survey_id", "unit_id", "period", "field", "responses"],
            select(literal(inst.survey_id, Integer), counts.c.unit_id, counts.c.period,
                   counts.c.field, counts.c.n),
            ["survey_id", "unit_id", "period", "field"], ["responses"])
    # Each response's stratum id joined first, so the GROUP BY over its ~27 score rows has
    # two small integers for a key (stratum, measure); grouping by (unit, period, field,
    # measure) and looking the strata up after cost an index probe per cell.
    st = RollupStratum
    in_stratum = [*where, st.survey_id == inst.survey_id, st.unit_id == Response.unit_id,
                  st.period == Response.period, st.field == _field_expr()]
    kinds = {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}
    raw = union_all(*sum_selects(inst, in_stratum, kinds, keys=[st.id.label("stratum_id")])[1:]
                    ).subquery("raw")
    _upsert(RollupCell, ["stratum_id", "measure_id", "n", "sat", "s1", "s2"],
            # In key order: the primary key's B-tree then grows page after page instead of
            # taking ~10^6 inserts at random places (a third of a first fold's time).
            select(raw.c.stratum_id, raw.c.measure, raw.c.n, raw.c.sat, raw.c.s1, raw.c.s2)
            .order_by(raw.c.stratum_id, raw.c.measure),
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
    if is_postgres():
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
                             .where(Response.rollup_batch.is_(None), counted())) or 0


def reset_stale() -> list[int]:
    """Reset the rollup of every survey whose component weights changed since it was summed.

    Its responses become tail again, so they are pending and the next fold rebuilds the
    rollup with the new weights.  Returns the ids of the surveys reset.  Called by
    :func:`refresh`, and by ``flask rollup`` before it counts pending responses: otherwise,
    with no new response, it would stop before noticing the weights changed, and every read
    would keep summing that survey live.
    """
    stale = [survey.id for survey in db.session.scalars(select(Survey).join(RollupState)).all()
             if not state_matches(instrument_for(survey))]
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
        marked = cast(CursorResult, db.session.execute(mark.values(rollup_batch=batch))).rowcount
        if not marked:
            db.session.rollback()
            break
        if marked >= ANALYZE_FROM and is_postgres():
            # The planner estimates each response's join to its stratum (unit, period, field)
            # at a few percent of the responses, and then probes the score rows' index once
            # per response: 27 random reads each, 4x the whole fold of 10^6.  Hash joins read
            # the score rows once (a small batch keeps the probes: cheaper than that scan).
            db.session.execute(text("SET LOCAL enable_nestloop = off"))
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
        inst = instrument_for(cast(Survey, db.session.get(Survey, survey_id)))
        state = db.session.get(RollupState, survey_id)
        if state is None or state.component_weights != inst.component_weights:
            # Summed with other weights: read() ignores this rollup already and refresh()
            # rebuilds it; forget it now rather than subtract sums that were never added.
            _forget(survey_id)
            continue
        where = [*folded, Response.survey_id == survey_id]
        kinds = {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}
        sums = db.session.execute(union_all(*sum_selects(inst, where, kinds))).all()
        _subtract(survey_id, sums)
    unfolded = db.session.execute(update(Response).where(*folded).values(rollup_batch=None))
    return cast(CursorResult, unfolded).rowcount


def _forget(survey_id: int) -> None:
    strata = select(RollupStratum.id).where(RollupStratum.survey_id == survey_id)
    db.session.execute(delete(RollupCell).where(RollupCell.stratum_id.in_(strata)))
    db.session.execute(delete(RollupStratum).where(RollupStratum.survey_id == survey_id))
    db.session.execute(delete(RollupState).where(RollupState.survey_id == survey_id))
    db.session.execute(update(Response).where(Response.survey_id == survey_id,
                                              Response.rollup_batch.isnot(None))
                       .values(rollup_batch=None))


def _subtract(survey_id: int, rows: Sequence[Any]) -> None:
    """Rows of the sum selects (unit, period, field, measure, counter, n, sat, s1, s2),
    subtracted."""
    units = sorted({r[0] for r in rows})
    stratum_of = {(u, p, f): sid for sid, u, p, f in db.session.execute(
        select(RollupStratum.id, RollupStratum.unit_id, RollupStratum.period, RollupStratum.field)
        .where(RollupStratum.survey_id == survey_id, RollupStratum.unit_id.in_(units)))}
    strata, cells = [], []
    for unit_id, period, field, measure, _counter, n, sat, s1, s2 in rows:
        sid = stratum_of[(unit_id, period, field)]
        if measure == COUNT_MEASURE:
            strata.append({"sid": sid, "dn": int(n)})
        else:
            cells.append({"sid": sid, "mid": int(measure), "dn": int(n),
                          "dsat": int(sat or 0), "ds1": float(s1 or 0), "ds2": float(s2 or 0)})
    st, cell = cast(Table, RollupStratum.__table__), cast(Table, RollupCell.__table__)
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


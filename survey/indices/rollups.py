"""Per-stratum sums of answers: folded into rollup tables once, read back with the unfolded tail.

An index table needs, per stratum (survey x unit x period x raw service field) and measure,
only n, the count of satisfied answers, Σy and Σy² (indices/aggregates.py turns those into
the weighted sums of analysis.sums).  Both the fold and the live tail sum the narrow score
rows written with each response (indices/scores.py) with one GROUP BY.  Computing them from
10 million responses x ~20 answer rows at every request costs minutes, and they are additive,
so :func:`refresh` folds each response in exactly once, by a per-survey watermark
(``rollup_state.folded_to``): the rollup holds every counted response with id <= the watermark,
except the few in ``rollup_late`` (counted after the fold passed them).  A fold adds the sums
of exactly the tail (ids above the watermark up to a settled id, plus the late set) to
``rollup_stratum`` / ``rollup_cell`` with INSERT ... ON CONFLICT DO UPDATE, moves the watermark
and deletes the late rows, in one transaction; no response row is written.

"Settled" (:func:`_settled_top`): ids are drawn from a sequence before the response commits,
so an id below the new watermark could still be uncommitted, and a watermark past it would
lose it.  The fold reads the sequence's position, then waits until every transaction that
drew an id (each holds a lock on the sequence until it ends) has ended; SQLite has one
writer, so its largest committed id is settled.

:func:`read` (rollup_read.py) returns the rollup rows plus the same GROUP BY over the tail,
reading the watermark in the same SQL statement, so a concurrent refresh can never make a
response count twice or not at all: the result is exact whether the rollup is current, stale
or empty.  Run ``flask rollup`` from cron (every few minutes) to keep the tail short; nothing
else depends on it.

Overall scores are a component-weighted mean, not additive in the weights, so each survey's
rollup records the weights it was summed with (``rollup_state``); when the survey's weights
differ, :func:`read` ignores the rollup (live sums) and the next refresh rebuilds it.

Only counted responses (``Response.status == 'counted'``, :func:`counted`) are folded or summed
live; a quarantined or rejected one under the watermark is simply not in the sums.  Status
changes after submission go through review/quarantine.decide, under the rollup's lock:
:func:`unfold` takes responses that are folded back out (their exact sums subtracted) when an
analyst quarantines them; :func:`admit` puts a released response under the watermark in the
late set, so the live tail sums it and the next refresh folds it (docs/integrity.md).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence, cast

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)

from survey.extensions import db
from survey.indices.fold import fold_survey as _fold_survey
from survey.indices.score_sums import sum_selects, union_of
from survey.indices.stratum_sums import (
    ANALYZE_FROM,
    COUNT_MEASURE,
    FOLD_WORK_MEM,
    LOCK_KEY,
    counted,
    instrument_for,
    is_postgres,
    late_ids,
    state_matches,
    unfolded,
    vacuum_cells,
)
from survey.models import Response, RollupCell, RollupLate, RollupState, RollupStratum, Survey
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL, new_version

log = logging.getLogger(__name__)

# How long a fold waits for transactions that drew response ids to end (a submission takes
# milliseconds; a bulk import in one transaction can take longer: the fold then adds nothing
# new this time, and says so).
SETTLE_TIMEOUT = 30.0


def lock() -> None:
    """The rollup's writer lock for this transaction: refresh, reset, unfold and quarantine
    decisions take it first, so what they read of the rollup (watermarks, late sets) stays
    true until they commit.  PostgreSQL: an advisory lock.  SQLite: its one write lock, taken
    now by a write that changes nothing (reads alone would not hold it, and a concurrent
    refresh could then fold the same responses from the same stale watermark)."""
    if is_postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        db.session.execute(text(f"SET LOCAL work_mem = '{FOLD_WORK_MEM}'"))
    else:
        db.session.execute(text("UPDATE rollup_state SET folded_to = folded_to WHERE 0"))


def changed(survey_id: int | None) -> None:
    """A new version of the survey's (None: every survey's) rollup, in the transaction of each
    write of its strata or cells, so that readers caching them by version never use stale ones."""
    stmt = update(RollupState).values(version=new_version())
    db.session.execute(stmt if survey_id is None else stmt.where(RollupState.survey_id == survey_id))


def _forget(survey_id: int | None) -> None:
    """Delete the rollup of one survey (or all): its watermark goes back to 0, so every counted
    response is tail again.  No response row is touched."""
    strata = select(RollupStratum.id)
    deletes = [delete(RollupStratum), delete(RollupState), delete(RollupLate)]
    if survey_id is not None:
        strata = strata.where(RollupStratum.survey_id == survey_id)
        deletes = [delete(RollupStratum).where(RollupStratum.survey_id == survey_id),
                   delete(RollupState).where(RollupState.survey_id == survey_id),
                   delete(RollupLate).where(RollupLate.survey_id == survey_id)]
    changed(survey_id)   # (the state row goes too; a fold makes a new one, a new version)
    db.session.execute(delete(RollupCell).where(RollupCell.stratum_id.in_(strata)))
    for statement in deletes:
        db.session.execute(statement)


def reset(survey_id: int | None = None) -> None:
    """Forget the rollup (of one survey, or all): every response becomes tail again.

    Needed after responses are deleted (sums cannot be un-added) and when a survey's
    component weights change; :func:`refresh` does the latter by itself.
    """
    lock()
    _forget(survey_id)
    db.session.commit()


def pending() -> int:
    """Counted responses not folded yet."""
    # Survey by survey: with the survey a constant, its watermark and late set are read once
    # and the tail is a range of the primary key (correlated, they were read per response).
    return sum(db.session.scalar(select(func.count()).select_from(Response).where(
        Response.survey_id == survey_id, counted(), unfolded(survey_id))) or 0
        for survey_id in db.session.scalars(select(Survey.id)).all())


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


def _settled_top() -> int | None:
    """The greatest response id up to which every id drawn is committed or rolled back, so a
    snapshot taken now sees every response the fold may put under its watermark; None if a
    transaction holding ids stayed open past SETTLE_TIMEOUT.

    PostgreSQL draws ids from the sequence before the response commits.  nextval() locks the
    sequence (RowExclusiveLock) until the drawing transaction ends, before it reads a value,
    so every transaction that drew an id up to the position read here is still listed as
    holding that lock, or has ended.  Read-only transactions (reports, dashboards) draw
    nothing and never hold the fold up.  (pg_current_snapshot()'s in-progress list would miss
    a store statement between its nextval() and its first row, before it has a transaction id.)
    """
    if not is_postgres():
        # One writer at a time, and ids never reused (sqlite_autoincrement): any insert not
        # yet committed will get an id above the greatest committed one.
        return int(db.session.scalar(select(func.max(Response.id))) or 0)
    seq = "CAST(pg_get_serial_sequence('response', 'id') AS regclass)"
    top = int(db.session.scalar(text(f"SELECT pg_sequence_last_value({seq})")) or 0)
    holders = (f"FROM pg_locks WHERE locktype = 'relation' AND relation = {seq} "
               "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
               "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()")
    drawing = db.session.scalar(text(f"SELECT array_agg(virtualtransaction) {holders}"))
    deadline, pause = time.monotonic() + SETTLE_TIMEOUT, 0.001
    while drawing:
        if time.monotonic() > deadline:
            log.warning("rollup: transactions holding response ids open for over %.0f s; "
                        "folding no new responses this time", SETTLE_TIMEOUT)
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
        drawing = db.session.scalar(
            text(f"SELECT array_agg(virtualtransaction) {holders} AND virtualtransaction = ANY(:vx)"),
            {"vx": list(drawing)})
    return top


def _chunk_end(start: int, top: int, chunk: int | None) -> int:
    """The id up to which this transaction folds: ``top``, or the ``chunk``-th counted
    response above ``start`` when that is lower."""
    if not chunk or top <= start:
        return top
    nth = db.session.scalar(select(Response.id).where(Response.id > start, Response.id <= top, counted())
                            .order_by(Response.id).offset(chunk - 1).limit(1))
    return top if nth is None else int(nth)


def refresh(chunk: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Fold every unfolded response into the rollup, about ``chunk`` responses per transaction
    (by id range; the late set with the first), after rebuilding (:func:`reset_stale`) the
    rollups whose weights changed.

    Returns how many were folded.  Safe to run concurrently with submissions, reads and with
    itself (PostgreSQL: an advisory lock; SQLite: one writer at a time).
    """
    reset_stale()
    top = _settled_top()      # before the lock: waiting must not hold up quarantine decisions
    done = 0
    while True:
        lock()
        surveys = db.session.scalars(select(Survey).order_by(Survey.id)).all()
        # Read again under the lock: states loaded before it (reset_stale) may be stale.
        states = {s.survey_id: s for s in db.session.scalars(
            select(RollupState).execution_options(populate_existing=True)).all()}
        marks = {s.id: states[s.id].folded_to if s.id in states else 0 for s in surveys}
        start = min(marks.values(), default=0)
        end = start if top is None else _chunk_end(start, max(top, start), chunk)
        folded = 0
        for survey in surveys:
            upto = max(marks[survey.id], end)
            tail = [Response.survey_id == survey.id, counted(),
                    or_(Response.id.between(marks[survey.id] + 1, upto), late_ids(survey.id))]
            n = db.session.scalar(select(func.count()).select_from(Response).where(*tail)) or 0
            if n:
                if n >= ANALYZE_FROM and is_postgres():
                    # The planner estimates each response's join to its stratum (unit, period,
                    # field) at a few percent of the responses, and then probes the score rows'
                    # index once per response: 27 random reads each, 4x the whole fold of 10^6.
                    # Hash joins read the score rows once (a small tail keeps the probes:
                    # cheaper than that scan).
                    db.session.execute(text("SET LOCAL enable_nestloop = off"))
                _fold_survey(instrument_for(survey), tail, big=n >= ANALYZE_FROM)
                changed(survey.id)   # fold.py writes the cells; a first fold's state row is made below
                db.session.execute(delete(RollupLate).where(RollupLate.survey_id == survey.id))
            state = states.get(survey.id)
            if state is None and (n or upto):
                state = RollupState(survey_id=survey.id,
                                    component_weights=instrument_for(survey).component_weights)
                db.session.add(state)
            if state is not None:
                state.folded_to, state.refreshed_at = upto, datetime.now(timezone.utc)
            folded += n
        db.session.commit()
        done += folded
        if progress and folded:
            progress(done)
        if top is None or end >= top:
            vacuum_cells(done)
            return done


# --- status changes after submission: quarantine, release ---------------------------------

def _folded(response_ids: Sequence[int]) -> list[Any]:
    """SQL: of these responses, those in their survey's rollup if they are (or were, before a
    status change in this transaction) counted: under the watermark and not late."""
    return [Response.id.in_(response_ids), ~unfolded()]


def admit(response_ids: Sequence[int]) -> int:
    """Responses that have just become counted (released from quarantine), in the caller's
    transaction: those under their survey's watermark were never folded (only counted ones
    are), so they go to the late set, which the live tail sums and the next refresh folds.
    Those above it are tail already.  Returns how many went to the late set.  The caller
    commits."""
    ids = sorted(set(response_ids))
    if not ids:
        return 0
    lock()
    late = db.session.execute(select(Response.survey_id, Response.id).where(*_folded(ids))).all()
    db.session.add_all(RollupLate(survey_id=s, response_id=i) for s, i in late)
    db.session.flush()
    return len(late)


def unfold(response_ids: Sequence[int]) -> int:
    """Take folded responses back out of the rollup, in the caller's transaction.

    Subtracts exactly the sums their fold added (the same GROUP BY over just these responses),
    so that with their status changed in the same transaction no figure sees them (they are
    not counted, so not tail either); a later release (:func:`admit`) lets the live tail and
    the next refresh count them again.  Late rows of responses that were not folded yet are
    deleted.  Cells and strata left empty are deleted (a design stratum needs a response).
    Returns how many responses were unfolded.  The caller commits.
    """
    ids = sorted(set(response_ids))
    if not ids:
        return 0
    lock()  # no refresh may fold or re-fold between our read and our subtraction
    folded = _folded(ids)
    surveys = db.session.scalars(select(Response.survey_id).where(*folded).distinct()).all()
    unfolded_n = 0
    for survey_id in surveys:
        inst = instrument_for(cast(Survey, db.session.get(Survey, survey_id)))
        state = db.session.get(RollupState, survey_id)
        where = [*folded, Response.survey_id == survey_id]
        if state is None or state.component_weights != inst.component_weights:
            # Summed with other weights: read() ignores this rollup already and refresh()
            # rebuilds it; forget it now rather than subtract sums that were never added.
            _forget(survey_id)
            continue
        unfolded_n += db.session.scalar(select(func.count()).select_from(Response).where(*where)) or 0
        kinds = {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}
        sums = db.session.execute(union_of(sum_selects(inst, where, kinds))).all()
        _subtract(survey_id, sums)
    db.session.execute(delete(RollupLate).where(RollupLate.response_id.in_(ids)))
    return unfolded_n


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
    changed(survey_id)
    touched = sorted({s["sid"] for s in strata})
    db.session.execute(delete(cell).where(cell.c.stratum_id.in_(touched), cell.c.n <= 0))
    db.session.execute(delete(st).where(st.c.id.in_(touched), st.c.responses <= 0))


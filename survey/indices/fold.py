"""One fold: the tail's per-stratum sums added to a survey's rollup (rollups.refresh calls it
under the rollup's lock, with the tail's filter)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, column, literal, select, table, text, true
from sqlalchemy.dialects import postgresql, sqlite

from survey.extensions import db
from survey.indices.score_sums import unpivot, wide_select
from survey.indices.stratum_sums import COUNT_MEASURE, Instrument, _field_expr, count_select, is_postgres
from survey.models import Response, RollupCell, RollupStratum
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL


def _upsert(model: Any, columns: list[str], source: Any, keys: list[str],
            added: list[str], new: bool = False) -> None:
    """INSERT ... SELECT ... ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c; ``new``: the
    rows cannot exist yet, a plain INSERT."""
    table = model.__table__
    dialect_insert = postgresql.insert if is_postgres() else sqlite.insert
    sub = source.subquery()
    # SQLite needs a WHERE in an upsert's SELECT, or it reads ON CONFLICT as a join's ON.
    stmt = dialect_insert(table).from_select(columns, select(*sub.c).where(true()))
    if not new:
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in added})
    db.session.execute(stmt)


_STRATUM_COLUMNS = ["survey_id", "unit_id", "period", "field", "responses"]
_STRATUM_KEY = ["survey_id", "unit_id", "period", "field"]
_KINDS = {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}


def fold_survey(inst: Instrument, where: list[Any], big: bool = False) -> None:
    """Add the sums of the responses ``where`` selects (the survey's tail) to its rollup.
    ``big``: so many that the GROUP BY should run in parallel (PostgreSQL)."""
    st = RollupStratum
    # A survey without strata has no cells either: its first fold inserts (an upsert probes
    # the key of every row it writes; 825,344 cells at 10^6 responses).
    new = db.session.scalar(select(st.id).where(st.survey_id == inst.survey_id).limit(1)) is None
    sid = literal(inst.survey_id, Integer)
    if big and is_postgres():
        # ONE pass over the responses and their score rows: the count and every measure's sums
        # per stratum (unit, period, field) into a temporary table (26,624 rows at 10^6
        # responses), by CREATE TABLE AS, which may use parallel workers (PostgreSQL runs no
        # part of an INSERT ... SELECT in parallel).  No JIT: compiling the ~100 aggregates
        # cost about a second, more than it saved.
        db.session.execute(text("SET LOCAL jit = off"))
        wide, cells = wide_select(inst, where, _KINDS, count=True)
        sql = wide.compile(dialect=db.session.get_bind().dialect, compile_kwargs={"literal_binds": True})
        db.session.execute(text("DROP TABLE IF EXISTS fold_wide"))
        db.session.execute(text(f"CREATE TEMPORARY TABLE fold_wide ON COMMIT DROP AS {sql}"))
        made = table("fold_wide", *(column(c) for c in wide.selected_columns.keys()))
        _upsert(st, _STRATUM_COLUMNS, select(sid, made.c.unit_id, made.c.period, made.c.field, made.c.n0),
                _STRATUM_KEY, ["responses"], new)
        g: Any = (select(st.id.label("stratum_id"), *made.c)
                  .join(st, and_(st.survey_id == inst.survey_id, st.unit_id == made.c.unit_id,
                                 st.period == made.c.period, st.field == made.c.field))
                  .subquery("g"))
        cells = [c for c in cells if c[0] != COUNT_MEASURE]
    else:
        counts = count_select(where).subquery()
        _upsert(st, _STRATUM_COLUMNS, select(sid, counts.c.unit_id, counts.c.period, counts.c.field,
                                             counts.c.n), _STRATUM_KEY, ["responses"], new)
        # Each response's stratum id joined first, so the GROUP BY has one small integer
        # for a key; grouping by (unit, period, field) and looking the strata up after cost
        # an index probe per cell.
        in_stratum = [*where, st.survey_id == inst.survey_id, st.unit_id == Response.unit_id,
                      st.period == Response.period, st.field == _field_expr()]
        wide, cells = wide_select(inst, in_stratum, _KINDS, keys=[st.id.label("stratum_id")])
        g = wide.subquery("g") if is_postgres() else wide.cte("g")
    raw = unpivot(g, ["stratum_id"], cells).subquery("raw")
    _upsert(RollupCell, ["stratum_id", "measure_id", "n", "sat", "s1", "s2"],
            # In key order: the primary key's B-tree then grows page after page instead of
            # taking ~10^6 inserts at random places (a third of a first fold's time).
            select(raw.c.stratum_id, raw.c.measure, raw.c.n, raw.c.sat, raw.c.s1, raw.c.s2)
            .order_by(raw.c.stratum_id, raw.c.measure),
            ["stratum_id", "measure_id"], ["n", "sat", "s1", "s2"], new)

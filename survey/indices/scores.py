"""Score once, at submission: each response's value of every measure, as ONE row.

An index needs, per response, the value of each item (the 1-5 answer; satisfied = 4-5), each
component score (the share of the response's valid items in the component rated 4-5) and the
overall score (the mean of its component scores).  Deriving them from ~20 answer rows at every
fold and every read of the live tail cost ~450 µs per response; written once into
``response_score`` they are summed with one GROUP BY per stratum (stratum_sums.py).

One row per response, ``ys``: its values as a dense array, position = the measure's
rollup_measure id (kind and code), NULL where it has none (migration i16a_wide).  The ~27
narrow rows per response it replaced made the fold's GROUP BY (stratum, measure) do ~27 hash
updates per response: 45-62 s of a fold of 10^6 responses, against ~7 s for one row each
summed with explicit per-measure aggregates (docs/scale.md §6).  On PostgreSQL ``float8[]``;
SQLite has no arrays: a JSON array text.  :func:`score_at` is the ONE element access (per
dialect), :func:`score_insert` the ONE place the array is built.

ONE derivation, in SQL, for every writer: :func:`score_ctes` turns any relation of
(response_id, period, question_id, value_int) into score values.  The citizen path feeds it the
answer arrays of its one-statement INSERT (intake/responses.py); the ORM (tests, admin,
imports) gets its rows after each flush (:func:`_after_flush`); bulk writers call
:func:`write_scores`.

The overall score stored is the equal-weight mean.  A survey whose ``component_weights``
are not all equal gets its overall score combined from the component elements of each row at
query time (stratum_sums.py), so changing weights never rewrites score rows.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Float, bindparam, event, literal_column, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from survey.models.responses import Answer, Response, ResponseScore
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL
from survey.models.surveys import Question

OVERALL = "overall"
POSTGRES = "postgresql"

# Only likert5 answers 1..5 count ("không áp dụng" and skipped are NULL or absent); components
# exclude the "Nhìn chung" question (component 'OVERALL'), which is an item only.  Each value's
# measure is its rollup_measure id (ensure_measures adds them with the questions); a LEFT JOIN,
# so a measure missing by mistake leaves ``whole`` false and fails the INSERT (ys is NOT NULL)
# instead of silently leaving a score out of every index.  ``sx``: (response, period, measure,
# y), the narrow values; ``sw``: per response its highest measure (the array's length).
_CTES = (
    "sv AS (SELECT s.response_id, s.period, m.id AS measure, q.component, s.value_int AS v "
    "FROM ({source}) s JOIN question q ON q.id = s.question_id "
    f"LEFT JOIN rollup_measure m ON m.kind = {KIND_ITEM} AND m.code = q.code "
    "WHERE q.type = 'likert5' AND s.value_int BETWEEN 1 AND 5), "
    "sc AS (SELECT response_id, period, component, "
    "CAST(SUM(CASE WHEN v >= 4 THEN 1 ELSE 0 END) AS FLOAT) / COUNT(*) AS y "
    "FROM sv WHERE component IS NOT NULL AND component <> 'OVERALL' "
    "GROUP BY response_id, period, component), "
    "sx AS (SELECT response_id, period, measure, CAST(v AS FLOAT) AS y FROM sv UNION ALL "
    "SELECT sc.response_id, sc.period, m.id, sc.y FROM sc "
    f"LEFT JOIN rollup_measure m ON m.kind = {KIND_COMPONENT} AND m.code = sc.component UNION ALL "
    f"SELECT response_id, period, (SELECT id FROM rollup_measure WHERE kind = {KIND_OVERALL} "
    f"AND code = '{OVERALL}'), AVG(y) FROM sc GROUP BY response_id, period), "
    "sw AS (SELECT response_id, period, MAX(measure) AS top, "
    "CASE WHEN COUNT(*) = COUNT(measure) THEN 1 ELSE 0 END AS whole "
    "FROM sx GROUP BY response_id, period)")
# SQLite: the positions 1..top (generate_series is not built in); a CTE that names itself is
# recursive there without the RECURSIVE keyword.
_SQLITE_POSITIONS = ", spos(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM spos "
_SQLITE_POSITIONS += "WHERE i < (SELECT MAX(top) FROM sw))"

# The array: every position 1..top of the response, its value or NULL, in order.
_INSERT = {
    POSTGRES: (
        "INSERT INTO response_score (response_id, period, ys) "
        "SELECT sw.response_id, sw.period, CASE WHEN sw.whole = 1 THEN array_agg(sx.y ORDER BY p.i) END "
        "FROM sw CROSS JOIN LATERAL generate_series(1, sw.top) AS p(i) LEFT JOIN sx "
        "ON sx.response_id = sw.response_id AND sx.period = sw.period AND sx.measure = p.i "
        "GROUP BY sw.response_id, sw.period, sw.whole"),
    # JSON written by printf('%!.17g'): json_array() keeps 15 digits only, and a score read back
    # must be the float stored.  group_concat takes the rows in the subquery's order.
    "sqlite": (
        "INSERT INTO response_score (response_id, period, ys) "
        "SELECT response_id, period, CASE WHEN whole = 1 THEN "
        "'[' || group_concat(CASE WHEN y IS NULL THEN 'null' ELSE printf('%!.17g', y) END, ',') || ']' END "
        "FROM (SELECT sw.response_id, sw.period, sw.whole, p.i, sx.y FROM sw "
        "JOIN spos AS p ON p.i <= sw.top LEFT JOIN sx ON sx.response_id = sw.response_id "
        "AND sx.period = sw.period AND sx.measure = p.i ORDER BY sw.response_id, sw.period, p.i) "
        "GROUP BY response_id, period, whole"),
}

# Every measure the questions imply (items, their components, the overall score), added once;
# migration i15c_fold runs the same text.
MEASURE_ROWS = (
    f"SELECT DISTINCT {KIND_ITEM} AS kind, code FROM question WHERE type = 'likert5' UNION "
    f"SELECT DISTINCT {KIND_COMPONENT}, component FROM question WHERE type = 'likert5' "
    "AND component IS NOT NULL AND component <> 'OVERALL' UNION "
    f"SELECT {KIND_OVERALL}, '{OVERALL}'")
_MEASURES = text(f"INSERT INTO rollup_measure (kind, code) SELECT kind, code FROM ({MEASURE_ROWS}) x "
                 "WHERE true ON CONFLICT (kind, code) DO NOTHING")


def ensure_measures(conn: Any) -> None:
    """Give every measure of every likert5 question its rollup_measure row (a Connection or
    Session, in its transaction).  Score arrays place measures by id, so a question's measures
    must exist before its first answer is scored: run with every flush that adds questions
    (:func:`_after_flush`), by bulk writers and by the fold."""
    conn.execute(_MEASURES)


class _ScoreAt(FunctionElement):
    """A response's value of one measure: ``ys[k]`` (PostgreSQL arrays count from 1, as ids
    do) or ``json_extract(ys, '$[k-1]')`` (SQLite: JSON arrays count from 0)."""
    type = Float()
    name = "score_at"
    inherit_cache = True


@compiles(_ScoreAt, POSTGRES)
def _score_at_pg(element: _ScoreAt, compiler: Any, **kw: Any) -> str:
    ys, k = list(element.clauses)
    return f"({compiler.process(ys, **kw)})[{int(k.name)}]"


@compiles(_ScoreAt)
def _score_at_json(element: _ScoreAt, compiler: Any, **kw: Any) -> str:
    ys, k = list(element.clauses)
    return f"json_extract({compiler.process(ys, **kw)}, '$[{int(k.name) - 1}]')"


def score_at(measure_id: int, ys: Any = None) -> Any:
    """SQL: the value of measure ``measure_id`` (a rollup_measure id) in a score row (``ys``:
    the column, response_score.ys unless given), NULL when the response has none."""
    return _ScoreAt(ResponseScore.ys if ys is None else ys, literal_column(str(int(measure_id))))


# The answers of stored responses (ORM and bulk writers).
ANSWERS_OF = ("SELECT a.response_id, r.period, a.question_id, a.value_int FROM answer a "
              "JOIN response r ON r.id = a.response_id{where}")


def score_ctes(source: str, dialect: str = POSTGRES) -> str:
    """The CTEs of the score values over ``source``, a SELECT of (response_id, period,
    question_id, value_int); join them into a WITH list before :func:`score_insert`."""
    return _CTES.format(source=source) + ("" if dialect == POSTGRES else _SQLITE_POSITIONS)


def score_insert(dialect: str = POSTGRES) -> str:
    """INSERT INTO response_score: one row per response of :func:`score_ctes` (none for a
    response without a likert5 value)."""
    return _INSERT[POSTGRES if dialect == POSTGRES else "sqlite"]


def score_statement(source: str, dialect: str = POSTGRES) -> str:
    """One statement writing the score rows of every response in ``source``."""
    return f"WITH {score_ctes(source, dialect)} {score_insert(dialect)}"


def dialect_of(conn: Any) -> str:
    """The dialect's name of a Connection or Session."""
    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    return str(bind.dialect.name)


_DELETE = text("DELETE FROM response_score WHERE response_id IN :ids").bindparams(
    bindparam("ids", expanding=True))
_WRITE = {d: text(score_statement(ANSWERS_OF.format(where=" WHERE a.response_id IN :ids"), d))
          .bindparams(bindparam("ids", expanding=True)) for d in (POSTGRES, "sqlite")}
CHUNK = 5_000


def write_scores(conn: Any, response_ids: Iterable[int]) -> None:
    """(Re)write the score rows of these stored responses from their answers.

    ``conn``: a Connection or Session; runs in its transaction.  For writers that insert
    answers without the ORM (demo data, bulk imports).
    """
    ids = sorted(set(response_ids))
    if ids:
        ensure_measures(conn)
    write = _WRITE[POSTGRES if dialect_of(conn) == POSTGRES else "sqlite"]
    for lo in range(0, len(ids), CHUNK):
        chunk = ids[lo:lo + CHUNK]
        conn.execute(_DELETE, {"ids": chunk})
        conn.execute(write, {"ids": chunk})


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    """Responses or answers added through the ORM get their score rows in the same flush."""
    if any(isinstance(obj, Question) for obj in session.new):
        ensure_measures(session.connection())
    ids = {obj.response_id for obj in session.new if isinstance(obj, Answer)}
    ids |= {obj.id for obj in session.new if isinstance(obj, Response)}
    ids |= {obj.response_id for obj in session.dirty if isinstance(obj, Answer)}
    ids |= {obj.response_id for obj in session.deleted if isinstance(obj, Answer)}
    dropped = {obj.id for obj in session.deleted if isinstance(obj, Response)}
    ids -= dropped
    if ids:
        write_scores(session.connection(), ids)
    if dropped:
        # No foreign key cascades (models/responses.py says why).
        session.connection().execute(_DELETE, {"ids": sorted(dropped)})

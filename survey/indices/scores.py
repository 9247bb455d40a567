"""Score once, at submission: each response's value of every measure, as narrow rows.

An index needs, per response, the value of each item (the 1-5 answer; satisfied = 4-5), each
component score (the share of the response's valid items in the component rated 4-5) and the
overall score (the mean of its component scores).  Deriving them from ~20 answer rows at every
fold and every read of the live tail cost ~450 µs per response; written once into
``response_score`` they are summed with one GROUP BY (stratum_sums.py), keyed by an integer
measure id (rollup_measure: kind and code), not by text.

ONE derivation, in SQL, for every writer: :func:`score_select` turns any relation of
(response_id, period, question_id, value_int) into score rows.  The citizen path feeds it the
answer arrays of its one-statement INSERT (intake/responses.py); the ORM (tests, admin,
imports) gets its rows after each flush (:func:`_after_flush`); bulk writers call
:func:`write_scores`; migration i15a_scores backfills with the same text.

The overall score stored is the equal-weight mean.  A survey whose ``component_weights``
are not all equal gets its overall score combined from the component rows at query time
(stratum_sums.py), so changing weights never rewrites score rows.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import bindparam, event, text
from sqlalchemy.orm import Session

from survey.models.responses import Answer, Response
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL
from survey.models.surveys import Question

OVERALL = "overall"

# Only likert5 answers 1..5 count ("không áp dụng" and skipped are NULL or absent); components
# exclude the "Nhìn chung" question (component 'OVERALL'), which is an item only.  Each row's
# measure is its rollup_measure id (ensure_measures adds them with the questions); a LEFT JOIN,
# so a measure missing by mistake fails the INSERT (measure is NOT NULL) instead of silently
# leaving a score out of every index.
_CTES = (
    "sv AS (SELECT s.response_id, s.period, m.id AS measure, q.component, s.value_int AS v "
    "FROM ({source}) s JOIN question q ON q.id = s.question_id "
    f"LEFT JOIN rollup_measure m ON m.kind = {KIND_ITEM} AND m.code = q.code "
    "WHERE q.type = 'likert5' AND s.value_int BETWEEN 1 AND 5), "
    "sc AS (SELECT response_id, period, component, "
    "CAST(SUM(CASE WHEN v >= 4 THEN 1 ELSE 0 END) AS FLOAT) / COUNT(*) AS y "
    "FROM sv WHERE component IS NOT NULL AND component <> 'OVERALL' "
    "GROUP BY response_id, period, component)")
_INSERT = (
    "INSERT INTO response_score (response_id, measure, period, y) "
    "SELECT response_id, measure, period, CAST(v AS FLOAT) FROM sv UNION ALL "
    "SELECT sc.response_id, m.id, sc.period, sc.y FROM sc "
    f"LEFT JOIN rollup_measure m ON m.kind = {KIND_COMPONENT} AND m.code = sc.component UNION ALL "
    f"SELECT response_id, (SELECT id FROM rollup_measure WHERE kind = {KIND_OVERALL} "
    f"AND code = '{OVERALL}'), period, AVG(y) FROM sc GROUP BY response_id, period")

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
    Session, in its transaction).  Score rows name measures by id, so a question's measures
    must exist before its first answer is scored: run with every flush that adds questions
    (:func:`_after_flush`), by bulk writers and by the fold."""
    conn.execute(_MEASURES)


# The answers of stored responses (backfill, ORM and bulk writers).
ANSWERS_OF = ("SELECT a.response_id, r.period, a.question_id, a.value_int FROM answer a "
              "JOIN response r ON r.id = a.response_id{where}")


def score_ctes(source: str) -> str:
    """The CTEs ``sv`` (valid likert5 answers) and ``sc`` (component scores) over ``source``,
    a SELECT of (response_id, period, question_id, value_int); join them into a WITH list."""
    return _CTES.format(source=source)


def score_insert() -> str:
    """INSERT INTO response_score ... SELECT from ``sv`` and ``sc`` (see :func:`score_ctes`)."""
    return _INSERT


def score_statement(source: str) -> str:
    """One statement writing the score rows of every response in ``source``."""
    return f"WITH {score_ctes(source)} {score_insert()}"


_DELETE = text("DELETE FROM response_score WHERE response_id IN :ids").bindparams(
    bindparam("ids", expanding=True))
_WRITE = text(score_statement(ANSWERS_OF.format(where=" WHERE a.response_id IN :ids"))).bindparams(
    bindparam("ids", expanding=True))
CHUNK = 5_000


def write_scores(conn: Any, response_ids: Iterable[int]) -> None:
    """(Re)write the score rows of these stored responses from their answers.

    ``conn``: a Connection or Session; runs in its transaction.  For writers that insert
    answers without the ORM (demo data, bulk imports).
    """
    ids = sorted(set(response_ids))
    if ids:
        ensure_measures(conn)
    for lo in range(0, len(ids), CHUNK):
        chunk = ids[lo:lo + CHUNK]
        conn.execute(_DELETE, {"ids": chunk})
        conn.execute(_WRITE, {"ids": chunk})


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

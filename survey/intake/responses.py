"""Storing a citizen's submission: one transaction, exactly once per idempotency key.

The same transaction marks a per-dossier link used and records the dossier in used_dossier, so a
link gives one response and a dossier one response per survey, and neither table says which
response is the dossier's (DESIGN.md §7). The response keeps its status ('quarantined' when it
carries any flag), its flags and whether it came through a link, never the link or the dossier.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Protocol, cast

from sqlalchemy import DateTime, String, Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from survey.catalog.periods import period_of
from survey.indices import scores
from survey.intake import citizen_connection
from survey.intake.anonymity import dossier_hash, to_the_hour
from survey.intake.place import COUNTER_UNCHANGED
from survey.models import Answer, Counter, DossierLink, Response, Survey, SurveyVersion

__all__ = ["AnswerValue", "CounterCheck", "DuplicateDossier", "LinkUsed", "PlaceChanged", "Stored", "Submission",
           "dossier_hash", "store"]

RESPONSE = cast(Table, Response.__table__)
ANSWER = Answer.__table__
VERSION = cast(Table, SurveyVersion.__table__)
LINK = cast(Table, DossierLink.__table__)
COUNTER = cast(Table, Counter.__table__)
SURVEY = cast(Table, Survey.__table__)
USED_DOSSIER_KEY = "pk_used_dossier"


class DuplicateDossier(Exception):
    """This dossier already has a response in this survey (nothing was stored)."""


class LinkUsed(Exception):
    """The per-dossier link was used already or has expired (nothing was stored)."""


class PlaceChanged(Exception):
    """The counter no longer opens the form as when it was looked up (retired, its QR code
    rotated, moved to another unit; the survey closed or switched to or from the short form):
    nothing was stored. The caller looks the token up again, which says why."""


@dataclass(frozen=True)
class CounterCheck:
    """Store only while the counter still opens the form as it did when the caller looked it up
    (a per-worker cache of the place, survey/public/views.py): checked in the storing statement
    itself, so a counter retired or a survey closed a moment ago is refused as by a fresh lookup,
    without a lookup of its own on every submission."""

    token_version: int
    short_form: bool


@dataclass(frozen=True)
class AnswerValue:
    question_id: int
    value_int: int | None = None
    value_text: str | None = None
    na: bool = False


class VersionLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def survey_id(self) -> int: ...
    @property
    def frozen(self) -> bool: ...  # False when unsure: then the first response freezes it


@dataclass(frozen=True)
class Submission:
    version: VersionLike
    unit_id: int
    counter_id: int | None  # None for a campaign's unit link
    channel: str
    idempotency_key: str
    answers: tuple[AnswerValue, ...]
    service_field: str | None = None
    dossier_code: str | None = None  # typed on the open form
    # anonymity.client_hash of the phone's address (computed once by the caller, which also
    # hands it to the stuffing signals).
    client_hash: str | None = None
    verified: bool = False  # came through a per-dossier link
    # The link to mark used; its dossier goes to used_dossier (the link's hash, not dossier_code).
    dossier_link_id: int | None = None
    flags: tuple[str, ...] = ()  # reason codes: any flag stores the response quarantined
    # A counter's submission whose place came from a cache: re-checked as it is stored. Not with a
    # link or a dossier code (their steps come first in the statement and would outlive a refusal).
    recheck: CounterCheck | None = None


@dataclass(frozen=True)
class Stored:
    response_id: int
    created: bool


_RESPONSE_COLUMNS = ("survey_id", "survey_version_id", "counter_id", "unit_id", "submitted_at", "period",
                     "channel", "idempotency_key", "service_field", "client_hash", "status", "flags",
                     "verified")

# Statements built once (each memoizes its cache key): a submission only binds values.
_INSERT_RESPONSE = (
    insert(RESPONSE).values({name: bindparam(name) for name in _RESPONSE_COLUMNS}).returning(RESPONSE.c.id)
)
_FREEZE = (
    update(VERSION)
    .where(VERSION.c.id == bindparam("version_id"), VERSION.c.frozen.is_(False))
    .values(frozen=True)
)
_EXISTING = select(RESPONSE.c.id).where(RESPONSE.c.idempotency_key == bindparam("key"))
_USE_LINK = (
    update(LINK)
    .where(LINK.c.id == bindparam("link_id"), LINK.c.used.is_(False),
           LINK.c.expires_at > bindparam("now", type_=DateTime(timezone=True)))
    .values(used=True)
)
# SQLite parses "INSERT ... SELECT ... ON CONFLICT" only with a WHERE in the SELECT: both have one.
_LINK_DOSSIER = text("INSERT INTO used_dossier (survey_id, dossier_hash) SELECT survey_id, dossier_hash "
                     "FROM dossier_link WHERE id = :link_id ON CONFLICT DO NOTHING")
# The score rows of the response just stored, in the same transaction (indices/scores.py).
_SCORES = text(scores.score_statement(scores.ANSWERS_OF.format(where=" WHERE a.response_id = :response_id"),
                                     "sqlite"))
_TYPED_DOSSIER = text("INSERT INTO used_dossier (survey_id, dossier_hash) SELECT :survey_id, :dossier_hash "
                      "WHERE true ON CONFLICT DO NOTHING")


# PostgreSQL: the response and all its answers in one statement, so in autocommit it is one
# transaction and one round trip (parsed once, then prepared by psycopg): the answers travel as
# four arrays, unnested into rows. The version's first response also freezes it (DESIGN §3), in
# the same statement; once frozen (nearly always) the statement without that part is used.
# A link or a dossier code adds steps before the response: `l` marks the link used (no row when
# used or expired: then nothing else is written either, every later step reads FROM it), `d`
# records the dossier. A dossier rated before makes `d` violate used_dossier's primary key, which
# fails the whole statement, so a link is never marked used without its response (every part of
# a data-modifying WITH runs to completion, so "do nothing" there would keep the link update).
def _pg_type(column: str) -> str:
    kind = RESPONSE.c[column].type
    # No length on the cast: CAST to VARCHAR(n) would cut a long value silently, the column errs.
    return "VARCHAR" if isinstance(kind, String) else kind.compile(dialect=postgresql.dialect())


# A cached place re-checked in the storing statement: place.COUNTER_UNCHANGED, the same rule
# (place.counter_opens_clause) the lookup that opens a form applies, with the unit, QR token
# version and short form the place was cached with. Compiled once for PostgreSQL with :name
# parameters, to sit in the text statement; its own literals ('open') go with the parameters.
def _recheck_cte() -> tuple[str, dict]:
    compiled = COUNTER_UNCHANGED.compile(dialect=PGDialect(paramstyle="named"))  # no ::casts for text()
    constants = {name: value for name, value in compiled.params.items() if value is not None}
    return f"g AS ({compiled})", constants


_RECHECK_CTE, _RECHECK_CONSTANTS = _recheck_cte()


@lru_cache(maxsize=16)
def _pg_statement(link: bool, dossier: bool, freeze: bool, recheck: bool = False):
    ctes, gates = [], []
    if link:
        ctes.append("l AS (UPDATE dossier_link SET used = true WHERE id = :dossier_link_id AND used = false "
                    "AND expires_at > :now RETURNING survey_id, dossier_hash)")
        ctes.append("d AS (INSERT INTO used_dossier (survey_id, dossier_hash) SELECT survey_id, dossier_hash "
                    "FROM l RETURNING 1 AS ok)")
        gates.append("d")
    elif dossier:
        ctes.append("d AS (INSERT INTO used_dossier (survey_id, dossier_hash) VALUES (:survey_id, :dossier_hash) "
                    "RETURNING 1 AS ok)")
        gates.append("d")
    if recheck:  # the counter still opens this survey's form (CounterCheck): no row, nothing stored
        ctes.append(_RECHECK_CTE)
        gates.append("g")  # with, never instead of, the link's gate: each must let the response through
    columns = ", ".join(_RESPONSE_COLUMNS)
    # `k` first: the idempotency key, unique across periods in response_key (response is
    # partitioned by period, where a unique key can only be per period: migration i15b_parts).
    # A repeated key fails the whole statement, as the unique key of response did before.
    ctes.append("k AS (INSERT INTO response_key (idempotency_key, period, response_id) SELECT "
                "CAST(:idempotency_key AS VARCHAR), CAST(:period AS VARCHAR), nextval('response_id_seq')"
                + (" FROM " + ", ".join(gates) if gates else "") + " RETURNING response_id)")
    # typed, since a SELECT list does not take its types from the target columns
    values = ("SELECT k.response_id, " + ", ".join(f"CAST(:{c} AS {_pg_type(c)})" for c in _RESPONSE_COLUMNS)
              + " FROM k")
    ctes.append(f"r AS (INSERT INTO response (id, {columns}) {values} RETURNING id)")
    ctes.append("a AS (INSERT INTO answer (response_id, period, question_id, value_int, value_text, na) "
                "SELECT r.id, CAST(:period AS VARCHAR), x.q, x.i, x.t, x.n FROM r, "
                "unnest(CAST(:question_ids AS INTEGER[]), CAST(:value_ints AS SMALLINT[]), "
                "CAST(:value_texts AS TEXT[]), CAST(:nas AS BOOLEAN[])) "
                "AS x(q, i, t, n))")
    # Score once, here: the response's score rows from the same answer arrays (indices/scores.py).
    ctes.append(scores.score_ctes("SELECT r.id AS response_id, CAST(:period AS VARCHAR) AS period, x.q AS "
                                  "question_id, x.i AS value_int FROM r, unnest(CAST(:question_ids AS INTEGER[]), "
                                  "CAST(:value_ints AS SMALLINT[])) AS x(q, i)"))
    ctes.append(f"s AS ({scores.score_insert()})")
    if freeze:
        ctes.append("f AS (UPDATE survey_version SET frozen = true WHERE id = :survey_version_id "
                    "AND frozen = false AND EXISTS (SELECT 1 FROM r))")
    outer = ["(SELECT id FROM r)", "(SELECT count(*) FROM l)" if link else "1"]
    return text("WITH " + ", ".join(ctes) + " SELECT " + ", ".join(outer))


@lru_cache(maxsize=64)
def _insert_answers(count: int):
    """One multi-row INSERT for `count` answers (one statement, not `count` executions).

    Written as text: SQLAlchemy does not cache the compiled form of a multi-VALUES insert(), and
    every value here is a plain int, str, bool or None on both SQLite and PostgreSQL.
    """
    rows = ", ".join(f"(:response_id, :period, :q{i}, :i{i}, :t{i}, :n{i})" for i in range(count))
    return text(f"INSERT INTO answer (response_id, period, question_id, value_int, value_text, na) VALUES {rows}")


# The answer arrays go as PostgreSQL array literals written here, which the statement's CASTs
# read: psycopg's list dumper is pure Python and cost ~100 µs a response, half the client side
# of the whole statement (profiled under bench/load.py).
def _int_array(values: list[int | None]) -> str:
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def _text_array(values: list[str | None]) -> str:
    # Every element quoted (so "NULL", commas, braces and spaces stay text), \ and " escaped.
    return "{" + ",".join("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"


def _insert_pg(row: dict, sub: Submission, hashed_dossier: str | None, now: datetime) -> int:
    statement = _pg_statement(sub.dossier_link_id is not None, hashed_dossier is not None,
                              not sub.version.frozen, sub.recheck is not None)
    params = {
        **row,
        "question_ids": _int_array([a.question_id for a in sub.answers]),
        "value_ints": _int_array([a.value_int for a in sub.answers]),
        "value_texts": _text_array([a.value_text for a in sub.answers]),
        "nas": "{" + ",".join("t" if a.na else "f" for a in sub.answers) + "}",
    }
    if sub.dossier_link_id is not None:
        params.update(dossier_link_id=sub.dossier_link_id, now=now)
    elif hashed_dossier is not None:
        params["dossier_hash"] = hashed_dossier
    if sub.recheck is not None:
        params.update(_RECHECK_CONSTANTS, token_version=sub.recheck.token_version,
                      short_form=sub.recheck.short_form, now=now)
    try:
        response_id, link_ok = cast(tuple, citizen_connection.first(statement, params))  # RETURNING: one row
    except IntegrityError as error:
        if getattr(getattr(error.orig, "diag", None), "constraint_name", None) == USED_DOSSIER_KEY:
            raise DuplicateDossier() from None
        raise
    if not link_ok:
        raise LinkUsed()
    if response_id is None:  # the re-check found no open counter: nothing was written
        raise PlaceChanged()
    return response_id


def _insert_sqlite(conn: Connection, row: dict, sub: Submission, hashed_dossier: str | None,
                   now: datetime) -> int:
    # Runs inside one transaction (CitizenConnection.transaction): an exception undoes it all.
    if sub.recheck is not None and not _still_open(conn, row, sub.recheck, now):
        raise PlaceChanged()
    if sub.dossier_link_id is not None:
        if conn.execute(_USE_LINK, {"link_id": sub.dossier_link_id, "now": now}).rowcount != 1:
            raise LinkUsed()
        if conn.execute(_LINK_DOSSIER, {"link_id": sub.dossier_link_id}).rowcount != 1:
            raise DuplicateDossier()
    elif hashed_dossier is not None:
        if conn.execute(_TYPED_DOSSIER, {"survey_id": row["survey_id"], "dossier_hash": hashed_dossier}).rowcount != 1:
            raise DuplicateDossier()
    response_id = conn.execute(_INSERT_RESPONSE, row).scalar_one()
    if sub.answers:
        params: dict = {"response_id": response_id, "period": row["period"]}
        for i, a in enumerate(sub.answers):
            params[f"q{i}"] = a.question_id
            params[f"i{i}"] = a.value_int
            params[f"t{i}"] = a.value_text
            params[f"n{i}"] = a.na
        conn.execute(_insert_answers(len(sub.answers)), params)
        conn.execute(_SCORES, {"response_id": response_id})
    if not sub.version.frozen:
        # Matches no row once frozen, so it takes no lock on the version row.
        conn.execute(_FREEZE, {"version_id": sub.version.id})
    return response_id


def _still_open(conn: Connection, row: dict, check: CounterCheck, now: datetime) -> bool:
    """SQLite's _RECHECK_CTE (the same place.COUNTER_UNCHANGED), in the store's transaction."""
    return conn.execute(COUNTER_UNCHANGED, {
        "survey_id": row["survey_id"], "counter_id": row["counter_id"], "unit_id": row["unit_id"],
        "token_version": check.token_version, "short_form": check.short_form, "now": now}).first() is not None


def store(sub: Submission, now: datetime | None = None) -> Stored:
    """Store a submission with its answers in one transaction, or find the one already stored.

    Status 'quarantined' when `sub.flags` has any code, else 'counted'. Raises LinkUsed when the
    per-dossier link was used or has expired, DuplicateDossier when the dossier was rated before
    in this survey, PlaceChanged when `sub.recheck` fails; nothing is stored then. Any database
    error leaves nothing behind: the caller re-shows the form with the answers kept.

    Optimistic: the unique idempotency key decides. A new key (nearly every submission) costs one
    autocommit statement on PostgreSQL (a few statements in one transaction on SQLite), on the
    citizen connection; a repeated key (double tap, back button, retry after a lost reply) is
    refused by the database, or by the link or dossier it already used, and finds the response
    already stored, whatever its status. Prebuilt Core statements, not the ORM unit of work:
    nothing here needs objects back. `sub.version.frozen` False (or unknown) also freezes the
    version in the same transaction.
    """
    now = now or datetime.now(timezone.utc)
    if sub.recheck is not None and (sub.counter_id is None or sub.dossier_link_id is not None or sub.dossier_code):
        raise ValueError("a re-checked submission is a counter's, without a link or a dossier code")
    survey_id = sub.version.survey_id
    hashed_dossier = dossier_hash(survey_id, sub.dossier_code) if sub.dossier_code else None
    row = {
        "survey_id": survey_id,
        "survey_version_id": sub.version.id,
        "counter_id": sub.counter_id,
        "unit_id": sub.unit_id,
        "submitted_at": to_the_hour(now),
        "period": period_of(now),  # from the exact time: an hour never straddles two periods anyway
        "channel": sub.channel,
        "idempotency_key": sub.idempotency_key,
        "service_field": sub.service_field,
        "client_hash": sub.client_hash,
        "status": "quarantined" if sub.flags else "counted",
        "flags": ",".join(sub.flags) or None,
        "verified": sub.verified,
    }
    connection = citizen_connection.citizen_connection()
    try:
        if connection.driver_level:
            response_id = _insert_pg(row, sub, hashed_dossier, now)
        else:
            response_id = connection.transaction(lambda conn: _insert_sqlite(conn, row, sub, hashed_dossier, now))
    except (IntegrityError, LinkUsed, DuplicateDossier):
        found = citizen_connection.first(_EXISTING, {"key": sub.idempotency_key})
        if found is not None:  # stored before, or a concurrent duplicate (double tap) won the race
            return Stored(found[0], created=False)
        raise
    return Stored(response_id, created=True)

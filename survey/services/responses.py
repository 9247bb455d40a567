"""Storing a citizen's submission: one transaction, exactly once per idempotency key."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol
from datetime import datetime, timezone
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from survey.models import Answer, Response, SurveyVersion
from survey.models.integrity import DossierLink, UsedDossier
from survey.extensions import db
from survey.services import citizen_connection
from survey.services.periods import period_of

RESPONSE = Response.__table__
ANSWER = Answer.__table__
VERSION = SurveyVersion.__table__
LINK = DossierLink.__table__
USED_DOSSIER = UsedDossier.__table__


class DuplicateDossier(Exception):
    """This dossier already has a response in this survey."""


class LinkUsed(Exception):
    """The one-time dossier link was used already, or has expired (nothing was stored)."""


@dataclass(frozen=True)
class AnswerValue:
    question_id: int
    value_int: int | None = None
    value_text: str | None = None
    na: bool = False


class VersionLike(Protocol):
    id: int
    survey_id: int
    frozen: bool  # False when unsure: then the first response freezes it


@dataclass(frozen=True)
class Submission:
    version: VersionLike
    unit_id: int
    counter_id: int | None  # None for a campaign's unit link
    channel: str
    idempotency_key: str
    answers: tuple[AnswerValue, ...]
    service_field: str | None = None
    dossier_code: str | None = None
    client_address: str | None = None
    # Came through a one-time dossier link (DESIGN.md §7); the link is marked used in the same
    # transaction and its id is NOT stored with the response (anonymity against the rated unit).
    verified: bool = False
    dossier_link_id: int | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stored:
    response_id: int
    created: bool


def _keyed_hash(*parts: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def dossier_hash(survey_id: int, dossier_code: str) -> str:
    # Case and spacing are how people mistype the same dossier code, not different dossiers.
    return _keyed_hash("dossier", str(survey_id), dossier_code.strip().upper())


_RESPONSE_COLUMNS = ("survey_id", "survey_version_id", "counter_id", "unit_id", "submitted_at", "period",
                     "channel", "idempotency_key", "service_field", "dossier_hash", "client_hash",
                     "status", "flags", "verified")

# Statements built once (each memoizes its cache key): a submission only binds values.
_INSERT_RESPONSE = (
    insert(RESPONSE).values({name: bindparam(name) for name in _RESPONSE_COLUMNS}).returning(RESPONSE.c.id)
)
# PostgreSQL: the response and all its answers in one statement, so in autocommit it is one
# transaction and one round trip (parsed once, then prepared by psycopg): the answers travel as
# four arrays, unnested into rows. The version's first response also freezes it (DESIGN §3), in
# the same statement; once frozen (nearly always) the statement without that part is used.
_PG_RESPONSE = (
    "r AS (INSERT INTO response (" + ", ".join(_RESPONSE_COLUMNS) + ") VALUES ("
    + ", ".join(":" + c for c in _RESPONSE_COLUMNS) + ") RETURNING id), "
    "a AS (INSERT INTO answer (response_id, question_id, value_int, value_text, na) "
    "SELECT r.id, x.q, x.i, x.t, x.n FROM r, unnest(CAST(:question_ids AS INTEGER[]), "
    "CAST(:value_ints AS SMALLINT[]), CAST(:value_texts AS TEXT[]), CAST(:nas AS BOOLEAN[])) "
    "AS x(q, i, t, n)) "
)
_INSERT_BOTH_PG = text("WITH " + _PG_RESPONSE + "SELECT id FROM r")
_INSERT_BOTH_AND_FREEZE_PG = text(
    "WITH " + _PG_RESPONSE + ", f AS (UPDATE survey_version SET frozen = true "
    "WHERE id = :survey_version_id AND frozen = false) SELECT id FROM r"
)
_FREEZE = (
    update(VERSION)
    .where(VERSION.c.id == bindparam("version_id"), VERSION.c.frozen.is_(False))
    .values(frozen=True)
)
_EXISTING = select(RESPONSE.c.id).where(RESPONSE.c.idempotency_key == bindparam("key"))
# A dossier link is usable once, until it expires: the UPDATE decides, under the row's lock.
_USE_LINK = (
    update(LINK)
    .where(LINK.c.id == bindparam("link_id"), LINK.c.used.is_(False), LINK.c.expires_at > bindparam("now"))
    .values(used=True)
)
_USED_DOSSIER_OF_LINK = insert(USED_DOSSIER).from_select(
    ["survey_id", "dossier_hash"],
    select(LINK.c.survey_id, LINK.c.dossier_hash).where(LINK.c.id == bindparam("link_id")),
)


@lru_cache(maxsize=64)
def _insert_answers(count: int):
    """One multi-row INSERT for `count` answers (one statement, not `count` executions).

    Written as text: SQLAlchemy does not cache the compiled form of a multi-VALUES insert(), and
    every value here is a plain int, str, bool or None on both SQLite and PostgreSQL.
    """
    rows = ", ".join(f"(:response_id, :q{i}, :i{i}, :t{i}, :n{i})" for i in range(count))
    return text(f"INSERT INTO answer (response_id, question_id, value_int, value_text, na) VALUES {rows}")


def _insert_pg(row: dict, sub: Submission) -> int:
    statement = _INSERT_BOTH_PG if sub.version.frozen else _INSERT_BOTH_AND_FREEZE_PG
    return citizen_connection.first(statement, {
        **row,
        "question_ids": [a.question_id for a in sub.answers],
        "value_ints": [a.value_int for a in sub.answers],
        "value_texts": [a.value_text for a in sub.answers],
        "nas": [a.na for a in sub.answers],
    })[0]


def _insert_sqlite(conn: Connection, row: dict, sub: Submission) -> int:
    # Runs inside one transaction (CitizenConnection.transaction).
    response_id = conn.execute(_INSERT_RESPONSE, row).scalar_one()
    if sub.answers:
        params: dict = {"response_id": response_id}
        for i, a in enumerate(sub.answers):
            params[f"q{i}"] = a.question_id
            params[f"i{i}"] = a.value_int
            params[f"t{i}"] = a.value_text
            params[f"n{i}"] = a.na
        conn.execute(_insert_answers(len(sub.answers)), params)
    if not sub.version.frozen:
        # Matches no row once frozen, so it takes no lock on the version row.
        conn.execute(_FREEZE, {"version_id": sub.version.id})
    return response_id


def store(sub: Submission, now: datetime | None = None) -> Stored:
    """Store a submission with its answers in one transaction, or find the one already stored.

    Raises DuplicateDossier when the dossier code was used before in this survey. Any database
    error leaves nothing behind: the caller re-shows the form with the answers kept.

    Optimistic: the unique idempotency key decides. A new key (nearly every submission) costs one
    autocommit statement on PostgreSQL (two statements in a transaction on SQLite), on the
    citizen connection; a repeated key (double tap, back button, retry after a lost reply) fails
    the INSERT and finds the response already stored. Prebuilt Core statements, not the ORM unit
    of work: nothing here needs objects back. `sub.version.frozen` False (or unknown) also
    freezes the version in the same transaction.
    """
    now = now or datetime.now(timezone.utc)
    survey_id = sub.version.survey_id
    hashed_dossier = dossier_hash(survey_id, sub.dossier_code) if sub.dossier_code else None
    client = (
        _keyed_hash("client", now.date().isoformat(), sub.client_address)
        if sub.client_address
        else None
    )
    row = {
        "survey_id": survey_id,
        "survey_version_id": sub.version.id,
        "counter_id": sub.counter_id,
        "unit_id": sub.unit_id,
        "submitted_at": now,
        "period": period_of(now),
        "channel": sub.channel,
        "idempotency_key": sub.idempotency_key,
        "service_field": sub.service_field,
        "dossier_hash": hashed_dossier,
        "client_hash": client,
        "status": "quarantined" if sub.flags else "counted",
        "flags": ",".join(sub.flags) or None,
        "verified": sub.verified,
    }
    if sub.dossier_link_id is not None:
        return _store_through_link(row, sub, now)
    connection = citizen_connection.citizen_connection()
    try:
        if connection.driver_level:
            response_id = _insert_pg(row, sub)
        else:
            response_id = connection.transaction(lambda conn: _insert_sqlite(conn, row, sub))
    except IntegrityError:
        found = citizen_connection.first(_EXISTING, {"key": sub.idempotency_key})
        if found is not None:  # stored before, or a concurrent duplicate (double tap) won the race
            return Stored(found[0], created=False)
        if hashed_dossier is not None:
            raise DuplicateDossier() from None
        raise
    return Stored(response_id, created=True)


def _store_through_link(row: dict, sub: Submission, now: datetime) -> Stored:
    """Mark the link used, note its dossier as rated, store the response: one transaction.

    A rare path (one per dossier slip), so an ordinary pooled transaction on both backends. The
    response row gets nothing of the link (neither its id nor the dossier hash).
    """
    with db.engine.begin() as conn:
        if conn.execute(_USE_LINK, {"link_id": sub.dossier_link_id, "now": now}).rowcount != 1:
            raise LinkUsed()
        try:  # the dossier was rated already (a typed code, or another link): roll back all
            conn.execute(_USED_DOSSIER_OF_LINK, {"link_id": sub.dossier_link_id})
        except IntegrityError:
            raise DuplicateDossier() from None
        response_id = _insert_sqlite(conn, row, sub)
    return Stored(response_id, created=True)

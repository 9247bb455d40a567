"""Storing a citizen's submission: one transaction, exactly once per idempotency key."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import Answer, Response, SurveyVersion
from survey.services.periods import period_of

RESPONSE = Response.__table__
ANSWER = Answer.__table__
VERSION = SurveyVersion.__table__


class DuplicateDossier(Exception):
    """This dossier already has a response in this survey."""


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


def _existing(key: str) -> int | None:
    return db.session.scalar(select(RESPONSE.c.id).where(RESPONSE.c.idempotency_key == key))


def store(sub: Submission, now: datetime | None = None) -> Stored:
    """Store a submission with its answers in one transaction, or find the one already stored.

    Raises DuplicateDossier when the dossier code was used before in this survey. Any database
    error leaves nothing behind: the caller re-shows the form with the answers kept.

    Optimistic: the unique idempotency key decides. A new key (nearly every submission) costs two
    INSERTs and the COMMIT; a repeated one (double tap, back button, retry) fails the INSERT and
    finds the response already stored. Core statements, not the ORM unit of work: nothing here
    needs objects back.
    """
    now = now or datetime.now(timezone.utc)
    survey_id = sub.version.survey_id
    hashed_dossier = dossier_hash(survey_id, sub.dossier_code) if sub.dossier_code else None
    client = (
        _keyed_hash("client", now.date().isoformat(), sub.client_address)
        if sub.client_address
        else None
    )
    try:
        response_id = db.session.execute(
            insert(RESPONSE)
            .values(
                survey_id=survey_id,
                survey_version_id=sub.version.id,
                counter_id=sub.counter_id,
                unit_id=sub.unit_id,
                submitted_at=now,
                period=period_of(now),
                channel=sub.channel,
                idempotency_key=sub.idempotency_key,
                service_field=sub.service_field,
                dossier_hash=hashed_dossier,
                client_hash=client,
            )
            .returning(RESPONSE.c.id)
        ).scalar_one()
        if sub.answers:
            db.session.execute(
                insert(ANSWER),
                [
                    {
                        "response_id": response_id,
                        "question_id": a.question_id,
                        "value_int": a.value_int,
                        "value_text": a.value_text,
                        "na": a.na,
                    }
                    for a in sub.answers
                ],
            )
        if not sub.version.frozen:
            # The version's first response freezes it (DESIGN §3). Matches no row once frozen,
            # so it takes no lock on the version row; skipped when the caller knows it is.
            db.session.execute(
                update(VERSION)
                .where(VERSION.c.id == sub.version.id, VERSION.c.frozen.is_(False))
                .values(frozen=True)
            )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        found = _existing(sub.idempotency_key)
        if found is not None:  # stored before, or a concurrent duplicate (double tap) won the race
            return Stored(found, created=False)
        if hashed_dossier is not None:
            raise DuplicateDossier() from None
        raise
    except Exception:
        db.session.rollback()
        raise
    return Stored(response_id, created=True)

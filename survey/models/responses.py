"""What citizens submit, and the service volumes that weight it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from survey.extensions import Model

# A response's scores (ResponseScore.ys): double precision array; SQLite: JSON text.
SCORES = ARRAY(Float()).with_variant(Text(), "sqlite")

CHANNELS = ("qr", "kiosk", "link")
# counted: in every figure. quarantined: stored with its reasons (Response.flags) but in no figure
# until an analyst of Sở Nội vụ releases it. rejected: an analyst kept it out (reversible; kept
# until `flask purge` applies the retention period).
STATUSES = ("counted", "quarantined", "rejected")
COUNTED, QUARANTINED, REJECTED = STATUSES


class Response(Model):
    __tablename__ = "response"
    __table_args__ = (
        Index("ix_response_unit_period", "unit_id", "period"),
        Index("ix_response_status", "status"),
        # Flagged responses for the review page (most rows have NULL flags).
        Index("ix_response_flags", "flags"),
        # Ids are never reused (SQLite would otherwise hand out a deleted greatest id again): the
        # rollup's watermark says "every id up to here is folded" (indices/rollups.py).
        # PostgreSQL draws them from a sequence.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    # Truncated to the hour: an exact time and the counter could be joined with the one-stop
    # system's log of who was served when.
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Reporting period in Vietnam time ("2026-H1"), fixed at submission so GROUP BY needs no
    # timezone arithmetic that differs between SQLite and PostgreSQL.
    period: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Service field (lĩnh vực) the citizen came for: with unit and period, the weighting stratum.
    service_field: Mapped[str | None] = mapped_column(String(32))
    # No dossier hash: one response per dossier is kept by used_dossier, which does not say which
    # response is the dossier's (anonymity against the rated unit, DESIGN.md §7).
    # HMAC of the client address under that day's random salt (client_salt, deleted after the
    # day): spots stuffing within a day, and cannot be recomputed once the salt is gone.
    client_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="counted", server_default="counted")
    # Why it was quarantined: reason codes joined by "," (rules in DESIGN.md §7).
    flags: Mapped[str | None] = mapped_column(String(255))
    # Came through a one-time per-dossier link (the verified channel, DESIGN.md §7).
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(Model):
    __tablename__ = "answer"

    response_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("response.id", ondelete="CASCADE"),
        primary_key=True,
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), primary_key=True, index=True)
    # The response's period, copied when the answer is stored: the partition key on PostgreSQL,
    # where the primary key is (response_id, question_id, period) and each answer partition has
    # a foreign key (response_id, period) to its period's response partition (migration
    # i15b_parts, survey/partitions.py).
    # Set from the response by the ORM hook below when a writer leaves it out.
    period: Mapped[str] = mapped_column(String(8))
    # 1..5 for likert5, 0/1 for yesno; NULL with na=True for "không áp dụng / không biết".
    value_int: Mapped[int | None] = mapped_column(SmallInteger)
    value_text: Mapped[str | None] = mapped_column(Text)
    na: Mapped[bool] = mapped_column(Boolean, default=False)

    response: Mapped[Response] = relationship(back_populates="answers")


@event.listens_for(Answer, "before_insert")
def _answer_period(_mapper, connection, answer: Answer) -> None:
    """An answer added through the ORM takes its response's period (the partition key)."""
    if answer.period is None:
        response = answer.__dict__.get("response")  # no lazy load inside the flush
        answer.period = response.period if response is not None else connection.scalar(
            select(Response.period).where(Response.id == answer.response_id))


# The global idempotency key of a response added through the ORM (tests, scripts): on PostgreSQL
# response is partitioned and response_key holds the key's uniqueness across periods (migration
# i15b_parts); the citizen store and the bulk writers insert it themselves.
_KEY = text("INSERT INTO response_key (idempotency_key, period, response_id) VALUES (:k, :p, :i)")


@event.listens_for(Response, "after_insert")
def _response_key(_mapper, connection, response: Response) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_KEY, {"k": response.idempotency_key, "p": response.period, "i": response.id})


class ResponseScore(Model):
    """A response's value of every measure, one row written when the response is stored (same
    statement; indices/scores.py).

    ``ys[k]`` is its value of the measure whose rollup_measure id (models/rollups.py: kind and
    code) is k, NULL when it has none; the array ends at its highest measure.  Kind 1 (item): y =
    the 1-5 answer (satisfied = y >= 4); kind 2 (component): the share of the response's valid
    items in it rated 4-5; kind 3 ('overall'): the equal-weight mean of its component scores.
    One row per response, not one per measure: the fold and the live tail sum each measure
    with its own aggregate in one GROUP BY per stratum (migration i16a_wide says why).
    PostgreSQL: ``float8[]``; SQLite: a JSON array as text (indices/scores.py ``score_at`` reads
    either).  Rows exist for every response with a likert5 value, whatever its status: sums
    join response and keep only counted ones.  ``period`` is the response's, so this table can
    be partitioned by period with response.
    """

    __tablename__ = "response_score"

    # No foreign key: its check cost 20 µs per row (and most of a backfill); every writer
    # deletes a response's score row with its answers (retention, demo data, the ORM hook in
    # indices/scores.py).
    response_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    ys: Mapped[Any] = mapped_column(SCORES, nullable=False)


class ServiceVolume(Model):
    """Dossiers a unit handled in a field and period: the basis of w = dossiers_h / responses_h."""

    __tablename__ = "service_volume"
    __table_args__ = (UniqueConstraint("unit_id", "period", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    period: Mapped[str] = mapped_column(String(8))
    field: Mapped[str] = mapped_column(String(32))
    dossiers: Mapped[int] = mapped_column(Integer)

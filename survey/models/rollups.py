"""Pre-summed answers per weighting stratum, so index tables never rescan every response.

A response is folded in once: each survey's watermark (``RollupState.folded_to``) and its few late
changes (``RollupLate``) say which counted responses the sums hold; index queries read these rows
plus a live GROUP BY over the others, so results are exact whether or not the rollup is current.
See survey/indices/rollups.py.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import Model

KIND_ITEM, KIND_COMPONENT, KIND_OVERALL = 1, 2, 3


class RollupStratum(Model):
    """Responses folded so far per survey x unit x period x raw service field ('' = none)."""

    __tablename__ = "rollup_stratum"
    __table_args__ = (UniqueConstraint("survey_id", "unit_id", "period", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    period: Mapped[str] = mapped_column(String(8))
    field: Mapped[str] = mapped_column(String(32))
    responses: Mapped[int] = mapped_column(BigInteger)


class RollupMeasure(Model):
    """What a cell sums: an item (by code), a component score, or the overall score."""

    __tablename__ = "rollup_measure"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str] = mapped_column(String(32))


class RollupCell(Model):
    """Count, satisfied count (items: answers 4-5), sum and sum of squares of one measure."""

    __tablename__ = "rollup_cell"
    # Every unit's cells of one measure (a unit's standing: the overall score's cells of all
    # units) without reading the other ~26 measures' rows: an index-only scan on PostgreSQL.
    __table_args__ = (Index("ix_rollup_cell_measure", "measure_id", "stratum_id",
                            postgresql_include=["n", "sat", "s1", "s2"]),)

    # No foreign keys: only refresh() and reset() write these rows, and the FK triggers cost
    # as much as the whole GROUP BY when a refresh adds ~1 million cells.
    stratum_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    sat: Mapped[int] = mapped_column(BigInteger)
    s1: Mapped[float] = mapped_column(Float)
    s2: Mapped[float] = mapped_column(Float)


def new_version() -> int:
    """A rollup version: random (1..2^63-1), never a counter.  A reset deletes the state row,
    and a counter started again would repeat a version some worker's cache still holds; so
    would two databases (tests, a restored copy) read by one process."""
    return secrets.randbits(63) or 1


class RollupState(Model):
    """What a survey's rollup holds: every counted response with id <= ``folded_to`` except its
    late ones (RollupLate), summed with ``component_weights`` (overall scores are not additive
    in the weights, so a change of weights means a rebuild).  No row: nothing folded."""

    __tablename__ = "rollup_state"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), primary_key=True)
    component_weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The watermark: a fold moves it past every response id drawn and settled (rollups.refresh).
    folded_to: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # Changed (rollups.changed) in the transaction of every write of the survey's rollup strata
    # and cells, so a reader that holds them for this version knows they are still the same
    # (rollup_read's cache).  0 (rows written by plain SQL): unknown, never cached.
    version: Mapped[int] = mapped_column(BigInteger, default=new_version, server_default=text("0"))


class RollupLate(Model):
    """A response under its survey's watermark that is counted but not in the sums: it became
    counted after the fold passed it (quarantine released).  In the live tail until the next
    fold adds it and deletes this row; deleted too if it leaves 'counted' again."""

    __tablename__ = "rollup_late"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), primary_key=True)
    # No foreign key: response's key is (id, period) on PostgreSQL (partitioned by period).
    response_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)

"""Per-dossier one-time links (the verified channel), used dossiers and the daily client salt.

None of these tables joins to a response: a used link or dossier says only that a dossier has
been rated in a survey, never which response is its (DESIGN.md §7, anonymity against the rated
unit).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from survey.extensions import Model


class DossierLink(Model):
    """A signed one-time link printed on a dossier's receipt or result slip (or sent by SMS/Zalo)."""

    __tablename__ = "dossier_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"))
    # Keyed hash of the dossier code (the code itself is never stored).
    dossier_hash: Mapped[str] = mapped_column(String(64), index=True)
    service_field: Mapped[str | None] = mapped_column(String(32))
    procedure_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Used, not when: a time of use could be joined with the response's hour.
    used: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class UsedDossier(Model):
    """One response per dossier and survey, without the response knowing its dossier."""

    __tablename__ = "used_dossier"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), primary_key=True)
    dossier_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class ClientSalt(Model):
    """The salt of one day's client hashes; `flask purge` deletes it once the day is over."""

    __tablename__ = "client_salt"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, Vietnam time
    salt: Mapped[str] = mapped_column(String(64))

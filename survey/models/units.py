"""Administrative units (province → agencies/communes → service centres) and their counters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import Model

UNIT_KINDS = ("province", "agency", "commune", "ward", "centre")


class Unit(Model):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Official code: mã đơn vị hành chính for communes, the agency code for departments.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    counters: Mapped[list[Counter]] = relationship(back_populates="unit", order_by="Counter.id")

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name!r}>"


class Counter(Model):
    """A counter (quầy) at a service centre; its QR code carries a signed token naming it."""

    __tablename__ = "counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to invalidate every QR code printed so far (lost or copied poster) without retiring.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    unit: Mapped[Unit] = relationship(back_populates="counters")

    def __repr__(self) -> str:
        return f"<Counter {self.code}>"

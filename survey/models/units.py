"""Administrative units (province → agencies/communes → service centres) and their counters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
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
    # Letterhead of the unit's documents (Nghị định 30/2020/NĐ-CP, Phụ lục I); empty: derived from
    # the unit's name and parent by survey.letterhead.letterhead_for.
    letterhead_parent: Mapped[str | None] = mapped_column(String(255))   # cơ quan chủ quản
    letterhead_issuer: Mapped[str | None] = mapped_column(String(255))   # cơ quan ban hành
    letterhead_symbol: Mapped[str | None] = mapped_column(String(32))    # ký hiệu: "Số: .../BC-<this>"
    letterhead_place: Mapped[str | None] = mapped_column(String(128))    # địa danh
    letterhead_signer: Mapped[str | None] = mapped_column(String(255))   # chức vụ người ký, lines
    letterhead_recipients: Mapped[str | None] = mapped_column(Text)      # nơi nhận, one a line

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

"""Thematic survey campaigns (khảo sát chuyên đề): which units they target, with what quota."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import Model


class CampaignTarget(Model):
    __tablename__ = "campaign_target"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    # Optional sample quota: the progress page shows responses against it.
    quota: Mapped[int | None] = mapped_column(Integer)

    unit = relationship("Unit")

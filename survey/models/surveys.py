"""Surveys, their frozen-once-answered versions, and questions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.catalog.periods import as_utc
from survey.extensions import Model

QUESTION_TYPES = ("likert5", "yesno", "choice", "multi", "text")


def survey_is_open(status: str, opens_at: datetime | None, closes_at: datetime | None,
                   now: datetime) -> bool:
    """Open status, and now within [opens_at, closes_at) where those are set."""
    if status != "open":
        return False
    if opens_at is not None and now < as_utc(opens_at):
        return False
    if closes_at is not None and now >= as_utc(closes_at):
        return False
    return True


class Survey(Model):
    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    title_vi: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="standing")  # standing | thematic
    status: Mapped[str] = mapped_column(String(16), default="open")  # draft | open | closed
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Which units the survey covers (null: all); component weights for the overall index.
    scope: Mapped[dict | None] = mapped_column(JSON)
    privacy_vi: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    # Demographic questions are shown only in surveys that ask, behind a consent question.
    collects_demographics: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The short form asks one item per component plus overall (about a minute instead of three);
    # items not asked are missing, never zero, so the estimators need nothing of their own.
    short_form: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    versions: Mapped[list[SurveyVersion]] = relationship(
        back_populates="survey", order_by="SurveyVersion.number"
    )

    @property
    def current_version(self) -> SurveyVersion | None:
        return self.versions[-1] if self.versions else None

    def is_open(self, now: datetime) -> bool:
        return survey_is_open(self.status, self.opens_at, self.closes_at, now)


class SurveyVersion(Model):
    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # Set when the first response is stored; a frozen version's questions never change.
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    survey: Mapped[Survey] = relationship(back_populates="versions")
    questions: Mapped[list[Question]] = relationship(
        back_populates="version", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(Model):
    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    # SIPAS component (A1..A6, B1..B3), OVERALL, or null for comment-like questions.
    component: Mapped[str | None] = mapped_column(String(16))
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    allows_na: Mapped[bool] = mapped_column(Boolean, default=False)
    # For choice questions: [{"value": "...", "vi": "...", "en": "..."}].
    choices: Mapped[list | None] = mapped_column(JSON)
    max_length: Mapped[int | None] = mapped_column(Integer)

    version: Mapped[SurveyVersion] = relationship(back_populates="questions")

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" and self.text_en else self.text_vi

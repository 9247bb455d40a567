"""Thematic survey campaigns (khảo sát chuyên đề): create, edit, publish, close, follow progress.

A campaign is a Survey of kind "thematic" with CampaignTarget rows (the units it asks, each with
an optional quota). Its questionnaire goes through instrument.publish_questions(), so a version
that has answers is never changed: an edit makes a new version and old responses keep theirs.
Every action writes an audit row in its own transaction. No Flask request handling here.
"""
from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import cast

import qrcode
import qrcode.constants
import qrcode.image.svg
from sqlalchemy import func, select

from survey.catalog.instrument import PRIVACY_VI, publish_questions
from survey.catalog.periods import VIETNAM, as_utc
from survey.catalog.question_bank import (
    A_CODES,
    B_CODES,
    CUSTOM_TYPES,
    CustomQuestion,
    campaign_specs,
)
from survey.extensions import db
from survey.indices.stratum_sums import counted
from survey.models import CampaignTarget, Response, Survey, SurveyVersion, Unit
from survey.services import audit, undo

KIND = "thematic"
CUSTOM_CODE = re.compile(r"^C([0-9]{1,3})$")


class CampaignError(Exception):
    """An action the campaign's state does not allow; `reason` is a stable code for the view."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    unit_id: int
    quota: int | None = None


@dataclass(frozen=True)
class CampaignInput:
    title: str
    purpose: str
    opens_on: date
    closes_on: date  # the last day answers are taken, inclusive, in Vietnam time
    targets: tuple[Target, ...]
    a_codes: tuple[str, ...] = ()
    area: str | None = None
    b_codes: tuple[str, ...] = ()
    custom: tuple[CustomQuestion, ...] = ()
    demographics: bool = False
    short_form: bool = False  # one item per component plus overall (Survey.short_form)


@dataclass(frozen=True)
class TargetProgress:
    unit: Unit
    quota: int | None
    responses: int

    @property
    def share(self) -> float | None:
        """Responses as a share of quota, capped at 1 for drawing; None without a quota."""
        if not self.quota:
            return None
        return min(self.responses / self.quota, 1.0)


# --- dates: the analyst thinks in Vietnamese calendar days, the database keeps UTC instants ---

def day_start(day: date) -> datetime:
    """00:00 in Vietnam on `day`, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=VIETNAM).astimezone(timezone.utc)


def local_day(moment: datetime | None, *, exclusive_end: bool = False) -> date | None:
    if moment is None:
        return None
    aware = as_utc(moment)
    if exclusive_end:  # closes_at is the first instant after the last day
        aware -= timedelta(microseconds=1)
    return aware.astimezone(VIETNAM).date()


def lifecycle(survey: Survey, now: datetime) -> str:
    """draft | scheduled (published, opening day not reached) | open | closed (by hand or by date)."""
    if survey.status == "draft":
        return "draft"
    if survey.status == "closed":
        return "closed"
    if survey.closes_at is not None and now >= as_utc(survey.closes_at):
        return "closed"
    if survey.opens_at is not None and now < as_utc(survey.opens_at):
        return "scheduled"
    return "open"


# --- reading ---

def list_campaigns() -> list[Survey]:
    return list(db.session.scalars(
        select(Survey).where(Survey.kind == KIND).order_by(Survey.id.desc())
    ))


def get_campaign(survey_id: int) -> Survey | None:
    survey = db.session.get(Survey, survey_id)
    return survey if survey is not None and survey.kind == KIND else None


def targets_of(survey: Survey) -> list[CampaignTarget]:
    return list(db.session.scalars(
        select(CampaignTarget).join(Unit, Unit.id == CampaignTarget.unit_id)
        .where(CampaignTarget.survey_id == survey.id).order_by(Unit.code)
    ))


def target_of(survey_id: int, unit_id: int) -> CampaignTarget | None:
    return db.session.get(CampaignTarget, (survey_id, unit_id))


def unit_tree() -> list[tuple[Unit, int]]:
    """Every unit with its depth, parents before children, siblings by code."""
    units = list(db.session.scalars(select(Unit).order_by(Unit.code)))
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered: list[tuple[Unit, int]] = []
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        ordered.append((unit, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(unit.id, [])))
    return ordered


def progress(survey: Survey) -> list[TargetProgress]:
    """Counted responses per target unit (all versions, all channels), against each unit's quota."""
    counts = dict(db.session.execute(
        select(Response.unit_id, func.count()).where(Response.survey_id == survey.id, counted())
        .group_by(Response.unit_id)
    ).all())
    return [TargetProgress(t.unit, t.quota, counts.get(t.unit_id, 0)) for t in targets_of(survey)]


def input_of(survey: Survey) -> CampaignInput:
    """What the edit form starts from: the campaign as it stands (current questionnaire)."""
    questions = survey.current_version.questions if survey.current_version else []
    custom = tuple(
        CustomQuestion(q.code, q.type, q.text_vi, q.text_en or "",
                       tuple((c["vi"], c.get("en") or "") for c in (q.choices or ())), q.required)
        for q in questions if CUSTOM_CODE.match(q.code)
    )
    return CampaignInput(
        title=survey.title_vi,
        purpose=survey.purpose or "",
        opens_on=cast(date, local_day(survey.opens_at)),  # a campaign has both dates
        closes_on=cast(date, local_day(survey.closes_at, exclusive_end=True)),
        targets=tuple(Target(t.unit_id, t.quota) for t in targets_of(survey)),
        a_codes=tuple(q.code for q in questions if q.code in A_CODES),
        area=(survey.scope or {}).get("policy_area"),
        b_codes=tuple(q.code for q in questions if q.code in B_CODES),
        custom=custom,
        demographics=survey.collects_demographics,
        short_form=survey.short_form,
    )


# --- actions ---

def _numbered(custom: tuple[CustomQuestion, ...]) -> tuple[CustomQuestion, ...]:
    """Keep each custom question's code; give new ones the next unused number.

    Codes never shift when a question above is removed, so C2 means the same question in every
    version of the campaign.
    """
    used = {int(m.group(1)) for q in custom if (m := CUSTOM_CODE.match(q.code))}
    following = max(used, default=0) + 1
    seen: set[str] = set()
    numbered = []
    for q in custom:
        if q.type not in CUSTOM_TYPES:
            raise CampaignError("question-type")
        code = q.code if CUSTOM_CODE.match(q.code) and q.code not in seen else ""
        if not code:
            code, following = f"C{following}", following + 1
        seen.add(code)
        numbered.append(CustomQuestion(code, q.type, q.text_vi, q.text_en, q.choices, q.required))
    return tuple(numbered)


def _apply(survey: Survey, inp: CampaignInput) -> SurveyVersion:
    if inp.closes_on < inp.opens_on:
        raise CampaignError("dates")
    if inp.b_codes and inp.area is None:
        raise CampaignError("area")
    survey.title_vi = inp.title
    survey.purpose = inp.purpose or None
    survey.opens_at = day_start(inp.opens_on)
    survey.closes_at = day_start(inp.closes_on + timedelta(days=1))
    survey.collects_demographics = inp.demographics
    survey.short_form = inp.short_form
    scope = dict(survey.scope or {})
    scope["policy_area"] = inp.area
    survey.scope = scope  # a new dict: plain JSON columns do not notice in-place changes
    wanted = {t.unit_id: t.quota for t in inp.targets}
    for existing in targets_of(survey):
        if existing.unit_id not in wanted:
            db.session.delete(existing)
        else:
            existing.quota = wanted.pop(existing.unit_id)
    for unit_id, quota in wanted.items():
        db.session.add(CampaignTarget(survey_id=survey.id, unit_id=unit_id, quota=quota))
    specs = campaign_specs(inp.a_codes, inp.area, inp.b_codes, _numbered(inp.custom), inp.demographics)
    return publish_questions(survey, specs)


def create(inp: CampaignInput, user_id: int | None = None) -> Survey:
    now = datetime.now(timezone.utc)
    survey = Survey(
        code=f"CD-{now.astimezone(VIETNAM):%Y%m%d}-{secrets.token_hex(3)}",
        title_vi=inp.title,
        kind=KIND,
        status="draft",
        privacy_vi=PRIVACY_VI,
    )
    db.session.add(survey)
    db.session.flush()
    try:
        version = _apply(survey, inp)
    except Exception:
        db.session.rollback()
        raise
    audit.record("campaign_created", target=f"survey:{survey.id}", user_id=user_id,
                 units=len(inp.targets), questions=len(version.questions))
    db.session.commit()
    return survey


def update(survey: Survey, inp: CampaignInput, user_id: int | None = None,
           now: datetime | None = None) -> SurveyVersion:
    """Apply an edit; returns the current version (a new one when the old one had answers)."""
    if lifecycle(survey, now or datetime.now(timezone.utc)) == "closed":
        raise CampaignError("closed")
    before = survey.current_version.number if survey.current_version else 0
    try:
        version = _apply(survey, inp)
    except Exception:
        db.session.rollback()
        raise
    audit.record("campaign_updated", target=f"survey:{survey.id}", user_id=user_id,
                 version=version.number, new_version=version.number != before)
    db.session.commit()
    return version


def publish(survey: Survey, user_id: int | None = None, now: datetime | None = None) -> None:
    """draft → open: the unit links start answering on the opening day."""
    now = now or datetime.now(timezone.utc)
    if survey.status != "draft":
        raise CampaignError("not-draft")
    if not targets_of(survey):
        raise CampaignError("no-targets")
    if survey.closes_at is not None and now >= as_utc(survey.closes_at):
        raise CampaignError("past")
    survey.status = "open"
    audit.record("campaign_published", target=f"survey:{survey.id}", user_id=user_id,
                 version=cast(SurveyVersion, survey.current_version).number)
    db.session.commit()


def close(survey: Survey, user_id: int | None = None) -> None:
    """open → closed: links refuse answers from now on, whatever the closing date said."""
    if survey.status != "open":
        raise CampaignError("not-open")
    survey.status = "closed"
    audit.record("campaign_closed", target=f"survey:{survey.id}", user_id=user_id)
    db.session.commit()


def reopen(survey: Survey, user_id: int | None = None) -> None:
    """Undo a close (closed → open) within undo.UNDO_WINDOW, while the close is still the last word."""
    if survey.status != "closed" or not undo.can_undo("campaign_closed", f"survey:{survey.id}"):
        raise CampaignError("no-undo")
    survey.status = "open"
    audit.record(undo.undone("campaign_closed"), target=f"survey:{survey.id}", user_id=user_id)
    db.session.commit()


def record_download(survey: Survey, unit_id: int, fmt: str, user_id: int | None = None) -> None:
    audit.record("campaign_qr_downloaded", target=f"survey:{survey.id}", user_id=user_id, unit_id=unit_id, format=fmt)
    db.session.commit()


# --- QR codes ---

def _qr(url: str, **kwargs) -> qrcode.QRCode:
    # Error correction M survives a scuffed or partly taped-over printout.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, **kwargs)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    _qr(url, box_size=10).make_image().save(buffer)
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    return _qr(url, image_factory=qrcode.image.svg.SvgPathImage).make_image().to_string()

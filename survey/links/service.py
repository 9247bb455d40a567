"""Issuing per-dossier one-time links, and reading one back for the citizen.

The dossier code is kept only as the keyed hash the citizen path uses for typed codes
(services.responses.dossier_hash), so a link, a typed code and the one-response-per-dossier rule
(used_dossier) all speak of the same dossier. A link knows its unit, counter, service field and
procedure, never a person; the response it yields keeps none of it but "verified" and the field.

Re-issuing for a dossier whose link is still unused (a reprinted slip, a corrected field) gives a
new link and ends the older unused ones at once (they expire now, so a stale slip says "hết hạn"):
one usable link per dossier and survey at a time. A dossier already rated gets no new link.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping, cast

from sqlalchemy import Select, exists, func, select, update

from forms.citizen import DOSSIER_PATTERN, clean_text
from survey.access import Scope, can_see_unit, in_scope
from survey.catalog.instrument import SERVICE_FIELDS, STANDING_CODE
from survey.catalog.periods import VIETNAM, as_utc, in_vietnam
from survey.extensions import db
from survey.intake.responses import dossier_hash
from survey.models import Counter, Response, Survey, Unit, User
from survey.models.integrity import DossierLink, UsedDossier
from survey.services import audit

DEFAULT_DAYS, MAX_DAYS = 30, 90
PROCEDURE_MAX = 255
FIELD_NAMES = {code: vi for code, vi, _en in SERVICE_FIELDS}
SERVICE_FIELD_CODES = tuple(FIELD_NAMES)
_DOSSIER = re.compile(DOSSIER_PATTERN)


class Invalid(ValueError):
    """Input the caller got wrong: field name -> Vietnamese message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class UnitNotFound(LookupError):
    """No such unit, or not one of the user's: both answer 404, so codes cannot be probed."""


class Refused(Exception):
    """The request is well formed but cannot be met now (dossier rated, survey closed): 409."""


@dataclass(frozen=True)
class LinkRequest:
    dossier_code: str
    unit_code: str
    counter_code: str | None
    service_field: str
    procedure_name: str | None
    expires_in_days: int


def _text(data: Mapping[str, Any], name: str, errors: dict[str, str], required: bool) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not clean_text(value)):
        if required:
            errors[name] = "Bắt buộc."
        return None
    if not isinstance(value, str):
        errors[name] = "Phải là chuỗi ký tự."
        return None
    return clean_text(value)


def parse_request(data: Any) -> LinkRequest:
    """Validate what the one-stop system or the officer sent; Invalid lists every wrong field."""
    if not isinstance(data, Mapping):
        raise Invalid({"body": "Nội dung phải là một đối tượng JSON."})
    errors: dict[str, str] = {}
    code = _text(data, "dossier_code", errors, required=True)
    if code is not None and not _DOSSIER.fullmatch(code):
        errors["dossier_code"] = "Mã hồ sơ chỉ gồm chữ, số và các dấu . / - _ (3–40 ký tự)."
    unit = _text(data, "unit", errors, required=True)
    counter = _text(data, "counter", errors, required=False)
    field = _text(data, "service_field", errors, required=True)
    if field is not None and field not in SERVICE_FIELD_CODES:
        errors["service_field"] = "Lĩnh vực phải là một trong: " + ", ".join(SERVICE_FIELD_CODES) + "."
    procedure = _text(data, "procedure_name", errors, required=False)
    if procedure is not None and len(procedure) > PROCEDURE_MAX:
        errors["procedure_name"] = f"Tên thủ tục dài quá {PROCEDURE_MAX} ký tự."
    days = data.get("expires_in_days", DEFAULT_DAYS)
    if days is None:
        days = DEFAULT_DAYS
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        errors["expires_in_days"] = f"Số ngày hiệu lực phải là số nguyên từ 1 đến {MAX_DAYS}."
    if errors:
        raise Invalid(errors)
    # Required fields are strings here, or errors said why not.
    return LinkRequest(cast(str, code), cast(str, unit), counter, cast(str, field), procedure, days)


def standing_survey() -> Survey | None:
    return db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))


def issue(user: User, request: LinkRequest, now: datetime | None = None) -> DossierLink:
    """A new one-time link for a dossier of one of `user`'s units (added and flushed, not
    committed; audited). Raises UnitNotFound, Invalid (counter) or Refused."""
    now = now or datetime.now(timezone.utc)
    unit = db.session.scalar(select(Unit).where(Unit.code == request.unit_code))
    if unit is None or not can_see_unit(user, unit.id):
        raise UnitNotFound(request.unit_code)
    counter = None
    if request.counter_code is not None:
        counter = db.session.scalar(select(Counter).where(
            func.upper(Counter.code) == request.counter_code.upper(), Counter.unit_id == unit.id))
        if counter is None:
            raise Invalid({"counter": f"Đơn vị {unit.code} không có quầy mã \"{request.counter_code}\"."})
        if not counter.active:
            raise Invalid({"counter": f"Quầy {counter.code} đã ngừng sử dụng."})
    survey = standing_survey()
    if survey is None or not survey.is_open(now) or survey.current_version is None:
        raise Refused("Khảo sát thường xuyên đang không nhận ý kiến; chưa phát hành được phiếu.")
    hashed = dossier_hash(survey.id, request.dossier_code)
    links = (DossierLink.survey_id == survey.id, DossierLink.dossier_hash == hashed)
    rated = db.session.scalar(select(
        exists().where(UsedDossier.survey_id == survey.id, UsedDossier.dossier_hash == hashed)
        | exists().where(*links, DossierLink.used.is_(True))))
    if rated:
        raise Refused("Hồ sơ này đã được đánh giá trong đợt khảo sát; mỗi hồ sơ chỉ đánh giá một lần.")
    # The older unused links of this dossier end now: only the newest slip can be used.
    db.session.execute(update(DossierLink).where(*links, DossierLink.used.is_(False),
                                                 DossierLink.expires_at > now).values(expires_at=now))
    link = DossierLink(survey_id=survey.id, unit_id=unit.id, counter_id=counter.id if counter else None,
                       dossier_hash=hashed, service_field=request.service_field,
                       procedure_name=request.procedure_name, created_at=now,
                       expires_at=expiry(now, request.expires_in_days), used=False,
                       created_by=user.id)
    db.session.add(link)
    db.session.flush()
    # Never the dossier code or its hash in the log: it names the unit, not the dossier.
    audit.record("dossier_link_issue", target=unit.code, user_id=user.id, link_id=link.id,
                 counter=counter.code if counter else None, field=request.service_field,
                 days=request.expires_in_days)
    return link


def expiry(now: datetime, days: int) -> datetime:
    """The end of the `days`-th day after today, Vietnam time: a slip says "until dd/mm/yyyy"
    and means the whole of that day."""
    last_day = in_vietnam(now).date() + timedelta(days=days)
    return datetime.combine(last_day + timedelta(days=1), time(), VIETNAM).astimezone(timezone.utc)


def last_day(link: DossierLink) -> date:
    """The last day (Vietnam time) on which the link can be used."""
    return in_vietnam(as_utc(link.expires_at) - timedelta(microseconds=1)).date()


def state(link: DossierLink, now: datetime | None = None) -> str:
    """'open', 'used' or 'expired' (a revoked link is expired)."""
    now = now or datetime.now(timezone.utc)
    if link.used:
        return "used"
    return "open" if as_utc(link.expires_at) > now else "expired"


def visible_link(visible: Scope, link_id: int) -> DossierLink | None:
    """The link when it belongs to a unit of the scope `visible`, else None (answer 404)."""
    link = db.session.get(DossierLink, link_id)
    if link is None or not in_scope(visible, link.unit_id):
        return None
    return link


def procedure_text(link: DossierLink) -> str:
    """What the slip names: the procedure, or else the service field."""
    return link.procedure_name or FIELD_NAMES.get(link.service_field or "", "")


def verified_select(unit_ids: set[int] | None, period: str, survey_code: str = STANDING_CODE
                    ) -> Select:
    """The count of counted responses of the period that came through a dossier link."""
    query = (select(func.count()).select_from(Response).join(Survey, Survey.id == Response.survey_id)
             .where(Survey.code == survey_code, Response.period == period,
                    Response.verified.is_(True), Response.status == "counted"))
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    return query


def verified_count(unit_ids: set[int] | None, period: str, survey_code: str = STANDING_CODE) -> int:
    """Counted responses of the period that came through a dossier link (unit_ids None: all)."""
    return int(db.session.scalar(verified_select(unit_ids, period, survey_code)) or 0)

"""Sở Nội vụ's thematic campaign form: what to ask, whom, when; plus the publish/close buttons.

The form class is built per unit list (one quota box per unit) and converts itself to a
services.campaigns.CampaignInput, so the service never sees request data.
"""
from __future__ import annotations

import re
from datetime import date
from typing import cast

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from survey.catalog.loop_labels import in_lang as _in_lang
from survey.catalog.question_bank import (
    B_CODES,
    CUSTOM_TYPES,
    GROUP_A,
    POLICY_AREAS,
    CustomQuestion,
)
from survey.models import Unit
from survey.services.campaigns import CampaignInput, Target

DATE_PATTERN = re.compile(r"^\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\s*$")
BLANK_CUSTOM_SLOTS = 3
MAX_CHOICES = 20


def format_day(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


class VietnameseDateField(StringField):
    """A calendar day typed as dd/mm/yyyy, the way every Vietnamese office writes dates."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.day: date | None = None
        match = DATE_PATTERN.match(self.data or "")
        if match:
            try:
                self.day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
            except ValueError:
                self.day = None

    def process_data(self, value):
        self.day = value if isinstance(value, date) else None
        self.data = format_day(self.day)

    def pre_validate(self, form):
        if self.day is None:
            raise ValidationError(_l("Nhập ngày theo dạng dd/mm/yyyy, ví dụ 01/03/2026."))


class MultiCheckboxField(SelectMultipleField):
    def pre_validate(self, form):
        allowed = {str(value) for value, _label in self.choices}
        if any(value not in allowed for value in self.data or ()):
            raise ValidationError(_l("Lựa chọn không hợp lệ, vui lòng chọn lại."))


TYPE_LABELS = (
    ("likert5", _l("Thang 5 mức hài lòng")),
    ("yesno", _l("Có / Không")),
    ("choice", _l("Chọn một")),
    ("multi", _l("Chọn nhiều")),
    ("text", _l("Trả lời tự do")),
)
assert tuple(t for t, _label in TYPE_LABELS) == CUSTOM_TYPES


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """One option a line, "Tiếng Việt | English" or just Vietnamese."""
    options = []
    for line in (text or "").splitlines():
        if line.strip():
            vi, _sep, en = line.partition("|")
            options.append((vi.strip(), en.strip()))
    return tuple(options)


def format_choices(choices: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{vi} | {en}" if en and en != vi else vi for vi, en in choices)


class CustomQuestionForm(Form):
    """One custom question slot; a slot without Vietnamese text is simply unused."""

    code = HiddenField()
    type = SelectField(_l("Loại câu hỏi"), choices=TYPE_LABELS, default="likert5")
    text_vi = StringField(_l("Nội dung câu hỏi (tiếng Việt)"), validators=[Length(max=500)])
    text_en = StringField(_l("Nội dung tiếng Anh (không bắt buộc)"), validators=[Length(max=500)])
    choices = TextAreaField(_l("Các phương án (mỗi dòng một phương án; có thể thêm \"| tiếng Anh\")"),
                            validators=[Length(max=4000)])
    required = BooleanField(_l("Bắt buộc trả lời"))

    def validate_choices(self, field: Field) -> None:
        if not (self.text_vi.data or "").strip() or self.type.data not in ("choice", "multi"):
            return
        options = parse_choices(field.data)
        if len(options) < 2:
            raise ValidationError(_l("Câu hỏi chọn một / chọn nhiều cần ít nhất 2 phương án."))
        if len(options) > MAX_CHOICES:
            raise ValidationError(_l("Tối đa %(n)s phương án.", n=MAX_CHOICES))
        if any(not vi for vi, _en in options):
            raise ValidationError(_l("Mỗi phương án cần có nội dung tiếng Việt."))


class CampaignFormBase(FlaskForm):
    title = StringField(_l("Tên đợt khảo sát"), validators=[
        DataRequired(_l("Vui lòng nhập tên đợt khảo sát.")), Length(max=255)])
    purpose = TextAreaField(_l("Mục đích khảo sát"), validators=[Optional(), Length(max=2000)])
    opens_on = VietnameseDateField(_l("Ngày bắt đầu (dd/mm/yyyy)"))
    closes_on = VietnameseDateField(_l("Ngày kết thúc (dd/mm/yyyy)"))
    units = MultiCheckboxField(_l("Đơn vị được khảo sát"), choices=[])
    a_codes = MultiCheckboxField(_l("Nhóm A: cung ứng dịch vụ hành chính công"),
                                 choices=[(s.code, LazyString(_in_lang, (s.text_vi, s.text_en))) for s in GROUP_A])
    area = SelectField(_l("Lĩnh vực chính sách (nhóm B)"),
                       choices=[("", _l("— Không hỏi nhóm B —"))]
                       + [(c, LazyString(_in_lang, (vi[:1].upper() + vi[1:], en[:1].upper() + en[1:])))
                          for c, vi, en in POLICY_AREAS])
    b_codes = MultiCheckboxField(_l("Nhóm B: xây dựng, tổ chức thực hiện chính sách"),
                                 choices=[(code, code) for code in B_CODES], default=list(B_CODES))
    custom = FieldList(FormField(CustomQuestionForm), min_entries=BLANK_CUSTOM_SLOTS, max_entries=30)
    demographics = BooleanField(_l("Hỏi thông tin nhân khẩu (nhóm tuổi, giới tính, thành thị/nông thôn), "
                                   "kèm câu hỏi đồng ý"))
    short_form = BooleanField(_l("Phiếu rút gọn: mỗi nhóm tiêu chí hỏi một câu, cộng câu hài lòng chung "
                                 "(khoảng 1 phút)"))

    unit_ids: tuple[int, ...] = ()

    def validate_units(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_l("Chọn ít nhất một đơn vị được khảo sát."))

    def validate_closes_on(self, field: Field) -> None:
        if self.opens_on.day and field.day and field.day < self.opens_on.day:
            raise ValidationError(_l("Ngày kết thúc phải từ ngày bắt đầu trở đi."))

    def validate_a_codes(self, field: Field) -> None:
        has_b = bool(self.area.data and self.b_codes.data)
        has_custom = any((slot.form.text_vi.data or "").strip() for slot in self.custom)
        if not field.data and not has_b and not has_custom:
            raise ValidationError(_l("Chọn ít nhất một câu hỏi (nhóm A, nhóm B hoặc câu hỏi riêng)."))

    def quota_field(self, unit_id: int) -> Field:
        return self[f"quota_{unit_id}"]

    def to_input(self) -> CampaignInput:
        chosen = [int(u) for u in self.units.data]
        custom = tuple(
            CustomQuestion(slot.form.code.data or "", slot.form.type.data, slot.form.text_vi.data.strip(),
                           (slot.form.text_en.data or "").strip(),
                           parse_choices(slot.form.choices.data) if slot.form.type.data in ("choice", "multi") else (),
                           bool(slot.form.required.data))
            for slot in self.custom
            if (slot.form.text_vi.data or "").strip()
        )
        return CampaignInput(
            title=self.title.data.strip(),
            purpose=(self.purpose.data or "").strip(),
            opens_on=cast(date, self.opens_on.day),  # both required: validate() saw them
            closes_on=cast(date, self.closes_on.day),
            targets=tuple(Target(u, self.quota_field(u).data or None) for u in chosen),
            a_codes=tuple(self.a_codes.data),
            area=self.area.data or None,
            # Group B items come ticked by default; with "— Không hỏi nhóm B —" they are not
            # asked, and saving must not fail on ticks the analyst never meant to use.
            b_codes=tuple(self.b_codes.data) if self.area.data else (),
            custom=custom,
            demographics=bool(self.demographics.data),
            short_form=bool(self.short_form.data),
        )


def campaign_form(units: list[tuple[Unit, int]], initial: CampaignInput | None = None,
                  **kwargs) -> CampaignFormBase:
    """The form for this unit tree, filled from `initial` (editing) or empty (creating)."""
    attrs = {
        f"quota_{unit.id}": IntegerField(
            _l("Chỉ tiêu mẫu"),
            validators=[Optional(), NumberRange(min=1, max=100_000, message=_l("Chỉ tiêu từ 1 đến 100.000."))],
        )
        for unit, _depth in units
    }
    cls = type("CampaignForm", (CampaignFormBase,), attrs)
    if initial is not None:
        kwargs["data"] = _data_of(initial)
    form = cls(**kwargs)
    form.units.choices = [(str(unit.id), unit.name) for unit, _depth in units]
    form.unit_ids = tuple(unit.id for unit, _depth in units)
    return form


def _data_of(inp: CampaignInput) -> dict:
    data = {
        "title": inp.title, "purpose": inp.purpose, "opens_on": inp.opens_on, "closes_on": inp.closes_on,
        "units": [str(t.unit_id) for t in inp.targets], "a_codes": list(inp.a_codes),
        "area": inp.area or "", "b_codes": list(inp.b_codes) if inp.area else list(B_CODES),
        "demographics": inp.demographics,
        "short_form": inp.short_form,
        "custom": [
            {"code": q.code, "type": q.type, "text_vi": q.text_vi, "text_en": q.text_en,
             "choices": format_choices(q.choices), "required": q.required}
            for q in inp.custom
        ] + [{} for _ in range(BLANK_CUSTOM_SLOTS)],
    }
    data.update({f"quota_{t.unit_id}": t.quota for t in inp.targets})
    return data


class ActionForm(FlaskForm):
    """Publish / close buttons: nothing but the CSRF token."""


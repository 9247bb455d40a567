"""Forms of the improvement loop: remediation tasks, progress notes, evidence, the criteria tracker.

Choices (criteria, units) are filled by the views from the official's scope. Dates are typed as
the browser's date input sends them (yyyy-mm-dd) or as people write them (dd/mm/yyyy); numbers
with a decimal comma or point. Messages are Vietnamese, like every message officials read.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from survey.catalog.loop_labels import CAUSE_LABELS, TASK_STATUS_LABELS, in_lang
from survey.models.loop import INDEX_KINDS

REQUIRED = _l("Vui lòng nhập thông tin này.")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_VN = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_date(text: str | None) -> date | None:
    """yyyy-mm-dd or dd/mm/yyyy; None when empty; ValueError when not a real date."""
    text = (text or "").strip()
    if not text:
        return None
    if m := _ISO.fullmatch(text):
        y, mo, d = (int(x) for x in m.groups())
    elif m := _VN.fullmatch(text):
        d, mo, y = (int(x) for x in m.groups())
    else:
        raise ValueError(text)
    return date(y, mo, d)


def validated_date(text: str | None) -> date:
    """The date of a field that _real_date has passed (so neither empty nor malformed)."""
    value = parse_date(text)
    assert value is not None, "validated_date on a field _real_date did not check"
    return value


def parse_number(text: str | None) -> float | None:
    """'90', '90,5' or '90.5' -> float; None when empty; ValueError otherwise."""
    text = (text or "").strip().replace(" ", "")
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise ValueError(text)
    return float(text)


def _real_date(form, field) -> None:
    try:
        if parse_date(field.data) is None:
            raise ValidationError(REQUIRED)
    except ValueError:
        raise ValidationError(_l("Ngày không hợp lệ; nhập theo dạng dd/mm/yyyy.")) from None


def _percent(form, field) -> None:
    try:
        value = parse_number(field.data)
    except ValueError:
        raise ValidationError(_l("Mục tiêu phải là một số (ví dụ 90 hoặc 90,5).")) from None
    if value is not None and not 0 <= value <= 100:
        raise ValidationError(_l("Mục tiêu là tỷ lệ hài lòng từ 0 đến 100%."))


class TaskForm(FlaskForm):
    """A remediation task for a survey criterion (or a tracker row: criterion fixed by the view)."""

    # "item:A1.2", "component:A1", "overall:overall"; checked by survey.remediation.service.
    criterion = SelectField(_l("Tiêu chí"), choices=[], validate_choice=False)
    period = HiddenField()
    target = StringField(_l("Mục tiêu (tỷ lệ hài lòng, %)"), validators=[Optional(), _percent])
    cause_kind = SelectField(_l("Loại nguyên nhân"), validate_choice=False, choices=[
        ("", _l("— Chọn —")), *((code, LazyString(in_lang, words)) for code, words in CAUSE_LABELS.items())])
    cause = TextAreaField(_l("Nguyên nhân"), validators=[Optional(), Length(max=4000)])
    action = TextAreaField(_l("Nhiệm vụ, giải pháp khắc phục"),
                           validators=[DataRequired(REQUIRED), Length(max=4000)])
    lead_unit_id = SelectField(_l("Cơ quan chủ trì"), choices=[], validate_choice=False)
    cooperating = TextAreaField(_l("Cơ quan phối hợp"), validators=[Optional(), Length(max=2000)])
    owner = StringField(_l("Người chịu trách nhiệm"), validators=[Optional(), Length(max=255)])
    deadline = StringField(_l("Thời hạn hoàn thành"), validators=[_real_date])


class StatusForm(FlaskForm):
    status = SelectField(_l("Tình trạng"), validate_choice=False,
                         choices=[(code, LazyString(in_lang, words)) for code, words in TASK_STATUS_LABELS.items()])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Tiến độ thực hiện"), validators=[DataRequired(REQUIRED), Length(max=4000)])


class EvidenceForm(FlaskForm):
    file = FileField(_l("Tệp hồ sơ kiểm chứng"),
                     validators=[FileRequired(_l("Vui lòng chọn tệp hồ sơ kiểm chứng."))])


class TrackerImportForm(FlaskForm):
    index_kind = SelectField(_l("Bộ chỉ số"), choices=[(k, "PAR INDEX" if k == "PAR" else k)
                                                       for k in INDEX_KINDS])
    year = IntegerField(_l("Năm đánh giá"), validators=[
        DataRequired(REQUIRED),
        NumberRange(min=2015, max=2100, message=_l("Năm đánh giá từ 2015 đến 2100."))])
    file = FileField(_l("Tệp kết quả (CSV hoặc XLSX)"),
                     validators=[FileRequired(_l("Vui lòng chọn tệp CSV hoặc XLSX."))])


class TrackerCauseForm(FlaskForm):
    cause = TextAreaField(_l("Nguyên nhân mất điểm"), validators=[Optional(), Length(max=4000)])

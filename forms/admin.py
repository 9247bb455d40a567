"""Administrators' forms: units, counters, users, uploads, exports, API tokens, raw comments."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from survey.services.imports import UNIT_CODE_PATTERN

UNIT_KIND_LABELS = (
    ("province", _l("Tỉnh")),
    ("agency", _l("Sở, ban, ngành")),
    ("commune", _l("Xã")),
    ("ward", _l("Phường")),
    ("centre", _l("Trung tâm phục vụ hành chính công")),
)
ROLE_LABELS = (
    ("official", _l("Cán bộ đơn vị")),
    ("analyst", _l("Chuyên viên Sở Nội vụ")),
    ("admin", _l("Quản trị hệ thống")),
)
REQUIRED = _l("Vui lòng nhập thông tin này.")


class UnitForm(FlaskForm):
    code = StringField(_l("Mã đơn vị"), validators=[
        DataRequired(REQUIRED),
        Regexp(UNIT_CODE_PATTERN.pattern, message=_l("Mã chỉ gồm chữ, số, dấu chấm, gạch; tối đa 32 ký tự."))])
    name = StringField(_l("Tên đơn vị"), validators=[DataRequired(REQUIRED), Length(max=255)])
    name_en = StringField(_l("Tên tiếng Anh"), validators=[Optional(), Length(max=255)])
    kind = SelectField(_l("Loại đơn vị"), choices=UNIT_KIND_LABELS)
    # Choices (unit ids) are filled in by the view; "" is "no parent" (the province).
    parent_id = SelectField(_l("Đơn vị cấp trên"), choices=[], validate_choice=True)
    # Letterhead of reports and QR posters (Nghị định 30/2020/NĐ-CP); empty: derived from the
    # unit's name and parent (survey/letterhead.py).
    letterhead_parent = StringField(_l("Cơ quan chủ quản"), validators=[Optional(), Length(max=255)])
    letterhead_issuer = StringField(_l("Tên cơ quan ban hành văn bản"), validators=[Optional(), Length(max=255)])
    letterhead_symbol = StringField(_l("Ký hiệu cơ quan (Số: .../BC-ký hiệu)"), validators=[
        Optional(), Length(max=32),
        Regexp(r"^[A-Za-zĐđ0-9.-]+$", message=_l("Ký hiệu chỉ gồm chữ, số, dấu chấm, gạch."))])
    letterhead_place = StringField(_l("Địa danh"), validators=[Optional(), Length(max=128)])
    letterhead_signer = TextAreaField(_l("Chức vụ người ký (mỗi dòng một dòng in)"),
                                      validators=[Optional(), Length(max=255)])
    letterhead_recipients = TextAreaField(_l("Nơi nhận (mỗi dòng một nơi)"),
                                          validators=[Optional(), Length(max=2000)])


LETTERHEAD_FIELDS = ("letterhead_parent", "letterhead_issuer", "letterhead_symbol", "letterhead_place",
                     "letterhead_signer", "letterhead_recipients")


class CounterForm(FlaskForm):
    name = StringField(_l("Tên quầy"), validators=[DataRequired(REQUIRED), Length(max=255)])
    code = StringField(_l("Mã quầy (để trống: tự đặt)"), validators=[
        Optional(), Length(max=48),
        Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", message=_l("Mã chỉ gồm chữ, số, dấu chấm, gạch."))])


class ActionForm(FlaskForm):
    """A bare POST button (retire, rotate, reset, deactivate, revoke): only the CSRF token."""


class UserForm(FlaskForm):
    email = StringField(_l("Thư điện tử"), validators=[
        DataRequired(REQUIRED), Length(max=255),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Thư điện tử không hợp lệ."))])
    name = StringField(_l("Họ tên"), validators=[DataRequired(REQUIRED), Length(max=255)])
    role = SelectField(_l("Vai trò"), choices=ROLE_LABELS)
    unit_code = SelectField(_l("Đơn vị (bắt buộc với cán bộ đơn vị)"), choices=[])


class UploadForm(FlaskForm):
    file = FileField(_l("Tệp CSV"), validators=[FileRequired(_l("Vui lòng chọn tệp CSV."))])


class TokenForm(FlaskForm):
    name = StringField(_l("Tên gợi nhớ (hệ thống nào dùng khóa này)"),
                       validators=[DataRequired(REQUIRED), Length(max=128)])


class RawCommentForm(FlaskForm):
    """Which response's unredacted comment to read, and why (both go to the audit log)."""

    response_id = IntegerField(_l("Mã phiếu"), validators=[
        DataRequired(REQUIRED),
        NumberRange(min=1, max=2**31 - 1, message=_l("Mã phiếu không hợp lệ."))])
    reason = StringField(_l("Lý do xem nguyên văn"), validators=[DataRequired(REQUIRED), Length(max=255)])

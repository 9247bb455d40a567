"""Administrators' forms: units, counters, users, uploads, exports, API tokens, raw comments."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField
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

"""Officials' sign-in and password forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

MIN_PASSWORD = 10


class LoginForm(FlaskForm):
    email = StringField(_l("Thư điện tử"), validators=[DataRequired(_l("Vui lòng nhập thư điện tử.")),
                                                       Length(max=255)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")),
                                                         Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(_l("Vui lòng nhập mật khẩu."))])
    new = PasswordField(
        _l("Mật khẩu mới"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")),
                    Length(min=MIN_PASSWORD, max=200, message=_l("Mật khẩu cần ít nhất %(n)s ký tự.", n=MIN_PASSWORD))],
    )
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[EqualTo("new", message=_l("Hai lần nhập mật khẩu không khớp."))],
    )

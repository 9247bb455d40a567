"""Creating officials, checking and resetting their passwords."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from survey.extensions import db
from survey.models import ROLES, Unit, User

# Compared against when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password")


class AccountError(ValueError):
    """A user-facing reason an account cannot be created or changed."""


def create_user(email: str, name: str, role: str, password: str, unit_code: str | None = None) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"Vai trò không hợp lệ: {role} (chọn một trong {', '.join(ROLES)}).")
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise AccountError(f"Đã có tài khoản {email}.")
    unit = None
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise AccountError(f"Không có đơn vị mã {unit_code}.")
    if role == "official" and unit is None:
        raise AccountError("Tài khoản cán bộ đơn vị cần mã đơn vị (--unit).")
    if len(password) < 10:
        raise AccountError("Mật khẩu cần ít nhất 10 ký tự.")
    user = User(email=email, name=name, role=role, unit=unit, active=True,
                password_hash=generate_password_hash(password),
                created_at=datetime.now(timezone.utc))
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def end_sessions(user: User) -> None:
    """End every signed-in session of `user` (survey/auth/sessions.py), at the next commit."""
    user.session_epoch = (user.session_epoch or 0) + 1


def set_password(user: User, password: str, must_change: bool = False) -> None:
    """A new password ends every session signed in with the old one."""
    user.password_hash = generate_password_hash(password)
    user.must_change_password = must_change
    end_sessions(user)


def deactivate(user: User) -> None:
    user.active = False
    end_sessions(user)


def reset_password(user: User) -> str:
    """A one-time password for the administrator to hand over; it must be changed at login."""
    temporary = secrets.token_urlsafe(12)
    set_password(user, temporary, must_change=True)
    return temporary

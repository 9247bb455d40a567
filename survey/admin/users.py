"""Officials' accounts (MANAGE_USERS) and API tokens (each user their own; MANAGE_USERS all)."""
from __future__ import annotations

import secrets
from typing import Sequence

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from forms.admin import ROLE_LABELS, ActionForm, TokenForm, UserForm
from survey.admin import bp
from survey.extensions import db
from survey.models import ApiToken, Unit, User
from survey.permissions import Permission, allows, requires
from survey.services import accounts, api_tokens, audit


@bp.get("/tai-khoan")
@requires(Permission.MANAGE_USERS)
def users():
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.email)).all()
    return render_template("admin/users.html", users=rows, roles=dict(ROLE_LABELS), action=ActionForm())


def _unit_choices() -> list[tuple[str, str]]:
    units = db.session.execute(select(Unit.code, Unit.name).order_by(Unit.code)).all()
    return [("", _("(không gắn đơn vị)"))] + [(code, f"{code} · {name}") for code, name in units]


def _show_password(user: User, password: str, created: bool):
    return render_template("admin/user_password.html", user=user, password=password, created=created)


@bp.route("/tai-khoan/moi", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_new():
    form = UserForm()
    form.unit_code.choices = _unit_choices()
    error = None
    if form.validate_on_submit():
        # The administrator never chooses the password: a one-time one is shown once, and the
        # official must replace it at first login.
        temporary = secrets.token_urlsafe(12)
        try:
            user = accounts.create_user(form.email.data, form.name.data.strip(), form.role.data, temporary,
                                        form.unit_code.data or None)
        except accounts.AccountError as failure:
            db.session.rollback()
            error = str(failure)
        else:
            user.must_change_password = True
            audit.record("user_created", target=user.email, role=user.role, unit_id=user.unit_id, via="web")
            db.session.commit()
            return _show_password(user, temporary, created=True)
    status = 422 if error or form.errors else 200
    return render_template("admin/user_form.html", form=form, error=error), status


@bp.post("/tai-khoan/<int:user_id>/dat-lai-mat-khau")
@requires(Permission.MANAGE_USERS)
def user_reset(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    temporary = accounts.reset_password(user)
    audit.record("password_reset", target=user.email, via="web")
    db.session.commit()
    return _show_password(user, temporary, created=False)


@bp.post("/tai-khoan/<int:user_id>/khoa")
@requires(Permission.MANAGE_USERS)
def user_deactivate(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash(_("Không thể tự khóa tài khoản của chính mình."))
    elif user.active:
        accounts.deactivate(user)
        audit.record("user_deactivated", target=user.email)
        db.session.commit()
        flash(_("Đã khóa tài khoản %(email)s; tài khoản và khóa API của nó không dùng được nữa.", email=user.email))
    return redirect(url_for("admin.users"))


@bp.post("/tai-khoan/<int:user_id>/mo-khoa")
@requires(Permission.MANAGE_USERS)
def user_activate(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not user.active:
        user.active = True
        audit.record("user_activated", target=user.email)
        db.session.commit()
        flash(_("Đã mở khóa tài khoản %(email)s.", email=user.email))
    return redirect(url_for("admin.users"))


# ---------------------------------------------------------------- API tokens

def _visible_tokens() -> Sequence[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.revoked, ApiToken.created_at.desc())
    if not allows(current_user.role, Permission.MANAGE_USERS):  # who manages accounts sees all keys
        query = query.where(ApiToken.user_id == current_user.id)
    return db.session.scalars(query).all()


@bp.route("/khoa-api", methods=["GET", "POST"])
@requires(Permission.MANAGE_API_TOKENS)
def tokens():
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        token, created = api_tokens.create(current_user, form.name.data.strip())
        audit.record("api_token_created", target=f"api_token:{token.id}", name=token.name)
        db.session.commit()
        form = TokenForm(formdata=None)
    status = 422 if form.errors else 200
    return render_template("admin/tokens.html", form=form, tokens=_visible_tokens(), created=created,
                           action=ActionForm()), status


@bp.post("/khoa-api/<int:token_id>/thu-hoi")
@requires(Permission.MANAGE_API_TOKENS)
def token_revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    # Someone else's token answers 404, like an unknown one: ids cannot be probed.
    if token is None or (token.user_id != current_user.id
                         and not allows(current_user.role, Permission.MANAGE_USERS)):
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not token.revoked:
        token.revoked = True
        audit.record("api_token_revoked", target=f"api_token:{token.id}", owner=token.user.email)
        db.session.commit()
        flash(_("Đã thu hồi khóa API \"%(name)s\".", name=token.name))
    return redirect(url_for("admin.tokens"))

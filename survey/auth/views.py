from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from forms.auth import ChangePasswordForm, LoginForm
from survey.auth import bp
from survey.auth.sessions import start_fresh_session
from survey.extensions import db, limiter
from survey.services import accounts, audit, privacy


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing tool.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("officials.home")


@bp.route("/dang-nhap", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            privacy.record_failed_login(form.email.data)  # never a stranger's address verbatim
            db.session.commit()
            error = _("Thư điện tử hoặc mật khẩu không đúng.")
        else:
            start_fresh_session()
            login_user(user)
            user.last_login_at = datetime.now(timezone.utc)
            audit.record("login", user_id=user.id)
            db.session.commit()
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else (422 if form.errors else 200)
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/dang-xuat")
@login_required
def logout():
    # Every session of the account ends, not only this browser's: a copied cookie too.
    accounts.end_sessions(current_user)
    audit.record("logout")
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/doi-mat-khau", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        if accounts.authenticate(current_user.email, form.current.data) is None:
            error = _("Mật khẩu hiện tại không đúng.")
        else:
            accounts.set_password(current_user, form.new.data)  # ends every session of the account
            audit.record("password_changed")
            db.session.commit()
            login_user(current_user._get_current_object())  # except this one: it carries the new epoch
            return redirect(url_for("officials.home"))
    return render_template("auth/change_password.html", form=form, error=error), (422 if error or form.errors else 200)


@bp.get("/ngon-ngu/<lang>")
def set_language(lang: str):
    """Officials' language, kept in the session; back to the page they came from."""
    session["lang"] = "en" if lang == "en" else "vi"
    back = request.referrer or ""
    path = urlsplit(back).path if urlsplit(back).netloc in ("", request.host) else ""
    return redirect(_safe_next(path or None))

"""Keys that are secret and sessions that end (survey/config.py check_secret_keys, survey/auth/sessions.py).

A copied session cookie is the attack: it must stop working at sign-out, a password change, an
administrator's reset and deactivation; one forged with the public demo key never works.
"""
from __future__ import annotations

import secrets

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_login.utils import encode_cookie
from sqlalchemy import select

from survey import create_app
from survey.config import DEMO_SECRET_KEY, WeakSecretKey
from survey.extensions import db
from survey.models import Unit, User
from survey.services import api_tokens
from tests.conftest import DEMO_PASSWORDS, csrf_of, login

HOME = "/quan-ly/"


def signed_out(client) -> bool:
    """The officials' home sends this browser to the sign-in page (not, say, to a password change)."""
    response = client.get(HOME)
    return response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


# ---------------------------------------------------------------- keys


@pytest.fixture
def production_env(monkeypatch):
    for name in ("FLASK_DEBUG", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("settings", [
    {},  # nothing set: the demo key
    {"SECRET_KEY": DEMO_SECRET_KEY},
    {"SECRET_KEY": "test-secret"},
    {"SECRET_KEY": "kh0ng-du-dai-2026"},
    {"SECRET_KEY": "ab" * 32},  # long, but two characters
    {"SECRET_KEY": secrets.token_hex(32), "SECRET_KEY_FALLBACKS": [DEMO_SECRET_KEY]},
])
def test_production_refuses_a_public_or_weak_key_and_says_how_to_make_one(production_env, settings):
    with pytest.raises(WeakSecretKey) as refused:
        create_app(settings)
    assert "secrets.token_hex(32)" in str(refused.value)


def test_debug_and_tests_may_use_the_demo_key_and_production_a_real_one(production_env):
    assert create_app({"DEBUG": True}).secret_key == DEMO_SECRET_KEY
    assert create_app({"TESTING": True}).secret_key == DEMO_SECRET_KEY
    strong, old1, old2 = (secrets.token_hex(32) for _ in range(3))
    assert create_app({"SECRET_KEY": strong, "SECRET_KEY_FALLBACKS": [old1]}).secret_key == strong
    # As the environment gives it (SECRET_KEY_FALLBACKS=old1,old2): a list for Flask, never a string.
    app = create_app({"SECRET_KEY": strong, "SECRET_KEY_FALLBACKS": f"{old1}, {old2}"})
    assert app.config["SECRET_KEY_FALLBACKS"] == [old1, old2]
    assert app.config["WTF_CSRF_SECRET_KEY"] == [old1, old2, strong]  # newest last, as itsdangerous wants


def _forged_session(key: str, **data) -> str:
    forger = Flask("forger")
    forger.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(data)


def _user(app, who: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == DEMO_PASSWORDS[who][0]))
        db.session.expunge(user)
        return user


def test_a_session_forged_with_the_demo_key_is_refused(app):
    app.config["SECRET_KEY"] = real = secrets.token_hex(32)
    admin = _user(app, "admin")
    client = app.test_client()
    client.set_cookie("session", _forged_session(DEMO_SECRET_KEY, _user_id=admin.get_id(), _fresh=True))
    assert signed_out(client)
    # The same session signed with the app's own key is what a signed-in admin carries.
    client.set_cookie("session", _forged_session(real, _user_id=admin.get_id(), _fresh=True))
    assert client.get(HOME).status_code == 200
    # One from before session epochs (the bare id) has ended.
    client.set_cookie("session", _forged_session(real, _user_id=str(admin.id), _fresh=True))
    assert signed_out(client)


def test_a_rotated_key_keeps_sessions_and_open_forms_while_it_is_a_fallback(app, db_url, tmp_path):
    old = app.config["SECRET_KEY"]
    client = app.test_client()
    login(client, "official")
    csrf = csrf_of(client, "/doi-mat-khau")  # a form opened before the rotation
    cookie = client.get_cookie("session").value

    def rotated(fallbacks: list[str]):
        new_app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32), "SECRET_KEY_FALLBACKS": fallbacks,
                              "SQLALCHEMY_DATABASE_URI": db_url, "QR_OUTPUT_DIR": str(tmp_path / "qr")})
        new_client = new_app.test_client()
        new_client.set_cookie("session", cookie)
        return new_app, new_client

    new_app, during = rotated([old])
    assert during.get(HOME).status_code == 200
    sent = during.post("/doi-mat-khau", data={"current": "khong-phai-mat-khau", "new": "mat-khau-moi-2026",
                                              "confirm": "mat-khau-moi-2026", "csrf_token": csrf})
    assert sent.status_code == 422 and "Mật khẩu hiện tại không đúng." in sent.get_data(as_text=True)
    after_app, after = rotated([])  # the old key dropped: its sessions and forms end
    assert signed_out(after)
    for each in (new_app, after_app):
        with each.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- sessions that end


def _copy(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get(HOME).status_code == 200
    return thief


def test_sign_out_ends_every_session_of_the_account(app, client):
    login(client, "official")
    thief = _copy(app, client)
    with app.test_request_context():
        remembered = encode_cookie(_user(app, "official").get_id())  # a Flask-Login remember cookie
    keeper = app.test_client()
    keeper.set_cookie("remember_token", remembered)
    assert keeper.get(HOME).status_code == 200
    assert client.post("/dang-xuat", data={"csrf_token": csrf_of(client, HOME)}).status_code == 302
    assert signed_out(client)
    assert signed_out(thief)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remembered)
    assert signed_out(fresh)
    # Signing in again works, with a session of its own.
    login(client, "official")
    assert client.get(HOME).status_code == 200 and signed_out(thief)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(app, client):
    login(client, "official")
    thief = _copy(app, client)
    _email, password = DEMO_PASSWORDS["official"]
    done = client.post("/doi-mat-khau", data={"current": password, "new": "mat-khau-moi-2026",
                                              "confirm": "mat-khau-moi-2026",
                                              "csrf_token": csrf_of(client, "/doi-mat-khau")})
    assert done.status_code == 302
    assert client.get(HOME).status_code == 200
    assert signed_out(thief)


@pytest.mark.parametrize("action", ["dat-lai-mat-khau", "khoa"])
def test_an_admin_reset_or_deactivation_ends_the_sessions(app, client, action):
    login(client, "official")
    thief = _copy(app, client)
    admin = app.test_client()
    login(admin, "admin")
    official = _user(app, "official")
    token = csrf_of(admin, "/quan-tri/tai-khoan")
    done = admin.post(f"/quan-tri/tai-khoan/{official.id}/{action}", data={"csrf_token": token})
    assert done.status_code in (200, 302)
    assert signed_out(client)
    assert signed_out(thief)
    assert admin.get(HOME).status_code == 200  # the administrator's own session goes on


def test_sign_in_starts_a_fresh_session(app, client):
    client.get("/dang-nhap")
    client.get("/ngon-ngu/en")
    with client.session_transaction() as before:
        before["planted"] = "by whoever set this cookie"
        planted_csrf = before["csrf_token"]
    login(client, "official")
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after.get("csrf_token") != planted_csrf
        assert after["_user_id"] == _user(app, "official").get_id()
        assert after["lang"] == "en"  # the language choice is not a secret


# ---------------------------------------------------------------- no-store


def test_signed_in_pages_pdfs_exports_and_api_answers_are_not_stored(app, client, counter):
    login(client, "analyst")
    with app.app_context():
        ward = db.session.scalar(select(Unit.id).where(Unit.code == "00157"))
        user = db.session.scalar(select(User).where(User.email == DEMO_PASSWORDS["analyst"][0]))
        _token, plain = api_tokens.create(user, "no-store")
        db.session.commit()
    answers = {
        "dashboard": client.get(f"/quan-ly/bang-dieu-khien/?unit={ward}"),
        "pdf": client.get(f"/quan-ly/bao-cao/don-vi/{ward}.pdf?period=2026-H1"),
        "csv export": client.get("/quan-tri/du-lieu/phieu-tra-loi.csv"),
        "xlsx export": client.get("/quan-tri/du-lieu/so-phieu.xlsx"),
        "api": app.test_client().get("/api/v1/units", headers={"Authorization": f"Bearer {plain}"}),
    }
    for what, response in answers.items():
        assert response.status_code == 200, what
        assert response.headers.get("Cache-Control") == "no-store", what
    assert answers["pdf"].mimetype == "application/pdf"
    citizen = app.test_client().get(counter.url)
    assert citizen.status_code == 200
    assert "no-store" not in citizen.headers.get("Cache-Control", "")
    assert "no-store" not in app.test_client().get("/static/app.css").headers.get("Cache-Control", "")

"""Officials sign in, are rate limited, and see only their own units."""
from __future__ import annotations

import re

from sqlalchemy import select

from survey.access import descendants, restrict, visible_unit_ids
from survey.extensions import db
from survey.models import AuditLog, Unit, User
from tests.conftest import DEMO_PASSWORDS, csrf_of, login


def audit_actions(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()


def test_officials_pages_need_a_login(client):
    response = client.get("/quan-ly/")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_login_shows_own_units_only_and_is_audited(app, client):
    login(client, "official")
    html = client.get("/quan-ly/").get_data(as_text=True)
    assert "Phường Đồng Tiến" in html
    assert "Xã Mường Khến" not in html and "Trung tâm Phục vụ hành chính công tỉnh" not in html
    assert "login" in audit_actions(app)


def test_analyst_sees_the_whole_province(client):
    login(client, "analyst")
    html = client.get("/quan-ly/").get_data(as_text=True)
    for name in ("Tỉnh Hòa Bình Xanh", "Phường Đồng Tiến", "Xã Mường Khến", "Xã Lạc Sơn"):
        assert name in html


def test_wrong_password_is_refused_in_vietnamese_and_audited(app, client):
    token = csrf_of(client, "/dang-nhap")
    response = client.post("/dang-nhap", data={"email": "dongtien@demo.gov.vn", "password": "sai-mat-khau",
                                               "csrf_token": token})
    assert response.status_code == 401
    assert "Thư điện tử hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert audit_actions(app) == ["login_failed"]


def test_login_without_csrf_token_is_refused(client):
    email, password = DEMO_PASSWORDS["official"]
    response = client.post("/dang-nhap", data={"email": email, "password": password})
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)
    assert client.get("/quan-ly/").status_code == 302


def test_login_is_rate_limited(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    token = csrf_of(client, "/dang-nhap")
    codes = [client.post("/dang-nhap", data={"email": "x@y.vn", "password": "p", "csrf_token": token}).status_code
             for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
    limited = client.post("/dang-nhap", data={"csrf_token": token}).get_data(as_text=True)
    assert "Gửi quá nhiều lần" in limited


def test_open_redirect_after_login_is_ignored(client):
    token = csrf_of(client, "/dang-nhap")
    email, password = DEMO_PASSWORDS["official"]
    response = client.post("/dang-nhap?next=//evil.example/x",
                           data={"email": email, "password": password, "csrf_token": token})
    assert response.headers["Location"] == "/quan-ly/"


def test_session_cookie_is_httponly_and_samesite(client):
    response = login(client, "official")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_reset_password_forces_a_change(app, client, runner):
    result = runner.invoke(args=["reset-password", "dongtien@demo.gov.vn"])
    assert result.exit_code == 0, result.output
    temporary = re.search(r": (\S+)$", result.stdout.strip()).group(1)
    token = csrf_of(client, "/dang-nhap")
    response = client.post("/dang-nhap", data={"email": "dongtien@demo.gov.vn", "password": temporary,
                                               "csrf_token": token})
    assert response.headers["Location"].endswith("/doi-mat-khau")
    assert client.get("/quan-ly/").headers["Location"].endswith("/doi-mat-khau")
    token = csrf_of(client, "/doi-mat-khau")
    short = client.post("/doi-mat-khau", data={"current": temporary, "new": "ngan", "confirm": "ngan",
                                               "csrf_token": token})
    assert short.status_code == 422 and "ít nhất 10 ký tự" in short.get_data(as_text=True)
    done = client.post("/doi-mat-khau", data={"current": temporary, "new": "mat-khau-moi-2026",
                                              "confirm": "mat-khau-moi-2026", "csrf_token": token})
    assert done.status_code == 302 and client.get("/quan-ly/").status_code == 200
    assert {"password_reset", "password_changed"} <= set(audit_actions(app))


def test_create_user_cli_validates(runner):
    ok = runner.invoke(args=["create-user", "--email", "moi@demo.gov.vn", "--name", "Cán bộ mới",
                             "--role", "official", "--unit", "00163", "--password", "mat-khau-dai-2026"])
    assert ok.exit_code == 0, ok.output
    no_unit = runner.invoke(args=["create-user", "--email", "a@b.vn", "--name", "A", "--role", "official",
                                  "--password", "mat-khau-dai-2026"])
    assert no_unit.exit_code != 0 and "cần mã đơn vị" in no_unit.output
    again = runner.invoke(args=["create-user", "--email", "MOI@demo.gov.vn", "--name", "B", "--role",
                                "analyst", "--password", "mat-khau-dai-2026"])
    assert again.exit_code != 0 and "Đã có tài khoản" in again.output


def test_scope_limits_a_query_to_the_official_units(app):
    with app.test_request_context():
        ward = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        province = db.session.scalar(select(Unit).where(Unit.kind == "province"))
        official = db.session.scalar(select(User).where(User.email == "dongtien@demo.gov.vn"))
        analyst = db.session.scalar(select(User).where(User.role == "analyst"))
        assert visible_unit_ids(official) == {ward.id}
        assert visible_unit_ids(analyst) is None
        assert descendants({province.id}) == set(db.session.scalars(select(Unit.id)))
        seen = db.session.scalars(restrict(select(Unit.code), visible_unit_ids(official), Unit.id)).all()
        assert seen == ["00157"]


def test_official_language_choice_sticks_but_citizen_pages_stay_per_url(client, counter):
    login(client, "official")
    page = client.get("/quan-ly/").get_data(as_text=True)
    assert '<html lang="vi">' in page and ">English</a>" in page
    back = client.get("/ngon-ngu/en", headers={"Referer": "http://localhost/quan-ly/"})
    assert back.status_code == 302 and back.headers["Location"] == "/quan-ly/"
    assert '<html lang="en">' in client.get("/quan-ly/").get_data(as_text=True)
    # The same browser opening a counter's QR code still gets Vietnamese unless it asks.
    assert '<html lang="vi">' in client.get(counter.url).get_data(as_text=True)
    client.get("/ngon-ngu/vi")
    assert '<html lang="vi">' in client.get("/quan-ly/").get_data(as_text=True)
    # An off-site referrer is not followed.
    assert client.get("/ngon-ngu/en", headers={"Referer": "https://evil.example/x"}).headers["Location"] == "/quan-ly/"

"""The one gate (survey/gate.py), the permission table (survey/permissions.py), the menu built from
it, and the one argument parser (survey/args.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask import Blueprint
from sqlalchemy import select, update

from survey.access import roles_required
from survey.args import BadArgument, parse_int, parse_period
from survey.catalog.periods import following, period_of
from survey.extensions import db
from survey.models import User
from survey.officials.nav import MENU
from survey.permissions import GRANTS, Permission, allows, requirement_of, requires
from tests.conftest import DEMO_PASSWORDS, login
from tests.test_api import auth, make_token


def set_user(app, role: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.email == DEMO_PASSWORDS[role][0]).values(**values))
        db.session.commit()


# ---------------------------------------------------------------- the table

def test_permission_table_keeps_todays_roles():
    expected = {
        Permission.VIEW_UNIT: {"admin", "analyst", "official"},
        Permission.EXPORT_DATA: {"admin", "analyst", "official"},
        Permission.MANAGE_API_TOKENS: {"admin", "analyst", "official"},
        Permission.ISSUE_DOSSIER_LINKS: {"admin", "analyst", "official"},
        Permission.COMPARE_UNITS: {"admin", "analyst"},
        Permission.RUN_CAMPAIGNS: {"admin", "analyst"},
        Permission.IMPORT_VOLUMES: {"admin", "analyst"},
        Permission.REVIEW_QUARANTINE: {"admin", "analyst"},
        Permission.MANAGE_UNITS: {"admin"},
        Permission.MANAGE_USERS: {"admin"},
        Permission.READ_RAW_COMMENTS: {"admin"},
        Permission.MANAGE_REMEDIATION: {"admin", "analyst", "official"},
        Permission.HANDLE_FEEDBACK: {"admin", "analyst", "official"},
        Permission.MANAGE_TRACKER: {"admin", "analyst"},
    }
    assert {p: set(roles) for p, roles in GRANTS.items()} == expected
    assert not allows("official", Permission.COMPARE_UNITS) and allows("analyst", Permission.COMPARE_UNITS)
    assert not allows(None, Permission.VIEW_UNIT)


def test_blueprint_wide_declaration_and_route_precedence():
    def page():
        return ""

    assert requirement_of(page, "links.index") is Permission.ISSUE_DOSSIER_LINKS
    assert requirement_of(page, "review.queue") is Permission.REVIEW_QUARANTINE
    assert requirement_of(page, "dashboards.index") is None  # undeclared: the gate refuses it
    assert requirement_of(requires(Permission.READ_RAW_COMMENTS)(page), "review.raw") is Permission.READ_RAW_COMMENTS


def test_requires_takes_a_permission_not_a_role():
    with pytest.raises(TypeError):
        requires("admin")
    with pytest.raises(ValueError):
        roles_required("superuser")


# ---------------------------------------------------------------- a blueprint added later

def add_late_blueprint(app) -> None:
    """A blueprint registered after create_app, with no gate code of its own."""
    bp = Blueprint("late", __name__, url_prefix="/quan-ly/moi")

    @bp.get("/xem")
    @requires(Permission.COMPARE_UNITS)
    def declared():
        return "khai báo"

    @bp.get("/cu")
    @roles_required("admin", "analyst")  # the alias other lines of work use today
    def legacy():
        return "vai trò"

    @bp.get("/quen")
    def forgotten():
        return "quên khai báo"

    app.register_blueprint(bp)


def test_a_new_blueprint_is_gated_without_a_line_of_its_own(app, client):
    add_late_blueprint(app)
    for path in ("/quan-ly/moi/xem", "/quan-ly/moi/cu", "/quan-ly/moi/quen"):
        response = client.get(path)
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"], path
    login(client, "official")
    assert client.get("/quan-ly/moi/xem").status_code == 403
    assert client.get("/quan-ly/moi/cu").status_code == 403
    analyst = app.test_client()
    login(analyst, "analyst")
    assert analyst.get("/quan-ly/moi/xem").get_data(as_text=True) == "khai báo"
    assert analyst.get("/quan-ly/moi/cu").get_data(as_text=True) == "vai trò"


def test_a_route_without_a_permission_is_refused(app, client):
    add_late_blueprint(app)
    login(client, "admin")
    # While developing and testing: a server error naming the route, so it is fixed before release.
    assert client.get("/quan-ly/moi/quen").status_code == 500
    # In production: refused (and logged), never served.
    app.config.update(TESTING=False, DEBUG=False)
    response = client.get("/quan-ly/moi/quen")
    assert response.status_code == 403 and "quên khai báo" not in response.get_data(as_text=True)


def test_one_time_password_reaches_a_late_blueprint_only_through_change_password(app, client):
    add_late_blueprint(app)
    login(client, "analyst")
    set_user(app, "analyst", must_change_password=True)
    response = client.get("/quan-ly/moi/xem")
    assert response.status_code == 302 and response.headers["Location"].endswith("/doi-mat-khau")
    assert client.get("/doi-mat-khau").status_code == 200


# ---------------------------------------------------------------- accounts

def test_deactivated_account_loses_its_open_session(app, client):
    login(client, "official")
    assert client.get("/quan-ly/").status_code == 200
    set_user(app, "official", active=False)
    response = client.get("/quan-ly/bang-dieu-khien/")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]
    set_user(app, "official", active=True)
    # The session was ended, not merely paused: reactivating does not bring it back.
    assert client.get("/quan-ly/").status_code == 302


def test_one_time_password_page_shows_no_menu(app, client):
    login(client, "admin")
    set_user(app, "admin", must_change_password=True)
    page = client.get("/doi-mat-khau").get_data(as_text=True)
    assert 'href="/quan-tri/tai-khoan"' not in page and 'href="/quan-ly/bang-dieu-khien/"' not in page
    set_user(app, "admin", must_change_password=False)
    assert 'href="/quan-tri/tai-khoan"' in client.get("/quan-ly/").get_data(as_text=True)


# ---------------------------------------------------------------- the menu

@pytest.mark.parametrize("role", ["official", "analyst", "admin"])
def test_menu_offers_exactly_the_areas_the_gate_lets_in(app, client, role):
    login(client, role)
    home = client.get("/quan-ly/").get_data(as_text=True)
    with app.test_request_context():
        from flask import url_for

        urls = {endpoint: url_for(endpoint) for endpoint, _label in MENU}
    shown = {endpoint for endpoint, url in urls.items() if f'href="{url}"' in home}
    opens = {endpoint for endpoint, url in urls.items() if client.get(url).status_code != 403}
    assert shown == opens
    assert ("dashboards.province" in shown) == (role != "official")
    assert ("admin.users" in shown) == (role == "admin")


# ---------------------------------------------------------------- the API: same table, bearer token

def test_api_refuses_by_permission_with_its_name(app, client):
    token = make_token(app, "official")
    response = client.post("/api/v1/volumes", json=[], headers=auth(token))
    assert response.status_code == 403 and "nhập khối lượng hồ sơ" in response.get_json()["error"]
    assert client.get("/api/v1/units", headers=auth(token)).status_code == 200
    # A signed-in browser session counts for nothing on the API.
    login(client, "admin")
    assert client.get("/api/v1/units").status_code == 401


# ---------------------------------------------------------------- one argument parser

def test_period_rule():
    current = period_of(datetime.now(timezone.utc))
    assert parse_period(" 2026-h1 ") == "2026-H1"
    assert parse_period("2020-H1") == "2020-H1"
    assert parse_period(following(current)) == following(current)
    for bad in ("1999-H1", "2019-H2", following(following(current)), "2026-H3", "2026", "", "2026-Q1"):
        with pytest.raises(BadArgument):
            parse_period(bad)


def test_integer_rule():
    assert parse_int("42", "limit", 1, 100) == 42
    for bad in ("²", "٣", "-1", "1.0", "0x10", "101", "9" * 40, ""):
        with pytest.raises(BadArgument):
            parse_int(bad, "limit", 1, 100)


def test_the_same_period_is_refused_by_pages_api_and_cli(app, client, runner):
    login(client, "analyst")
    for path in ("/quan-ly/bang-dieu-khien/", "/quan-ly/bao-cao/tinh.pdf", "/quan-tri/du-lieu/so-phieu.csv"):
        assert client.get(path, query_string={"period": "1999-H1"}).status_code == 400, path
    response = client.get("/api/v1/responses/counts", query_string={"period": "1999-H1"},
                          headers=auth(make_token(app, "analyst")))
    assert response.status_code == 400 and "1999-H1" in response.get_json()["error"]
    result = runner.invoke(args=["indices", "--period", "1999-H1"])
    assert result.exit_code != 0 and "1999-H1" in result.output
    assert runner.invoke(args=["indices", "--period", "2026-h1"]).exit_code == 0


def test_unit_argument_outside_scope_is_not_found(app, client):
    with app.app_context():
        from survey.models import Unit

        other = db.session.scalar(select(Unit.id).where(Unit.code == "00178"))
    login(client, "official")
    assert client.get("/quan-tri/du-lieu/so-phieu.csv", query_string={"unit": other}).status_code == 404
    assert client.get("/quan-tri/du-lieu/so-phieu.csv", query_string={"unit": "1.5"}).status_code == 400
    response = client.get("/api/v1/responses/counts", query_string={"unit": other},
                          headers=auth(make_token(app, "official")))
    assert response.status_code == 404 and response.is_json

"""The JSON API: bearer tokens, the same scoping as the pages, JSON errors, and a valid OpenAPI file."""
from __future__ import annotations

import hashlib
import re

import pytest
import yaml
from openapi_spec_validator import validate
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import ApiToken, AuditLog, ServiceVolume, User
from survey.services import api_tokens
from survey.services.imports import FIELD_CODES
from tests.conftest import DEMO_PASSWORDS, csrf_of, login
from tests.indices.test_exports import OTHER, OWN, add_response, unit_id

SPEC_PATH = "survey/api/openapi.yaml"


def make_token(app, who: str) -> str:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == DEMO_PASSWORDS[who][0]))
        _token, plain = api_tokens.create(user, f"kiểm thử {who}")
        db.session.commit()
        return plain


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def volume_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ServiceVolume))


# ---------------------------------------------------------------- authentication

@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ks_khongdung", "Basic dXNlcjpwYXNz", "ks_x"])
def test_missing_or_invalid_token_gets_401_json(client, header):
    response = client.get("/api/v1/units", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.is_json
    assert "khóa" in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_only_the_hash_of_a_token_is_stored(app):
    token = make_token(app, "analyst")
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored


def test_revoked_token_and_deactivated_user_get_401(app, client):
    token = make_token(app, "official")
    assert client.get("/api/v1/units", headers=auth(token)).status_code == 200
    with app.app_context():
        db.session.scalar(select(ApiToken)).revoked = True
        db.session.commit()
    assert client.get("/api/v1/units", headers=auth(token)).status_code == 401
    second = make_token(app, "official")
    with app.app_context():
        db.session.scalar(select(User).where(User.email == DEMO_PASSWORDS["official"][0])).active = False
        db.session.commit()
    assert client.get("/api/v1/units", headers=auth(second)).status_code == 401


def test_a_session_cookie_is_not_an_api_credential(client):
    login(client, "admin")
    assert client.get("/api/v1/units").status_code == 401


# ---------------------------------------------------------------- reads, scoped

def test_units_are_scoped(app, client):
    official = client.get("/api/v1/units", headers=auth(make_token(app, "official"))).get_json()
    assert [u["code"] for u in official["units"]] == [OWN]
    analyst = client.get("/api/v1/units", headers=auth(make_token(app, "analyst"))).get_json()
    assert {OWN, OTHER, "01"} <= {u["code"] for u in analyst["units"]}


def test_unit_responses_scoped_and_404_for_invisible_units(app, client):
    add_response(app, f"{OWN}-Q1")
    add_response(app, f"{OTHER}-Q1")
    token = make_token(app, "official")
    response = client.get(f"/api/v1/units/{unit_id(app, OWN)}/responses", headers=auth(token))
    body = response.get_json()
    assert response.status_code == 200
    assert [r["unit_code"] for r in body["responses"]] == [OWN] and body["next_after"] is None
    first = body["responses"][0]
    assert "id" not in first  # no database id (docs/anonymity.md)
    assert first["answers"]["A1.1"] == 5 and first["answers"]["A1.3"] == "KAD"
    assert first["submitted_at"] == "2026-03-02T01:00:00Z"  # stored at 01:30: the hour only
    assert not any("hash" in key for key in first)
    for other in (unit_id(app, OTHER), unit_id(app, "01"), 999999):
        refused = client.get(f"/api/v1/units/{other}/responses", headers=auth(token))
        assert refused.status_code == 404 and refused.is_json and "error" in refused.get_json()


def test_unit_responses_paginate_with_a_cursor(app, client):
    for value in range(1, 6):
        add_response(app, f"{OWN}-Q1", values={"A1.1": value})
    token = make_token(app, "analyst")
    seen, after = [], ""
    for _ in range(4):
        body = client.get(f"/api/v1/units/{unit_id(app, OWN)}/responses",
                          query_string={"limit": 2, "after": after}, headers=auth(token)).get_json()
        seen += [r["answers"]["A1.1"] for r in body["responses"]]
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert sorted(seen) == [1, 2, 3, 4, 5]  # each once: none skipped or repeated across pages


@pytest.mark.parametrize("query", [{"period": "2026"}, {"limit": "0"}, {"limit": "abc"}, {"after": "-1"},
                                   {"survey": "KHONGCO"}])
def test_bad_parameters_get_400_json(app, client, query):
    token = make_token(app, "analyst")
    response = client.get(f"/api/v1/units/{unit_id(app, OWN)}/responses", query_string=query, headers=auth(token))
    assert response.status_code == 400 and response.is_json and response.get_json()["error"]


def test_counts_are_scoped(app, client):
    add_response(app, f"{OWN}-Q1")
    add_response(app, f"{OWN}-Q2", period="2025-H2")
    add_response(app, f"{OTHER}-Q1")
    official = client.get("/api/v1/responses/counts", headers=auth(make_token(app, "official"))).get_json()
    assert {(c["unit_code"], c["period"], c["responses"]) for c in official["counts"]} == {
        (OWN, "2026-H1", 1), (OWN, "2025-H2", 1)}
    analyst = make_token(app, "analyst")
    filtered = client.get("/api/v1/responses/counts", query_string={"period": "2026-H1"}, headers=auth(analyst))
    assert {(c["unit_code"], c["responses"]) for c in filtered.get_json()["counts"]} == {(OWN, 1), (OTHER, 1)}
    other_unit = client.get("/api/v1/responses/counts", query_string={"unit": unit_id(app, OTHER)},
                            headers=auth(make_token(app, "official")))
    assert other_unit.status_code == 404


# ---------------------------------------------------------------- volumes

VOLUMES = [{"unit_code": OWN, "period": "2026-H1", "field": "ho-tich", "dossiers": 1200},
           {"unit_code": OTHER, "period": "2026-H1", "field": "dat-dai", "dossiers": 40}]


@pytest.mark.parametrize("who", ["admin", "analyst"])
def test_volumes_json_import_is_audited(app, client, who):
    response = client.post("/api/v1/volumes", json=VOLUMES, headers=auth(make_token(app, who)))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 2, "updated": 0, "unchanged": 0, "periods": ["2026-H1"]}
    assert volume_count(app) == 2
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "weights_changed")).one()
        assert entry.details["via"] == "api" and entry.user_id is not None


def test_volumes_csv_body(app, client):
    body = "\ufeffunit_code,period,field,dossiers\n00157,2026-H2,khac,7\n".encode()
    response = client.post("/api/v1/volumes", data=body, content_type="text/csv",
                           headers=auth(make_token(app, "analyst")))
    assert response.status_code == 200 and response.get_json()["created"] == 1


def test_volumes_refused_for_officials(app, client):
    response = client.post("/api/v1/volumes", json=VOLUMES, headers=auth(make_token(app, "official")))
    assert response.status_code == 403 and response.is_json and volume_count(app) == 0


def test_volumes_with_bad_rows_write_nothing_and_list_errors(app, client):
    rows = [VOLUMES[0], {"unit_code": "KHONGCO", "period": "2026-H3", "field": "ho-tich", "dossiers": -1}]
    response = client.post("/api/v1/volumes", json=rows, headers=auth(make_token(app, "analyst")))
    body = response.get_json()
    assert response.status_code == 422 and "không có dòng nào được ghi" in body["error"]
    assert {(e["row"], e["column"]) for e in body["errors"]} == {(2, "unit_code"), (2, "period"), (2, "dossiers")}
    assert volume_count(app) == 0


@pytest.mark.parametrize("kwargs,status", [
    ({"data": "{not json", "content_type": "application/json"}, 400),
    ({"json": {"unit_code": OWN}}, 422),
    ({"json": []}, 422),
    ({"data": b"\xff\xfe", "content_type": "text/csv"}, 422),
    ({"data": b"", "content_type": "text/csv"}, 422),
    ({"data": b"x", "content_type": "application/xml"}, 415),
])
def test_malformed_volume_bodies_get_json_errors(app, client, kwargs, status):
    response = client.post("/api/v1/volumes", headers=auth(make_token(app, "admin")), **kwargs)
    assert response.status_code == status and response.is_json and response.get_json()["error"]
    assert volume_count(app) == 0


def test_unknown_paths_and_methods_answer_json(app, client):
    token = make_token(app, "analyst")
    missing = client.get("/api/v1/khong-co", headers=auth(token))
    assert missing.status_code == 404 and missing.is_json
    wrong_method = client.delete("/api/v1/units", headers=auth(token))
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert client.get("/api/v1/volumes", headers=auth(token)).status_code == 405


# ---------------------------------------------------------------- tokens page and CLI

def test_user_creates_and_revokes_own_token_on_the_page(app, client):
    login(client, "official")
    token_field = csrf_of(client, "/quan-tri/khoa-api")
    page = client.post("/quan-tri/khoa-api", data={"csrf_token": token_field, "name": "Cổng dữ liệu phường"})
    plain = re.search(r'id="new-token">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/units", headers=auth(plain)).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert client.post(f"/quan-tri/khoa-api/{token_id}/thu-hoi", data={"csrf_token": token_field}).status_code == 302
    assert client.get("/api/v1/units", headers=auth(plain)).status_code == 401
    with app.app_context():
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("api_token%"))).all()
    assert actions == ["api_token_created", "api_token_revoked"]


def test_official_cannot_revoke_someone_elses_token(app, client):
    make_token(app, "analyst")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    login(client, "official")
    token_field = csrf_of(client, "/quan-tri/khoa-api")
    assert client.post(f"/quan-tri/khoa-api/{token_id}/thu-hoi", data={"csrf_token": token_field}).status_code == 404
    assert "kiểm thử analyst" not in client.get("/quan-tri/khoa-api").get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(ApiToken, token_id).revoked


def test_create_api_token_cli(app, client, runner):
    result = runner.invoke(args=["create-api-token", "SONOIVU@demo.gov.vn", "--name", "Kho dữ liệu tỉnh"])
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip().splitlines()[0]
    assert plain.startswith("ks_")
    assert client.get("/api/v1/units", headers=auth(plain)).status_code == 200
    unknown = runner.invoke(args=["create-api-token", "khongco@demo.gov.vn", "--name", "x"])
    assert unknown.exit_code != 0 and "Không có tài khoản" in unknown.output


# ---------------------------------------------------------------- OpenAPI

def _spec() -> dict:
    with open(SPEC_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_openapi_file_is_valid_and_served(client):
    spec = _spec()
    validate(spec)  # raises on an invalid OpenAPI 3.1 document
    assert spec["openapi"].startswith("3.1")
    response = client.get("/api/v1/openapi.yaml")
    assert response.status_code == 200 and yaml.safe_load(response.get_data(as_text=True)) == spec


def test_every_api_route_is_documented(app):
    documented = {(path, method.upper()) for path, item in _spec()["paths"].items() for method in item
                  if method in {"get", "post", "put", "patch", "delete"}}
    registered = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.unknown":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        registered |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert registered and registered == documented


def test_openapi_field_codes_match_the_instrument():
    enum = _spec()["components"]["schemas"]["VolumeRecord"]["properties"]["field"]["enum"]
    assert enum == list(FIELD_CODES)

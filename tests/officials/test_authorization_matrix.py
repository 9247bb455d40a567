"""Every official route × every role × own/other unit: nobody reads what is not theirs.

The policy table below must name every route of the app: a new route that is not added here
fails the suite, so its access rule is decided on purpose, not by accident. It is written out
independently of survey/permissions.py on purpose: the test checks the table, it does not read
its answers from it. Every route registered on the app must be public (the allow-list in
survey/permissions.py) or declare a permission that the gate (survey/gate.py) checks; a signed-in
user with a one-time password reaches nothing but the change-password page.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.gate import gate, route_requirement
from survey.models import Answer, ApiToken, Response, Survey, Unit, User
from survey.permissions import ACCOUNT_ENDPOINTS, ALL_ROLES, PUBLIC_BLUEPRINTS, allows, is_public
from survey.security import CITIZEN_BLUEPRINT
from tests.conftest import DEMO_PASSWORDS, csrf_of, login

ALL = frozenset({"admin", "analyst", "official"})
STAFF = frozenset({"admin", "analyst"})
ADMIN = frozenset({"admin"})

# endpoint -> roles that may use it. Officials' rows are further scoped to their units.
POLICY: dict[str, frozenset[str]] = {
    "officials.home": ALL,
    "dashboards.index": ALL,
    "dashboards.province": STAFF,
    "dashboards.overview": STAFF,
    "dashboards.counter": ALL,          # own units' counters only: another unit's is a 404
    "campaigns.index": STAFF,
    "campaigns.show": STAFF,
    "campaigns.close": STAFF,
    "campaigns.reopen": STAFF,
    "campaigns.publish": STAFF,
    "campaigns.qr": STAFF,
    "campaigns.edit": STAFF,
    "campaigns.new": STAFF,
    "campaigns.preview": STAFF,
    "admin.units": ADMIN,
    "admin.unit_edit": ADMIN,
    "admin.counter_new": ADMIN,
    "admin.unit_new": ADMIN,
    "admin.units_import": ADMIN,
    "admin.data": ALL,
    "admin.volumes_import": STAFF,
    "admin.export_responses": ALL,
    "admin.export_counts": ALL,
    "admin.tokens": ALL,
    "admin.token_revoke": ALL,
    "admin.counter_rotate": ADMIN,
    "admin.counter_retire": ADMIN,
    "admin.counter_undo": ADMIN,
    "admin.standing_form_length": ADMIN,
    "admin.users": ADMIN,
    "admin.user_reset": ADMIN,
    "admin.user_deactivate": ADMIN,
    "admin.user_activate": ADMIN,
    "admin.user_new": ADMIN,
    "admin.comment_raw": ADMIN,
    "reports.unit_pdf": ALL,
    "reports.unit_docx": ALL,
    "reports.province_pdf": STAFF,
    "reports.province_docx": STAFF,
    "reports.posters_pdf": ALL,
    "reports.thematic_pdf": STAFF,
    "reports.thematic_docx": STAFF,
    "reports.campaign_posters_pdf": STAFF,
    "review.index": STAFF,
    "review.decide_group": STAFF,
    "review.quarantine_unit": STAFF,
    "links.index": ALL,
    "links.show": ALL,
    "links.slip_page": ALL,
    "links.slip_download": ALL,
    "progress.index": ALL,
    "progress.unit_page": ALL,
    "progress.unit_save": ALL,          # MANAGE_REMEDIATION, own units
    "progress.unit_pdf": ALL,
    "progress.unit_docx": ALL,
    "progress.province_page": STAFF,
    "progress.province_save": STAFF,
    "progress.province_pdf": STAFF,
    "progress.province_docx": STAFF,
    "remediation.index": ALL,
    "remediation.new": ALL,
    "remediation.show": ALL,
    "remediation.status": ALL,
    "remediation.note": ALL,
    "remediation.upload": ALL,
    "remediation.download": ALL,
    "tracker.index": STAFF,
    "tracker.upload": STAFF,
    "tracker.export": STAFF,
    "tracker.cause": STAFF,
    "tracker.new_task": STAFF,
    "feedback.index": ALL,
    "feedback.show": ALL,
    "feedback.classify": ALL,
    "feedback.assign": ALL,
    "feedback.set_due": ALL,
    "feedback.answer": ALL,
    "feedback.publish": ALL,
    "feedback.close": ALL,
    "feedback.reveal_contact": ALL,
}
# Not official routes: citizens, sign-in, static files, the token-authenticated API (own test).
OUTSIDE = {"public.", "short.", "case.", "results.", "auth.", "static", "api."}

MARK = "DAU-{code}"  # a comment only that unit's data contains


@pytest.fixture
def world(app):
    """One response with a unit-unique comment in every unit, and ids to put in URLs."""
    with app.app_context():
        units = {u.code: u for u in db.session.scalars(select(Unit))}
        survey = db.session.scalar(select(Survey).where(Survey.code == "SIPAS"))
        version = survey.current_version
        comment_q = next(q for q in version.questions if q.code == "COMMENT")
        overall_q = next(q for q in version.questions if q.code == "OVERALL")
        now = datetime.now(timezone.utc)
        from survey.catalog.periods import period_of

        for code, unit in units.items():
            for counter in unit.counters[:1]:
                r = Response(survey_id=survey.id, survey_version_id=version.id, counter_id=counter.id,
                             unit_id=unit.id, submitted_at=now, period=period_of(now), channel="qr",
                             idempotency_key=secrets.token_hex(16))
                r.answers = [Answer(question_id=comment_q.id, value_text=MARK.format(code=code)),
                             Answer(question_id=overall_q.id, value_int=4)]
                db.session.add(r)
        users = {u.email: u for u in db.session.scalars(select(User))}
        other_user = users["muongkhen@demo.gov.vn"]
        token = ApiToken(user_id=other_user.id, name="khác", created_at=now,
                         token_hash=hashlib.sha256(b"other-token").hexdigest())
        db.session.add(token)
        campaign = Survey(code="CD-TEST", title_vi="Chuyên đề thử", kind="thematic", status="draft")
        db.session.add(campaign)
        own, other = units["00157"], units["00178"]
        from datetime import timedelta

        from survey.models.integrity import DossierLink

        dossier_links = {side: DossierLink(survey_id=survey.id, unit_id=unit.id, dossier_hash=side * 8,
                                           service_field="ho-tich", created_at=now,
                                           expires_at=now + timedelta(days=30))
                         for side, unit in (("own", own), ("other", other))}
        db.session.add_all(dossier_links.values())
        from survey.models import FeedbackCase

        # A feedback case in every unit, its message carrying the unit's mark (case pages show it).
        feedback_cases = {}
        for code, unit in units.items():
            feedback_cases[code] = FeedbackCase(
                code=f"PA-TEST-{code}"[:24], token_hash=hashlib.sha256(code.encode()).hexdigest(),
                unit_id=unit.id, period=period_of(now), message=MARK.format(code=code),
                status="received", created_at=now, contact_consent=False)
        db.session.add_all(feedback_cases.values())
        db.session.commit()
        loop = _loop_rows(app, own, other)
        return {
            "own": {"unit_id": own.id, "counter_id": own.counters[0].id,
                    "user_id": users["dongtien@demo.gov.vn"].id, "link_id": dossier_links["own"].id,
                    "case_id": feedback_cases["00157"].id, **loop["own"]},
            "other": {"unit_id": other.id, "counter_id": other.counters[0].id,
                      "user_id": other_user.id, "link_id": dossier_links["other"].id,
                      "case_id": feedback_cases["00178"].id, **loop["other"]},
            "token_id": token.id, "import_id": loop["import_id"], "criterion_id": loop["criterion_id"],
            "survey_id": campaign.id,
            "marks": {code: MARK.format(code=code) for code in units},
            "own_codes": {"00157"},
        }


def _loop_rows(app, own, other) -> dict:
    """A remediation task with an evidence file per side, and a tracker import with one row."""
    from datetime import date, timedelta
    from pathlib import Path

    from survey.models.loop import TrackerCriterion, TrackerImport
    from survey.remediation import service
    from survey.remediation.demo import demo_pdf

    out = {}
    for side, unit in (("own", own), ("other", other)):
        task = service.create_task(service.TaskInput(
            unit_id=unit.id, criterion_kind="overall", criterion_code="overall",
            action=MARK.format(code=unit.code), lead_unit_id=unit.id,
            deadline=date.today() + timedelta(days=30), today=date.today()), None)
        evidence = service.attach_evidence(task, demo_pdf(["x"]), "x.pdf", Path(app.config["EVIDENCE_DIR"]), None)
        db.session.flush()
        out[side] = {"task_id": task.id, "evidence_id": evidence.id}
    imp = TrackerImport(index_kind="PAR", year=2025, imported_at=datetime.now(timezone.utc))
    db.session.add(imp)
    db.session.flush()
    criterion = TrackerCriterion(import_id=imp.id, code="1", content="Tiêu chí", max_score=2, achieved_score=1)
    db.session.add(criterion)
    db.session.commit()
    return {**out, "import_id": imp.id, "criterion_id": criterion.id}


def body_text(response) -> str:
    """What a person could read in a response: PDF text, every XLSX cell, or the page itself."""
    import io

    if response.mimetype == "application/pdf":
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    if response.mimetype.endswith("spreadsheetml.sheet"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    if response.mimetype.endswith("wordprocessingml.document"):
        import zipfile

        xml = zipfile.ZipFile(io.BytesIO(response.data)).read("word/document.xml").decode()
        return re.sub(r"<[^>]+>", "", xml)
    if response.mimetype.startswith("image/"):
        return ""
    return response.get_data(as_text=True)


def official_rules(app):
    return [r for r in app.url_map.iter_rules() if not any(r.endpoint.startswith(p) for p in OUTSIDE)]


def build_url(app, rule, world, side: str) -> str:
    values = {}
    for arg in rule.arguments:
        if arg in ("unit_id", "counter_id", "user_id", "link_id", "task_id", "evidence_id", "case_id"):
            values[arg] = world[side][arg]
        elif arg in ("token_id", "survey_id", "import_id", "criterion_id"):
            values[arg] = world[arg]
        elif arg == "fmt":
            values[arg] = "png" if "qr" in rule.rule else "csv"
        else:
            raise AssertionError(f"matrix test does not know URL argument {arg!r} of {rule.rule}")
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_official_route_has_an_access_rule(app):
    missing = sorted({r.endpoint for r in official_rules(app)} - POLICY.keys())
    assert not missing, f"routes without an access rule in the matrix: {missing}"


def test_every_route_is_public_or_behind_the_gate_with_a_permission(app):
    # The gate is the app's first before_request hook, for every blueprint present and future.
    # App-wide hooks run through one hook (security.citizen_hook_path): the gate must be the first
    # of those run on every page, and the citizens' blueprint may leave it out only because the
    # gate passes every endpoint of a public blueprint anyway.
    first = app.before_request_funcs[None][0]
    everyone, citizens = getattr(first, "hooks", ((first,), (first,)))
    assert everyone[0] is gate
    assert gate in citizens or CITIZEN_BLUEPRINT in PUBLIC_BLUEPRINTS
    ungated = sorted(r.endpoint for r in app.url_map.iter_rules()
                     if not is_public(r.endpoint) and r.endpoint not in ACCOUNT_ENDPOINTS
                     and route_requirement(app, r.endpoint) is None)
    assert not ungated, f"routes neither public nor declaring a permission: {ungated}"
    # Citizens' and sign-in routes are the only public ones: nothing official slipped into the list.
    public = {r.endpoint for r in app.url_map.iter_rules() if is_public(r.endpoint)}
    assert not {e for e in public if e.split(".")[0] in ("officials", "dashboards", "reports",
                                                         "campaigns", "admin")}, public


def test_declared_permissions_match_the_policy(app):
    """What each route declares grants exactly the roles this file expects, no more, no fewer."""
    wrong = {}
    for endpoint, expected in POLICY.items():
        requirement = route_requirement(app, endpoint)
        granted = frozenset(r for r in ALL_ROLES if requirement is not None and allows(r, requirement))
        if granted != expected:
            wrong[endpoint] = (sorted(granted), sorted(expected))
    assert not wrong, wrong


@pytest.mark.parametrize("role", ["official", "admin"])
def test_one_time_password_is_sent_to_change_password_everywhere(app, client, world, role):
    """A user whose password was reset reaches no officials' route, dashboards and reports
    included, until it is replaced: every GET and POST is sent to the change-password page."""
    login(client, role)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == DEMO_PASSWORDS[role][0]))
        user.must_change_password = True
        db.session.commit()
    token = csrf_of(client, "/doi-mat-khau")
    problems, seen = [], set()
    for side in ("own", "other"):
        for endpoint, method, url, response in request_all(app, client, world, side, token):
            seen.add(endpoint)
            location = response.headers.get("Location", "")
            if response.status_code != 302 or not location.endswith("/doi-mat-khau"):
                problems.append((endpoint, method, url, response.status_code, location))
    assert {"dashboards.index", "reports.unit_pdf", "reports.province_pdf"} <= seen
    assert not problems, "\n".join(map(str, problems))
    assert client.get("/doi-mat-khau").status_code == 200


def csrf_token(client) -> str:
    page = client.get("/quan-ly/").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def request_all(app, client, world, side: str, token: str | None):
    """(endpoint, method, url, response) for every official route, GET and POST."""
    for rule in official_rules(app):
        url = build_url(app, rule, world, side)
        for method in sorted(rule.methods & {"GET", "POST"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token or ""})
            # Read streamed bodies to the end, as a WSGI server does, before the next request:
            # an abandoned stream's teardown would otherwise close the next request's session.
            response.get_data()
            yield rule.endpoint, method, url, response


def test_anonymous_is_sent_to_sign_in_everywhere(app, client, world):
    for endpoint, method, _url, response in request_all(app, client, world, "other", None):
        assert response.status_code in (302, 400), (endpoint, method, response.status_code)
        if response.status_code == 302:
            assert "/dang-nhap" in response.headers["Location"], (endpoint, method)


@pytest.mark.parametrize("role", ["official", "analyst", "admin"])
def test_role_matrix(app, client, world, role):
    login(client, role)
    token = csrf_token(client)
    problems, used = [], 0
    for side in ("own", "other"):
        for endpoint, method, url, response in request_all(app, client, world, side, token):
            status = response.status_code
            where = (role, side, endpoint, method, url, status)
            if status >= 500:
                problems.append(("server error", *where))
                continue
            if role not in POLICY[endpoint]:
                if status not in (403, 404):
                    problems.append(("not refused", *where))
                continue
            used += 1
            if role == "official" and side == "other" and method == "GET":
                # A URL naming another unit's unit, counter or user is refused, never served.
                ids = {str(world["other"][k]) for k in ("unit_id", "counter_id", "user_id", "link_id",
                                                        "task_id", "evidence_id", "case_id")}
                if ids & set(re.split(r"[/.]", url)) and status not in (403, 404):
                    problems.append(("other unit served", *where))
            if role == "official" and status == 200:
                body = body_text(response)
                leaked = [m for code, m in world["marks"].items() if code not in world["own_codes"] and m in body]
                if leaked:
                    problems.append(("leak " + ",".join(leaked), *where))
    assert used, "the role could use no route at all"
    assert not problems, "\n".join(map(str, problems))


QUERY_UNIT_PARAMS = ("unit", "unit_id", "don_vi", "unit_code")


def test_official_cannot_widen_scope_with_query_parameters(app, client, world):
    login(client, "official")
    with app.app_context():
        other = db.session.get(Unit, world["other"]["unit_id"])
        other_values = (str(other.id), other.code)
    for rule in official_rules(app):
        if "GET" not in rule.methods or role_denied("official", rule.endpoint):
            continue
        base = build_url(app, rule, world, "own")
        for param in QUERY_UNIT_PARAMS:
            for value in other_values:
                response = client.get(f"{base}?{param}={value}&period=&fmt=csv")
                assert response.status_code < 500, (rule.endpoint, param, response.status_code)
                body = body_text(response) if response.status_code == 200 else ""
                leaked = [m for code, m in world["marks"].items() if code not in world["own_codes"] and m in body]
                assert not leaked, (rule.endpoint, param, value, leaked)


def role_denied(role: str, endpoint: str) -> bool:
    return role not in POLICY[endpoint]


def test_official_sees_own_unit_data_somewhere(app, client, world):
    """The leak checks above must be able to fail: the own unit's mark does show up."""
    login(client, "official")
    found = []
    for rule in official_rules(app):
        if "GET" in rule.methods and not role_denied("official", rule.endpoint):
            response = client.get(build_url(app, rule, world, "own"))
            if response.status_code == 200 and world["marks"]["00157"] in body_text(response):
                found.append(rule.endpoint)
    assert found, "no page or export shows the official's own comments: the leak check is blind"

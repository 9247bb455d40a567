"""Per-dossier one-time links (issue 11, item 3): issue (API and officers' page), answer once,
verified and anonymous, slip, and the verified-only index."""
from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.intake.responses import dossier_hash
from survey.links.tokens import make_link_token, read_link_token
from survey.models import Answer, Counter, Response, Survey, Unit
from survey.models.integrity import DossierLink, UsedDossier
from tests.conftest import full_answers, hidden_fields, login
from tests.indices.test_exports import OTHER, OWN
from tests.test_api import auth, make_token

CODE = "000.00.15.H01-260301-0001"


def body(**overrides) -> dict:
    data = {"dossier_code": CODE, "unit": OWN, "counter": f"{OWN}-Q1", "service_field": "ho-tich",
            "procedure_name": "Đăng ký khai sinh", "expires_in_days": 30}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def issue(app, client, token=None, **overrides):
    token = token or make_token(app, "official")
    return client.post("/api/v1/dossier-links", json=body(**overrides), headers=auth(token))


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def links(app) -> list[DossierLink]:
    with app.app_context():
        rows = list(db.session.scalars(select(DossierLink).order_by(DossierLink.id)))
        db.session.expunge_all()
        return rows


def responses(app) -> list[Response]:
    with app.app_context():
        rows = list(db.session.scalars(select(Response).order_by(Response.id)))
        db.session.expunge_all()
        return rows


def answer(client, path: str, value: str = "4", **extra):
    fields = hidden_fields(client.get(path).get_data(as_text=True))
    return client.post(path, data={**fields, **full_answers(value), **extra})


# ---------------------------------------------------------------- the API

def test_api_issues_a_link_that_keeps_only_the_keyed_hash(app, client):
    response = issue(app, client)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["url"].startswith("http://survey.test/h/")
    assert data["qr_svg"].startswith("<svg") and "<path" in data["qr_svg"]
    assert "/api/v1/dossier-links/" in data["slip_url"]
    expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=30) <= expires - datetime.now(timezone.utc) <= timedelta(days=31, hours=1)
    [link] = links(app)
    with app.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == OWN))
        counter_id = db.session.scalar(select(Counter.id).where(Counter.code == f"{OWN}-Q1"))
        # Same keyed hash as a typed code on the citizen form (spacing and case do not matter).
        assert link.dossier_hash == dossier_hash(survey_id, " " + CODE.lower())
    assert CODE not in str(vars(link)) and CODE.lower() not in str(vars(link))
    assert (link.unit_id, link.counter_id, link.service_field) == (unit_id, counter_id, "ho-tich")
    assert link.procedure_name == "Đăng ký khai sinh" and not link.used
    with app.app_context():
        assert read_link_token(path_of(data["url"]).split("/")[2]) == link.id


def test_api_is_scoped_and_authenticated(app, client):
    assert issue(app, client, unit=OTHER, counter=None).status_code == 404
    assert issue(app, client, unit="KHONG-CO", counter=None).status_code == 404
    unauthenticated = client.post("/api/v1/dossier-links", json=body())
    assert unauthenticated.status_code == 401 and unauthenticated.is_json
    assert links(app) == []
    # The other commune's official may issue for theirs (and the analyst for any unit).
    other = issue(app, client, make_token(app, "other_official"), unit=OTHER, counter=None)
    assert other.status_code == 201
    assert issue(app, client, make_token(app, "analyst"), dossier_code="HS-2", unit=OTHER,
                 counter=None).status_code == 201


@pytest.mark.parametrize("overrides, field", [
    ({"dossier_code": None}, "dossier_code"),
    ({"dossier_code": "x"}, "dossier_code"),
    ({"dossier_code": "mã có dấu cách"}, "dossier_code"),
    ({"service_field": "thue"}, "service_field"),
    ({"service_field": None}, "service_field"),
    ({"expires_in_days": 91}, "expires_in_days"),
    ({"expires_in_days": 0}, "expires_in_days"),
    ({"expires_in_days": True}, "expires_in_days"),
    ({"expires_in_days": "30"}, "expires_in_days"),
    ({"procedure_name": "x" * 256}, "procedure_name"),
    ({"counter": "00157-Q99"}, "counter"),
    ({"unit": 157}, "unit"),
])
def test_api_validation_errors_name_the_field(app, client, overrides, field):
    response = issue(app, client, **overrides)
    assert response.status_code == 400 and response.is_json
    assert field in response.get_json()["fields"], response.get_json()
    assert links(app) == []


def test_api_refuses_non_json_bodies(app, client):
    token = make_token(app, "official")
    assert client.post("/api/v1/dossier-links", data="dossier_code=x",
                       headers=auth(token)).status_code == 415
    assert client.post("/api/v1/dossier-links", data="{", content_type="application/json",
                       headers=auth(token)).status_code == 400
    listed = client.post("/api/v1/dossier-links", json=[body()], headers=auth(token))
    assert listed.status_code == 400 and "body" in listed.get_json()["fields"]


def test_reissuing_ends_the_older_unused_link(app, client):
    first = issue(app, client).get_json()
    second = issue(app, client, service_field="chung-thuc").get_json()
    assert first["url"] != second["url"]
    old, new = links(app)
    now = datetime.now(timezone.utc)
    assert old.expires_at.replace(tzinfo=timezone.utc) <= now < new.expires_at.replace(tzinfo=timezone.utc)
    page = client.get(path_of(first["url"]))
    assert page.status_code == 410 and "Phiếu này đã hết hạn" in page.get_data(as_text=True)
    assert client.get(path_of(second["url"])).status_code == 200
    # Once rated, the dossier gets no new link at all.
    assert answer(client, path_of(second["url"])).status_code == 303
    third = issue(app, client)
    assert third.status_code == 409 and "đã được đánh giá" in third.get_json()["error"]
    assert len(links(app)) == 2


# ---------------------------------------------------------------- the citizen

def test_link_opens_the_form_with_the_field_fixed(app, client):
    url = path_of(issue(app, client).get_json()["url"])
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Hộ tịch" in html and "Đăng ký khai sinh" in html
    assert 'name="service_field"' not in html and 'name="dossier_code"' not in html
    assert 'name="q_A1_1"' in html and "Quầy" in html  # the standing form, at the link's counter


def test_posting_stores_one_verified_response_and_uses_the_link(app, client):
    url = path_of(issue(app, client).get_json()["url"])
    # A forged field in the post changes nothing: the link's field is stored.
    posted = answer(client, url, service_field="dat-dai", dossier_code="KHAC-123")
    assert posted.status_code == 303 and posted.headers["Location"].endswith("/cam-on")
    assert "Cảm ơn" in client.get(posted.headers["Location"]).get_data(as_text=True)
    [stored] = responses(app)
    assert stored.verified and stored.channel == "link" and stored.service_field == "ho-tich"
    assert stored.status == "counted" and "dossier_hash" not in Response.__table__.c
    [link] = links(app)
    assert link.used
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UsedDossier)) == 1
        assert db.session.scalar(select(func.count()).select_from(Answer)) == len(full_answers())

    again = answer(client, url)  # the form was opened before... no: now it is closed
    assert again.status_code == 410 and "Phiếu này đã được đánh giá" in again.get_data(as_text=True)
    reopened = client.get(url)
    assert reopened.status_code == 410 and "Phiếu này đã được đánh giá" in reopened.get_data(as_text=True)
    assert len(responses(app)) == 1


def test_link_without_counter_opens_the_units_form(app, client):
    url = path_of(issue(app, client, counter=None, procedure_name=None,
                        service_field="chung-thuc").get_json()["url"])
    html = client.get(url).get_data(as_text=True)
    assert "Phường Đồng Tiến" in html and "Chứng thực" in html and 'name="service_field"' not in html
    assert answer(client, url).status_code == 303
    [stored] = responses(app)
    assert stored.counter_id is None and stored.service_field == "chung-thuc" and stored.verified


def test_a_second_post_of_an_open_form_stores_nothing(app, client):
    url = path_of(issue(app, client).get_json()["url"])
    fields = hidden_fields(client.get(url).get_data(as_text=True))
    second_tab = hidden_fields(client.get(url).get_data(as_text=True))
    assert client.post(url, data={**fields, **full_answers("5")}).status_code == 303
    late = client.post(url, data={**second_tab, **full_answers("1")})
    assert late.status_code in (409, 410) and "Phiếu này đã được đánh giá" in late.get_data(as_text=True)
    assert [r.verified for r in responses(app)] == [True]


def test_used_link_in_store_raises_link_used_and_stores_nothing(app, client):
    """store() itself refuses a used link (two posts racing past the page check)."""
    from survey.intake import responses as storage
    from survey.intake.place import lookup_counter, version_info
    from survey.intake.tokens import CounterToken

    issue(app, client)
    [link] = links(app)
    with app.test_request_context():
        found = lookup_counter(CounterToken(link.counter_id, link.survey_id, 0))
        version = version_info(found.version)
        q = version.questions[0]
        def sub(key):
            return storage.Submission(version=version.ref, unit_id=link.unit_id, counter_id=link.counter_id,
                                      channel="link", idempotency_key=key,
                                      answers=(storage.AnswerValue(q.id, value_int=4),),
                                      service_field="ho-tich", verified=True, dossier_link_id=link.id)
        assert storage.store(sub("a" * 32)).created
        with pytest.raises(storage.LinkUsed):
            storage.store(sub("b" * 32))
    assert len(responses(app)) == 1


def test_expired_link_shows_its_page_and_stores_nothing(app, client):
    url = path_of(issue(app, client).get_json()["url"])
    fields = hidden_fields(client.get(url).get_data(as_text=True))
    with app.app_context():
        db.session.execute(update(DossierLink).values(
            expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()
    page = client.get(url)
    assert page.status_code == 410 and "Phiếu này đã hết hạn" in page.get_data(as_text=True)
    posted = client.post(url, data={**fields, **full_answers()})
    assert posted.status_code == 410 and "Phiếu này đã hết hạn" in posted.get_data(as_text=True)
    assert responses(app) == [] and not links(app)[0].used


@pytest.mark.parametrize("respell", [
    lambda t: t + "=", lambda t: t + "==", lambda t: t + "é", lambda t: t + "!!", lambda t: t[:-1],
    lambda t: t.replace(".", ".="), lambda t: t.upper(),
])
def test_respelled_or_forged_tokens_are_404(app, client, respell):
    url = path_of(issue(app, client).get_json()["url"])
    token = url.split("/")[2]
    assert client.get(url).status_code == 200  # the canonical spelling opens
    changed = respell(token)
    assert changed != token
    page = client.get("/h/" + changed)
    assert page.status_code == 404 and "Mã QR không hợp lệ" in page.get_data(as_text=True)
    assert client.post("/h/" + changed, data=full_answers()).status_code == 404
    assert responses(app) == []


def test_counter_token_is_not_a_link_token(app, client, counter):
    assert client.get("/h/" + counter.token).status_code == 404
    with app.test_request_context():
        assert client.get("/s/" + make_link_token(1)).status_code == 404


def test_response_keeps_neither_the_link_id_nor_the_dossier_hash(app, client):
    """Anonymity: no column of the response or its answers equals the link's id or hash."""
    issue(app, client)
    [link] = links(app)
    unusual = 7_654_321  # an id no other row of the test database has
    with app.app_context():
        db.session.execute(update(DossierLink).where(DossierLink.id == link.id).values(id=unusual))
        db.session.commit()
        path = "/h/" + make_link_token(unusual)
    assert answer(client, path).status_code == 303
    with app.app_context():
        row = db.session.execute(select(Response.__table__)).mappings().one()
        answers = db.session.execute(select(Answer.__table__)).mappings().all()
        assert row["verified"] is True or row["verified"] == 1
        values = [str(v) for v in row.values()] + [str(v) for a in answers for v in a.values()]
        assert str(unusual) not in values and link.dossier_hash not in values
        assert not any(str(unusual) in v or link.dossier_hash in v for v in values)
        assert db.session.get(DossierLink, unusual).used


# ---------------------------------------------------------------- the officers' page and the slip

def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "slip.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_officer_issues_a_link_by_hand_and_prints_the_slip(app, client, tmp_path):
    login(client, "official")
    assert "/quan-ly/phieu-hen/" in client.get("/quan-ly/").get_data(as_text=True)  # menu entry
    form = {"csrf_token": csrf(client, "/quan-ly/phieu-hen/"), "dossier_code": CODE, "unit": OWN,
            "counter": f"{OWN}-Q1", "service_field": "dat-dai", "procedure_name": "",
            "expires_in_days": "14"}
    bad = client.post("/quan-ly/phieu-hen/", data={**form, "service_field": ""})
    assert bad.status_code == 400 and 'id="err-service_field"' in bad.get_data(as_text=True)
    other = client.post("/quan-ly/phieu-hen/", data={**form, "unit": OTHER, "counter": ""})
    assert other.status_code == 404 and links(app) == []

    created = client.post("/quan-ly/phieu-hen/", data=form)
    assert created.status_code == 303
    [link] = links(app)
    show = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "<svg" in show and "Đất đai" in show
    last_day = (datetime.now(timezone(timedelta(hours=7))).date() + timedelta(days=14)).strftime("%d/%m/%Y")
    assert last_day in show

    for size in ("a6", "80mm"):
        page = client.get(f"/quan-ly/phieu-hen/{link.id}/phieu?kho={size}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and '<svg class="qr"' in html and "<path" in html
        assert "Quét mã để đánh giá sự hài lòng" in html and last_day in html
        assert "Phường Đồng Tiến" in html and CODE not in html
        assert ("80mm 150mm" in html) == (size == "80mm")
        pdf = client.get(f"/quan-ly/phieu-hen/{link.id}/phieu.pdf?kho={size}")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        text = pdf_text(pdf.data, tmp_path)
        assert "Quét mã để đánh giá sự hài lòng" in text and "Đất đai" in text, text
        assert last_day in text and CODE not in text
    assert client.get(f"/quan-ly/phieu-hen/{link.id}/phieu?kho=a4").status_code == 404

    # Another commune's official cannot see or print it.
    client.post("/dang-xuat", data={"csrf_token": csrf(client, "/quan-ly/")})
    login(client, "other_official")
    for path in (f"/quan-ly/phieu-hen/{link.id}", f"/quan-ly/phieu-hen/{link.id}/phieu",
                 f"/quan-ly/phieu-hen/{link.id}/phieu.pdf"):
        assert client.get(path).status_code == 404, path


def test_signed_out_officer_page_goes_to_sign_in(client):
    response = client.get("/quan-ly/phieu-hen/")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_api_slip_is_scoped_and_ends_with_the_link(app, client, tmp_path):
    token = make_token(app, "official")
    data = issue(app, client, token).get_json()
    slip = client.get(path_of(data["slip_url"]), headers=auth(token))
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    assert "Đăng ký khai sinh" in pdf_text(slip.data, tmp_path)
    html = client.get(path_of(data["slip_url_80mm"]) + "&format=html", headers=auth(token))
    assert html.status_code == 200 and '<svg class="qr"' in html.get_data(as_text=True)
    other = make_token(app, "other_official")
    assert client.get(path_of(data["slip_url"]), headers=auth(other)).status_code == 404
    assert client.get(path_of(data["slip_url"])).status_code == 401
    answer(client, path_of(data["url"]))
    assert client.get(path_of(data["slip_url"]), headers=auth(token)).status_code == 410


# ---------------------------------------------------------------- verified counts and index

PERIOD = "2026-H1"


def add(app, a11: int, field: str, verified: bool) -> None:
    """A response that answers only A1.1, so its overall score is 1 (4–5) or 0 (1–3)."""
    import uuid

    with app.app_context():
        counter = db.session.scalar(select(Counter).where(Counter.code == f"{OWN}-Q1"))
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        version = survey.current_version
        question = next(q for q in version.questions if q.code == "A1.1")
        response = Response(survey_id=survey.id, survey_version_id=version.id, counter_id=counter.id,
                            unit_id=counter.unit_id, period=PERIOD, channel="link" if verified else "qr",
                            submitted_at=datetime(2026, 3, 2, 1, tzinfo=timezone.utc),
                            idempotency_key=uuid.uuid4().hex, service_field=field, verified=verified)
        response.answers.append(Answer(question_id=question.id, value_int=a11))
        db.session.add(response)
        db.session.commit()


@pytest.fixture
def tiny(app):
    """Two fields with volumes; verified: ho-tich [1], dat-dai [0, 1]; open channel: ho-tich [0]."""
    from survey.models import ServiceVolume

    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == OWN))
        db.session.add_all([ServiceVolume(unit_id=unit.id, period=PERIOD, field="ho-tich", dossiers=100),
                            ServiceVolume(unit_id=unit.id, period=PERIOD, field="dat-dai", dossiers=300)])
        db.session.commit()
        unit_id = unit.id
    add(app, 5, "ho-tich", True)
    add(app, 2, "dat-dai", True)
    add(app, 4, "dat-dai", True)
    add(app, 3, "ho-tich", False)
    # Independently: w = dossiers_h / responses_h, index = Σ w·y / Σ w.
    verified = (100 / 1 * 1 + 300 / 2 * (0 + 1)) / (100 + 300)
    everything = (100 / 2 * (1 + 0) + 300 / 2 * (0 + 1)) / (100 + 300)
    return unit_id, verified, everything


def test_verified_only_index_matches_a_hand_computation_and_bypasses_the_rollup(app, tiny):
    from survey.indices import rollups
    from survey.indices.aggregates import index_rows

    unit_id, verified, everything = tiny
    assert (verified, everything) == (0.625, 0.5)
    with app.app_context():
        rollups.refresh()  # all four folded: the verified-only read must not take the rollup's sums
        for only, expected, n in ((False, everything, 4), (True, verified, 3)):
            [row] = [r for r in index_rows(PERIOD, {unit_id}, stats=("overall",), verified_only=only)]
            assert row.est.estimate == pytest.approx(expected, abs=1e-12)
            assert row.responses == n


def test_indices_cli_verified_only(app, runner, tiny):
    _unit_id, verified, everything = tiny
    every = runner.invoke(args=["indices", "--period", PERIOD, "--unit", OWN, "--format", "json"])
    only = runner.invoke(args=["indices", "--period", PERIOD, "--unit", OWN, "--format", "json",
                               "--verified-only"])
    import json

    assert json.loads(every.output)[0]["estimate"] == pytest.approx(everything)
    assert json.loads(only.output)[0]["estimate"] == pytest.approx(verified)


def test_dashboard_and_report_show_the_verified_count_and_toggle(app, client, tiny, tmp_path):
    from survey.dashboards.formatting import format_percent

    unit_id, verified, everything = tiny
    login(client, "official")
    url = f"/quan-ly/bang-dieu-khien/?unit={unit_id}&period={PERIOD}"
    page = client.get(url).get_data(as_text=True)
    assert "trong đó 3 qua phiếu hẹn (đã xác thực)" in page
    assert format_percent(everything) in page and 'id="verified-only"' not in page
    only = client.get(url + "&xac_thuc=1").get_data(as_text=True)
    assert format_percent(verified) in only and 'id="verified-only"' in only
    assert format_percent(everything) not in only  # the trend and components follow the toggle
    report = client.get(f"/quan-ly/bao-cao/don-vi/{unit_id}.pdf?period={PERIOD}")
    text = " ".join(pdf_text(report.data, tmp_path).split())
    assert "trong đó 3 qua phiếu hẹn (đã xác thực)" in text
    assert format_percent(verified) in text


def test_quarantined_verified_responses_are_not_counted(app, tiny):
    from survey.links.service import verified_count

    unit_id, _v, _e = tiny
    with app.app_context():
        assert verified_count({unit_id}, PERIOD) == 3
        db.session.execute(update(Response).where(Response.service_field == "dat-dai")
                           .values(status="quarantined"))
        db.session.commit()
        assert verified_count({unit_id}, PERIOD) == 1
        assert verified_count(None, "2026-H2") == 0


def test_a_double_tap_on_a_link_thanks_again_and_stores_once(app, client):
    url = path_of(issue(app, client).get_json()["url"])
    fields = {**hidden_fields(client.get(url).get_data(as_text=True)), **full_answers("4")}
    first = client.post(url, data=fields)
    again = client.post(url, data=fields)  # the same idempotency key: the very same submission
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert len(responses(app)) == 1
    # Another submission (a fresh key) on the used link is still refused.
    other = client.post(url, data={**fields, "idem": "f" * 32})
    assert other.status_code == 410 and "Phiếu này đã được đánh giá" in other.get_data(as_text=True)
    assert len(responses(app)) == 1

"""A thematic campaign's own questions: results in the PDF and on the page, checked against an
independent row-level computation; the demo campaign; preview, posters and the group-B fix."""
from __future__ import annotations

import io
import math
import re
import subprocess

import numpy as np
import pypdf
import pytest
from sqlalchemy import String, cast, func, select

from analysis import Design, proportion
from analysis.crosstab import rao_scott_rows
from analysis.report.format_vi import format_percent
from survey.catalog.instrument import SERVICE_FIELDS
from survey.catalog.question_bank import CUSTOM_TYPES
from survey.extensions import db
from survey.indices.report_data import thematic_report_data
from survey.models import Answer, Question, Response, ServiceVolume, Survey, Unit
from survey.services.demo_campaign import DEMO_CODE, SUGGESTIONS, UNIT_CODES, seed_campaign_demo
from tests.conftest import csrf_of, login
from tests.test_campaigns import BASE, campaign_data

PERIOD = "2026-H1"
REPORTS = "/quan-ly/bao-cao"


@pytest.fixture
def demo(app) -> int:
    """The demo campaign; two of its units have service volumes, so its figures are weighted."""
    with app.app_context():
        units = db.session.scalars(select(Unit).where(Unit.code.in_(UNIT_CODES[:2]))).all()
        db.session.add_all(ServiceVolume(unit_id=u.id, period=PERIOD, field=SERVICE_FIELDS[0][0],
                                         dossiers=400 + 900 * i) for i, u in enumerate(units))
        db.session.commit()
        assert seed_campaign_demo(PERIOD)["responses"] > 250
        return db.session.scalar(select(Survey.id).where(Survey.code == DEMO_CODE))


def flat_text(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()
    return " ".join(text.split())


def test_thematic_pdf_lists_every_custom_question_with_its_results(app, client, demo):
    login(client, "analyst")
    response = client.get(f"{REPORTS}/chuyen-de/{demo}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = flat_text(response.data)
    with app.app_context():
        data = thematic_report_data(db.session.get(Survey, demo))
    assert {q.type for q in data.questions} == set(CUSTOM_TYPES)
    for q in data.questions:
        assert f"{q.code}. {q.text}" in text, q.code
        if q.type in ("likert5", "yesno"):
            assert format_percent(q.rate.estimate) in text
        for share in q.shares:
            assert share.share is not None and format_percent(share.share.estimate) in text, share.label
        if q.type == "text":
            assert q.texts and any(s in text for s in SUGGESTIONS)
            assert "0912 345 678" not in text  # open answers pass the one anonymiser
        if q.type != "text":
            assert {b.code for b in q.breakdowns} == {"AGE", "SEX", "AREA"}
    assert "Rao–Scott" in text and "Chỉ số hài lòng chung theo nhóm người trả lời" in text
    # The demo data make online filing depend on age: the report must say the groups differ.
    online = next(q for q in data.questions if q.type == "yesno")
    assert next(b for b in online.breakdowns if b.code == "AGE").test.significant


def _rows(survey_id: int, code: str):
    """Every counted response of the campaign: unit, and its answer to `code` (None if none)."""
    answers = (select(Answer.response_id, func.coalesce(Answer.value_text, cast(Answer.value_int, String)).label("v"))
               .join(Question, Question.id == Answer.question_id).where(Question.code == code)
               .subquery())
    return db.session.execute(
        select(Response.unit_id, answers.c.v).outerjoin(answers, answers.c.response_id == Response.id)
        .where(Response.survey_id == survey_id, Response.status == "counted")
        .order_by(Response.id)).all()


def test_shares_agree_with_an_independent_row_level_computation(app, demo):
    """SQL counts + index_table vs a design built from the rows themselves (analysis.proportion)."""
    with app.app_context():
        survey = db.session.get(Survey, demo)
        data = thematic_report_data(survey)
        choice = next(q for q in data.questions if q.type == "choice")
        rows = _rows(demo, choice.code)
        units = np.array([u for u, _v in rows])
        # The weights by hand: responses without a service field count as the unit's average
        # dossier, w = D_u / N_u (1 where the unit has no volumes).
        dossiers = dict(db.session.execute(select(ServiceVolume.unit_id, func.sum(ServiceVolume.dossiers))
                                           .where(ServiceVolume.period == PERIOD)
                                           .group_by(ServiceVolume.unit_id)).all())
        size = {u: int((units == u).sum()) for u in set(units.tolist())}
        w = np.array([dossiers.get(u, size[u]) / size[u] for u in units])
        assert len(set(w.round(6))) > 1  # weighted for real
        design = Design.from_arrays(weights=w, strata=units, lonely_psu="adjust")
        values = np.array([None if v is None else str(v) for _u, v in rows], dtype=object)
        answered = values != None  # noqa: E711 (element-wise)
        assert answered.sum() == choice.answered
        for share in choice.shares:
            y = (values == share.code).astype(float)
            want = proportion(design, y, domain=answered, ci="logit")
            got = share.share
            for field in ("estimate", "se", "ci_low", "ci_high"):
                assert math.isclose(getattr(got, field), getattr(want, field), rel_tol=1e-9), field
            assert got.n == want.n and got.df == want.df
        # The test across areas: Rao-Scott from the rows, the same as from the SQL counts.
        by_response = np.array([None if v is None else str(v) for _u, v in _rows(demo, "AREA")], dtype=object)
        assert (by_response != None).sum() > 200  # noqa: E711 (element-wise)
        want = rao_scott_rows(design, by_response, values)
        got = next(b for b in choice.breakdowns if b.code == "AREA").test
        assert math.isclose(got.statistic, want.statistic, rel_tol=1e-9)
        assert math.isclose(got.p_value, want.p_value, rel_tol=1e-9)
        assert got.significant  # the demo's rural answers lean on loudspeakers


def test_campaign_page_shows_the_results(app, client, demo):
    login(client, "analyst")
    page = client.get(f"{BASE}/{demo}").get_data(as_text=True)
    with app.app_context():
        data = thematic_report_data(db.session.get(Survey, demo))
    for q in data.questions:
        assert q.text in page
    share = data.questions[2].shares[0]
    assert format_percent(share.share.estimate) in page and share.label in page
    assert "Kiểm định Rao–Scott" in page and "Kiểm định Wald" in page


def test_group_b_items_ticked_without_an_area_are_ignored_and_saving_succeeds(app, client):
    login(client, "analyst")
    data = campaign_data(app, area="", b_codes=["B1.1", "B1.2", "B2.1", "B2.2", "B3.1", "B3.2"])
    data["csrf_token"] = csrf_of(client, f"{BASE}/moi")
    response = client.post(f"{BASE}/moi", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    survey_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        codes = [q.code for q in survey.current_version.questions]
        assert not any(c.startswith("B") for c in codes) and "A1.1" in codes
        assert (survey.scope or {}).get("policy_area") is None
    # Editing it again with the (pre-ticked) B items and no area saves as well.
    edit = f"{BASE}/{survey_id}/sua"
    form = client.get(edit).get_data(as_text=True)
    assert re.search(r'name="b_codes" value="B1.1" checked', form)
    data["csrf_token"] = csrf_of(client, edit)
    assert client.post(edit, data=data).status_code == 303


def test_preview_shows_the_citizen_form_and_stores_nothing(app, client):
    login(client, "analyst")
    data = campaign_data(app)
    data["csrf_token"] = csrf_of(client, f"{BASE}/moi")
    survey_id = int(client.post(f"{BASE}/moi", data=data).headers["Location"].rsplit("/", 1)[1])
    assert f"{BASE}/{survey_id}/xem-truoc" in client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Response))
    page = client.get(f"{BASE}/{survey_id}/xem-truoc")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Xem trước" in html
    assert "Ông/Bà biết chính sách qua kênh nào?" in html and 'name="q_C1"' in html
    assert 'method="post"' not in html and 'name="csrf_token"' not in html
    assert '<button type="button" disabled>' in html
    # Sending it anyway (by hand): GET re-shows the preview, POST is not a route; nothing stored.
    assert client.get(f"{BASE}/{survey_id}/xem-truoc?q_C2=1&q_C1=2").status_code == 200
    assert client.post(f"{BASE}/{survey_id}/xem-truoc", data={"q_C2": "1"}).status_code == 405
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == before
        assert db.session.get(Survey, survey_id).status == "draft"


def test_campaign_posters_one_page_per_target_unit(app, client, demo):
    login(client, "analyst")
    response = client.get(f"{REPORTS}/chuyen-de/{demo}/ap-phich.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == len(UNIT_CODES)
    with app.app_context():
        names = db.session.scalars(select(Unit.name).where(Unit.code.in_(UNIT_CODES))).all()
    text = flat_text(response.data)
    assert all(name in text for name in names)
    data = campaign_data(app)
    data["csrf_token"] = csrf_of(client, f"{BASE}/moi")
    draft = int(client.post(f"{BASE}/moi", data=data).headers["Location"].rsplit("/", 1)[1])
    assert client.get(f"{REPORTS}/chuyen-de/{draft}/ap-phich.pdf").status_code == 404


def test_exports_carry_answer_labels_not_codes(app, client, demo):
    import csv

    login(client, "analyst")
    response = client.get("/quan-tri/du-lieu/phieu-tra-loi.csv", query_string={"survey": DEMO_CODE})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) > 250
    with app.app_context():
        questions = {q.type: q for q in db.session.get(Survey, demo).current_version.questions
                     if re.fullmatch(r"C\d+", q.code)}
    choice_labels = {c["vi"] for c in questions["choice"].choices}
    given = {r[questions["choice"].code] for r in rows} - {""}
    assert given and given <= choice_labels
    multi = {r[questions["multi"].code] for r in rows} - {""}
    assert any("; " in v for v in multi)
    assert all(set(v.split("; ")) <= {c["vi"] for c in questions["multi"].choices} for v in multi)
    assert {r[questions["yesno"].code] for r in rows} == {"Có", "Không"}
    assert {r["AREA"] for r in rows} - {""} == {"Thành thị", "Nông thôn"}
    assert {r["AGE"] for r in rows} - {""} <= {"Từ 18 đến 29 tuổi", "Từ 30 đến 44 tuổi", "Từ 45 đến 59 tuổi",
                                               "Từ 60 tuổi trở lên"}
    assert {r[questions["likert5"].code] for r in rows} <= {"1", "2", "3", "4", "5"}  # scores stay numbers

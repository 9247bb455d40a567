"""The short form: one item per component plus overall. The page promises what it asks (about a
minute, against three for the full form); items not asked are missing, not zero, so a component's
index comes from the item asked, checked against hand-computed values."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from survey.catalog.instrument import STANDING_CODE
from survey.catalog.periods import period_of
from survey.extensions import db
from survey.indices.aggregates import index_rows
from survey.models import Answer, AuditLog, Survey
from survey.public.form_page import short_form
from tests.conftest import csrf_of, login, open_form

ASKED = ("A1_1", "A2_1", "A3_1", "A4_1", "A5_1", "A6_1", "OVERALL")


def set_short(app, on: bool = True) -> None:
    with app.app_context():
        db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE)).short_form = on
        db.session.commit()


def test_full_form_promises_three_minutes(client, counter):
    html = client.get(counter.url).get_data(as_text=True)
    assert "mất khoảng 3 phút" in html and 'name="q_A1_2"' in html


def test_short_form_asks_one_item_per_component_and_promises_a_minute(app, client, counter):
    set_short(app)
    html = client.get(counter.url).get_data(as_text=True)
    assert "mất khoảng 1 phút" in html
    asked = {code for code in ASKED if f'name="q_{code}"' in html}
    assert asked >= {"A1_1", "A2_1", "A3_1", "A4_1", "OVERALL"}
    for dropped in ("A1_2", "A1_3", "A2_2", "A3_5", "A4_3"):
        assert f'name="q_{dropped}"' not in html


def test_short_form_keeps_questions_without_a_numbered_component():
    class Q:  # the fields short_form reads
        def __init__(self, code, component):
            self.code, self.component = code, component

    qs = (Q("A1.1", "A1"), Q("A1.2", "A1"), Q("C1", None), Q("B1.1", "B1"), Q("B1.2", "B1"),
          Q("OVERALL", "OVERALL"), Q("COMMENT", None))
    assert [q.code for q in short_form(qs)] == ["A1.1", "C1", "B1.1", "OVERALL", "COMMENT"]


def post_short(client, counter, answers: dict[str, int]) -> None:
    data = dict(open_form(client, counter.url))
    data.update({f"q_{code}": str(v) for code, v in answers.items()})
    data["service_field"] = "dat-dai"
    response = client.post(counter.url, data=data, environ_base={"REMOTE_ADDR": f"10.9.0.{len(answers)}"})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]


def test_items_not_asked_are_missing_not_zero(app, client, counter):
    set_short(app)
    # Three respondents, one service field (equal weights). Respondent scores by hand:
    #   r1: A1 1, A2 1, A3 0, A4 1 -> 0.75;  r2: all 1 -> 1;  r3: A1 0, others 1 -> 0.75.
    post_short(client, counter, {"A1_1": 5, "A2_1": 4, "A3_1": 1, "A4_1": 5, "OVERALL": 4})
    post_short(client, counter, {"A1_1": 4, "A2_1": 5, "A3_1": 5, "A4_1": 4, "OVERALL": 5})
    post_short(client, counter, {"A1_1": 2, "A2_1": 4, "A3_1": 5, "A4_1": 5, "OVERALL": 3})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 15  # nothing stored for unasked
        rows = {(r.est.stat, r.est.measure): r.est
                for r in index_rows(period_of(datetime.now(timezone.utc)), {counter.unit_id})}
    # Had the unasked items been zeros, A1 would be (1/3 + 1/3 + 0) / 3, not 2/3.
    assert rows[("component", "A1")].estimate == pytest.approx(2 / 3, rel=1e-12)
    assert rows[("component", "A3")].estimate == pytest.approx(2 / 3, rel=1e-12)
    assert rows[("component", "A2")].estimate == pytest.approx(1.0)
    assert rows[("overall", "overall")].estimate == pytest.approx((0.75 + 1 + 0.75) / 3, rel=1e-12)
    assert rows[("overall", "overall")].n == 3
    assert ("rate", "A1.2") not in rows and ("component", "A5") not in rows
    assert rows[("rate", "A1.1")].estimate == pytest.approx(2 / 3)


def test_admin_switches_the_standing_form_and_it_is_audited(app, client, counter):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/don-vi")
    client.post("/quan-tri/phieu-rut-gon", data={"csrf_token": token, "rut_gon": "1"})
    assert "mất khoảng 1 phút" in client.get(counter.url).get_data(as_text=True)
    client.post("/quan-tri/phieu-rut-gon", data={"csrf_token": token, "rut_gon": "0"})
    assert "mất khoảng 3 phút" in client.get(counter.url).get_data(as_text=True)
    with app.app_context():
        logged = db.session.scalars(select(AuditLog.details).where(AuditLog.action == "survey_short_form")).all()
    assert [d["short_form"] for d in logged] == [True, False]


def test_campaign_keeps_its_short_form_setting(app):
    from survey.services import campaigns as service
    from tests.test_campaigns import _direct_campaign

    survey_id, _uid = _direct_campaign(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert service.input_of(survey).short_form is False
        service.update(survey, replace(service.input_of(survey), short_form=True))
        assert db.session.get(Survey, survey_id).short_form is True
        assert service.input_of(db.session.get(Survey, survey_id)).short_form is True

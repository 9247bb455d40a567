"""Shared steps of the feedback tests: a citizen submits with the reply box, an official acts."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import FeedbackCase, Unit
from tests.conftest import full_answers, open_form

TOKEN_IN_URL = re.compile(r"/phan-anh/([A-Za-z0-9_-]{43})")


def submit(client, url: str, extra: dict | None = None, value: str = "4"):
    data = dict(open_form(client, url))
    data.update(full_answers(value))
    data.update(extra or {})
    return client.post(url, data=data)


def open_case_via_form(client, url: str, extra: dict | None = None) -> str:
    """Submit a low rating with the reply box ticked; the private token from the redirect."""
    answers = {"q_A3_1": "1", "q_COMMENT": "Chờ lâu quá", "reply": "y"}
    answers.update(extra or {})
    response = submit(client, url, answers)
    assert response.status_code == 303, response.status_code
    found = TOKEN_IN_URL.search(urlsplit(response.headers["Location"]).path)
    assert found, response.headers["Location"]
    return found.group(1)


def case_by_code(app, code: str) -> FeedbackCase:
    with app.app_context():
        case = db.session.scalar(select(FeedbackCase).where(FeedbackCase.code == code))
        db.session.expunge(case)
        return case


def only_case(app) -> FeedbackCase:
    with app.app_context():
        case = db.session.scalars(select(FeedbackCase)).one()
        db.session.expunge(case)
        return case


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture
def ward_counter(app):
    """A counter of Phường Đồng Tiến (00157), the demo official's unit."""
    from survey.catalog.instrument import STANDING_CODE
    from survey.intake.tokens import make_token
    from survey.models import Counter, Survey

    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        c = db.session.scalar(select(Counter).where(Counter.unit_id == unit.id).order_by(Counter.id))
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        return f"/s/{make_token(c.id, survey.id, c.token_version)}"

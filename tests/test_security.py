"""Security headers on every page, and limits on stored submissions per phone and per counter."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Response
from tests.conftest import full_answers, open_form


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


@pytest.mark.parametrize("path", ["/", "/dang-nhap", "/s/forged", "/nope"])
def test_security_headers_everywhere(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be ignored anyway


def test_hsts_behind_tls(client):
    headers = client.get("/", base_url="https://khaosat.example").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_page_carries_inline_script(client, counter):
    for path in (counter.url, "/dang-nhap", "/s/forged"):
        assert "<script" not in client.get(path).get_data(as_text=True)


def statuses(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(select(Response.status, Response.flags).order_by(Response.id))]


def test_one_phone_over_its_limit_is_stored_quarantined_never_refused(app, client, counter):
    app.config["SUBMIT_LIMIT_PER_CLIENT"] = "3 per minute"
    codes = []
    for _ in range(5):
        codes.append(client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}).status_code)
    assert codes == [303] * 5
    assert statuses(app) == [("counted", None)] * 3 + [("quarantined", "limit-client")] * 2
    page = client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}, follow_redirects=True)
    assert page.status_code == 200 and "Cảm ơn Ông/Bà đã đánh giá!" in page.get_data(as_text=True)


def test_validation_errors_do_not_use_up_the_limit(app, client, counter):
    app.config["SUBMIT_LIMIT_PER_CLIENT"] = "2 per minute"
    for _ in range(4):
        assert client.post(counter.url, data=open_form(client, counter.url)).status_code == 422
    assert client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}).status_code == 303
    assert statuses(app) == [("counted", None)]


def test_counter_limit_holds_across_phones(app, client, counter):
    app.config["SUBMIT_LIMIT_PER_COUNTER"] = "2 per minute"
    codes = []
    for phone in range(4):
        agent = {"User-Agent": f"Phone {phone}"}
        hidden = open_form(client, counter.url)
        codes.append(client.post(counter.url, data={**hidden, **full_answers()}, headers=agent).status_code)
    assert codes == [303] * 4
    assert statuses(app) == [("counted", None)] * 2 + [("quarantined", "limit-counter")] * 2

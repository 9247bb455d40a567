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


# -- app-wide hooks on citizens' pages (security.citizen_hook_path) ----------------------------------

def _phases(app) -> dict[str, tuple]:
    """(every hook, the hooks citizens' pages run) of each phase, as citizen_hook_path set them."""
    return {"before": app.before_request_funcs[None][0].hooks, "after": app.after_request_funcs[None][0].hooks,
            "teardown": app.teardown_request_funcs[None][0].hooks}


def test_hooks_left_out_on_citizen_pages_do_nothing_there(app, client, counter, monkeypatch):
    """Every app-wide hook that citizens' pages skip is run here on those pages and must leave the
    request, the response and the session as they were: a rule that starts to apply to citizens
    fails this test instead of being skipped silently."""
    from flask import Response as FlaskResponse
    from flask import g, session

    from survey import replica

    monkeypatch.setattr(replica, "_replica_engine", lambda: object())  # as with a replica configured
    phases = _phases(app)
    skipped = {phase: [h for h in everyone if h not in citizens] for phase, (everyone, citizens) in phases.items()}
    names = sorted(getattr(h, "__name__", repr(h)) for hooks in skipped.values() for h in hooks)
    assert {"gate", "_route", "_stick", "no_store", "_update_remember_cookie"} <= set(names)
    assert len(names) >= 8  # the above and Flask-Limiter's check, headers and cleanup
    official = app.test_client()
    official.post("/dang-nhap", data={"username": "admin", "password": "x"})  # a session cookie, signed out
    cookie = "; ".join(f"{c.key}={c.value}" for c in official._cookies.values())
    for method, path in (("GET", counter.url), ("POST", counter.url), ("GET", counter.url + "/cam-on"), ("GET", "/")):
        for headers in ({}, {"Cookie": cookie} if cookie else {}):
            with app.test_request_context(path, method=method, headers=headers):
                assert all(hook() is None for hook in skipped["before"])
                assert not g.get("read_replica")
                response = FlaskResponse("x", status=303 if method == "POST" else 200)
                kept = list(response.headers.items())
                for hook in skipped["after"]:
                    assert hook(response) is response
                assert list(response.headers.items()) == kept and not session.modified
                for hook in skipped["teardown"]:
                    hook(None)


def test_other_pages_run_every_hook_in_flasks_order(app, client):
    from survey.auth.sessions import no_store
    from survey.gate import gate

    phases = _phases(app)
    before, after = phases["before"][0], phases["after"][0]
    assert before[0] is gate  # first, as init_gate placed it
    assert no_store in after and len(set(after)) == len(after)
    page = client.get("/quan-ly/bang-dieu-khien/")  # an officials' page: the gate sends to sign in, no-store set
    assert page.status_code in (302, 303) and "dang-nhap" in page.headers["Location"]
    assert page.headers["Cache-Control"] == "no-store"


def test_citizen_pages_vary_by_cookie_every_time(client, counter):
    # The form's token comes from the citizen CSRF cookie: no shared cache may give it to another
    # browser, whether the page was rendered or came from the per-worker page cache.
    for _ in range(2):
        assert "Cookie" in client.get(counter.url).headers.get("Vary", "")

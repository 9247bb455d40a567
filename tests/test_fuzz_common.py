"""Shared pieces of the fuzz tests (test_fuzz_*.py): settings, strategies, the database snapshot.

How many inputs each fuzz test sends is FUZZ_EXAMPLES (default 20, so CI, which runs every
database test on SQLite and PostgreSQL, stays fast). The big run that the issue asks for:

    FUZZ_EXAMPLES=5200 FUZZ_REPORT=/tmp/fuzz_counts.tsv \
        .venv/bin/python -m pytest tests/test_fuzz_*.py -k "not postgresql" -q

Invariants every fuzz test checks on every input: never a 5xx, never a stack trace in the body;
a refused request (status >= 400) leaves every table as it was (audit log aside: failed sign-ins
are audited on purpose); nothing of another unit in what an official or a token of one unit sees.
"""
from __future__ import annotations

import os
import string
import uuid

import pytest
from flask import request_finished
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from survey.extensions import db, limiter
from survey.models import Response, Unit

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))

# One app (and database) per test, shared by its examples: refused inputs must leave it unchanged,
# which is exactly what each example checks, so sharing it is the point, not an accident.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ writes from CI; a failure prints its reproducing example
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)

# Audit rows are written on purpose for refused sign-ins and exports; everything else must stay.
UNAUDITED = {"audit_log", "alembic_version"}
# Tables that grow with accepted citizen submissions: compared by count and highest id only.
BIG = {"response", "answer"}
# Written on purpose by any authenticated request, refused or not: when a key or account was last
# used (api_tokens.user_for touches last_used_at at most every 5 minutes, so a long run meets it).
TOUCHED = {"api_token": {"last_used_at"}, "user_account": {"last_login_at"}}

# Text a person, a broken client or an attacker might send: Vietnamese, control characters, NUL,
# right-to-left marks, emoji, SQL and HTML fragments. Surrogates cannot be encoded in a request.
ALPHABET = st.characters(exclude_categories=("Cs",))
TRICKY = st.sampled_from([
    "", " ", "\x00", "0", "-1", "1e9", "99999999999999999999", "NaN", "null", "true", "'; DROP TABLE unit; --",
    "<script>alert(1)</script>", "{{7*7}}", "%s%s%n", "../../etc/passwd", "Phường Đồng Tiến", "Xã Mường Khến",
    "\u202e", "😀" * 10, "a" * 300, "ä" * 256, "\r\n", "00157", "00178", "na", "KAD",
])
TEXT = st.one_of(TRICKY, st.text(ALPHABET, max_size=40), st.text(string.printable, max_size=20))


def sometimes(strategy, missing=None):
    """The value, or the field left out (None)."""
    return st.one_of(st.just(missing), strategy)


def extra_fields():
    """Fields no form expects, sometimes duplicating real ones."""
    return st.lists(st.tuples(st.one_of(TEXT, st.sampled_from(["csrf_token", "idem", "version", "id"])), TEXT),
                    max_size=4)


def form_body(fields: dict, extras: list) -> list[tuple[str, str]]:
    """A multi-valued form body: fields set to None are left out; a list value repeats the field."""
    body = []
    for name, value in fields.items():
        if value is None:
            continue
        for item in (value if isinstance(value, list) else [value]):
            body.append((name, item))
    body.extend(extras)
    return body


def encode(body: list[tuple[str, str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(body).encode()


def post_form(client, path: str, body: list[tuple[str, str]], **kwargs):
    return client.post(path, data=encode(body), content_type="application/x-www-form-urlencoded", **kwargs)


def last_state(app) -> dict:
    """The tables as the previous example left them (each example reads them once, after)."""
    return app.extensions.get("fuzz_state") or snapshot(app)


def snapshot(app) -> dict:
    """Every table's rows (counts and highest id for responses and answers), audit log aside."""
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            if table.name in UNAUDITED:
                continue
            if table.name in BIG:
                key = table.c.id if "id" in table.c else table.c.response_id
                count_max = select(func.count(), func.max(key)).select_from(table)
                state[table.name] = tuple(db.session.execute(count_max).one())
            else:
                columns = [c for c in table.c if c.name not in TOUCHED.get(table.name, ())]
                rows = db.session.execute(select(*columns)).all()
                state[table.name] = sorted((tuple(map(repr, row)) for row in rows))
        db.session.remove()
    app.extensions["fuzz_state"] = state
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def assert_no_server_error(response, what: str = "") -> None:
    body = response.get_data()
    assert response.status_code < 500, (response.status_code, what, body[:300])
    assert b"Traceback" not in body and b"sqlalchemy" not in body.lower(), what


@pytest.fixture
def no_limits(monkeypatch, request, app):
    """Fuzz inputs come from one address in bursts; the rate limits have their own tests.

    Also counts the requests the app answered during the test; with FUZZ_REPORT=file set, one
    line "test id<TAB>requests" per test is appended there (how the big run's total is counted).
    """
    monkeypatch.setattr(limiter, "enabled", False)
    answered = [0]

    def count(_sender, **_extra):
        answered[0] += 1

    request_finished.connect(count, app)
    yield
    request_finished.disconnect(count, app)
    report = os.environ.get("FUZZ_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(f"{request.node.nodeid}\t{answered[0]}\n")


def fresh_idem() -> str:
    return uuid.uuid4().hex


# ---------------------------------------------------------------- the helpers themselves

def test_snapshot_sees_an_added_unit_and_a_changed_response_count(app):
    before = snapshot(app)
    with app.app_context():
        parent = db.session.scalar(select(Unit).order_by(Unit.id))
        db.session.add(Unit(code="FUZZ-1", name="Đơn vị thử", kind="commune", parent_id=parent.id))
        db.session.commit()
    after = snapshot(app)
    assert changed_tables(before, after) == ["unit"]
    assert before["response"] == (0, None)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0

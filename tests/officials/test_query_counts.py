"""The dashboards' pages run a bounded number of SQL statements on the demo province.

Counted with a `before_cursor_execute` listener on the engine over one whole request: the gate,
the session's user, the page's reads and the template. A page that loops a query per unit or
per period, or reads the same row again, goes over the bound and fails here.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import event, select

from survey.extensions import db
from survey.models import Counter, Unit
from tests.conftest import login

MAX_STATEMENTS = 12
DASH = "/quan-ly/bang-dieu-khien/"
PROVINCE = "/quan-ly/bang-dieu-khien/so-sanh"
OVERVIEW = "/quan-ly/bang-dieu-khien/tinh"
COUNTER = "/quan-ly/bang-dieu-khien/quay/{counter}"   # a counter of the demo official's unit


@contextmanager
def counting(app) -> Iterator[list[str]]:
    """The SQL statements the app's engine sends while the block runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def demo_province(app, demo_responses):
    """`flask seed-demo` (the app fixture) and `flask seed-demo-responses`, a little smaller."""
    demo_responses(40, ("2026-H1", "2026-H2"))
    return app


@pytest.mark.parametrize("who, path", [
    ("official", DASH),
    ("official", DASH + "?xac_thuc=1"),
    ("official", DASH + "?period=2026-H1"),
    ("analyst", DASH),
    ("analyst", PROVINCE),
    ("analyst", PROVINCE + "?kind=commune&measure=A3"),
    ("analyst", OVERVIEW),
    ("analyst", OVERVIEW + "?kind=ward&measure=A3"),
    ("analyst", OVERVIEW + "?year=2026"),
    ("analyst", OVERVIEW + "?from=05/01/2026&to=20/02/2026"),
    ("official", DASH + "?quarter=2026-Q1"),
    ("official", COUNTER),
    ("official", COUNTER + "?from=05/01/2026&to=20/02/2026"),
])
def test_dashboard_pages_run_at_most_twelve_statements(demo_province, client, who, path):
    if "{counter}" in path:
        with demo_province.app_context():
            counter = db.session.scalar(select(Counter.id).join(Unit).where(Unit.code == "00157")
                                        .order_by(Counter.id).limit(1))
        path = path.format(counter=counter)
    login(client, who)
    client.get(path)  # first request after sign-in: nothing per worker is left to warm
    with counting(demo_province) as statements:
        response = client.get(path)
    assert response.status_code == 200
    print(f"\n{who} {path}: {len(statements)} statements")
    listing = "\n".join(f"{i + 1:2}. {s.split(chr(10))[0][:150]}" for i, s in enumerate(statements))
    assert len(statements) <= MAX_STATEMENTS, f"{len(statements)} statements:\n{listing}"

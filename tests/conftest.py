"""Fixtures every test reuses: an app on each database backend, its client and CLI runner."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from survey import create_app
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db, limiter
from survey.intake.tokens import make_token
from survey.models import Counter, Survey
from survey.services.demo_responses import seed_demo_responses
from tests.seeded import Seeded, conninfo

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/survey_test"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL database of this pytest process's own, so concurrent runs never collide."""
    base = make_url(os.environ.get("TEST_DATABASE_URL", PG_DEFAULT))
    name = f"{base.database}_{os.getpid()}"
    with psycopg.connect(conninfo(str(base), "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(conninfo(str(base), "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_pg(url: str) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The same test on the embedded default and on production's database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = request.getfixturevalue("pg_url")
    _reset_pg(url)
    return url


def _app_config(db_url: str, root) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "PUBLIC_BASE_URL": "http://survey.test",
        "QR_OUTPUT_DIR": str(root / "qr"),
        "EVIDENCE_DIR": str(root / "evidence"),  # demo data writes evidence files
        # The wall clock must not decide a test's outcome: the opening-hours rule is tested
        # on its own (tests/review/test_signals.py) with the hours it sets.
        "SIGNAL_OPENING_HOURS": "",
    }


@pytest.fixture(scope="session")
def _seeded(tmp_path_factory):
    seeded = Seeded(tmp_path_factory.mktemp, _app_config)
    yield seeded
    seeded.close()


@pytest.fixture
def app(db_url, tmp_path, _seeded):
    _seeded.restore(db_url, tmp_path)
    app = create_app(_app_config(db_url, tmp_path))
    with app.app_context():
        limiter.reset()  # in-memory counts outlive an app; each test starts with none
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seed_variant(app, db_url, tmp_path, _seeded):
    """``seed_variant(name, build)``: the test's database becomes the demo province plus what
    ``build()`` adds (run once per backend per run, then copied: demo responses took 5-14 s a
    test).  ``name`` names one ``build`` for the whole run."""
    def use(name: str, build) -> None:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _seeded.restore(db_url, tmp_path, name, build)
    return use


@pytest.fixture
def demo_responses(seed_variant):
    """``demo_responses(n_per_unit, periods)``: `flask seed-demo-responses` on the demo
    province, built once per backend and arguments, copied into the test."""
    def use(n_per_unit: int, periods: tuple[str, ...]) -> None:
        seed_variant(f"responses {n_per_unit} {' '.join(periods)}",
                     lambda: seed_demo_responses(n_per_unit=n_per_unit, periods=periods))
    return use


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class CounterRef:
    id: int
    unit_id: int
    token: str
    url: str


@pytest.fixture
def counter(app) -> CounterRef:
    """The first demo counter and the path its QR code opens."""
    with app.app_context():
        c = db.session.scalar(select(Counter).order_by(Counter.id))
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        token = make_token(c.id, survey.id, c.token_version)
        return CounterRef(c.id, c.unit_id, token, f"/s/{token}")


HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idem|version)"[^>]*value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


def open_form(client, url: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return hidden_fields(response.get_data(as_text=True))


REQUIRED_CODES = (
    "A1.1", "A1.2", "A1.3", "A2.1", "A2.2", "A2.3", "A2.4", "A3.1", "A3.2", "A3.3", "A3.4",
    "A3.5", "A4.1", "A4.2", "A4.3", "OVERALL",
)


def full_answers(value: str = "4") -> dict[str, str]:
    return {"q_" + code.replace(".", "_"): value for code in REQUIRED_CODES}


DEMO_PASSWORDS = {
    "admin": ("quantri@demo.gov.vn", "quantri-demo-2026"),
    "analyst": ("sonoivu@demo.gov.vn", "sonoivu-demo-2026"),
    "official": ("dongtien@demo.gov.vn", "dongtien-demo-2026"),  # Phường Đồng Tiến (00157)
    "other_official": ("muongkhen@demo.gov.vn", "muongkhen-demo-2026"),  # Xã Mường Khến (00178)
}


def login(client, who: str):
    """Sign `client` in as one of the demo accounts (admin, analyst, official, other_official)."""
    email, password = DEMO_PASSWORDS[who]
    page = client.get("/dang-nhap").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/dang-nhap", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return response


def csrf_of(client, path: str) -> str:
    """The CSRF token of the form on `path` (for POSTs to officials' forms)."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

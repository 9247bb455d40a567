"""Remediation fixtures: demo responses in two periods, evidence stored in the test's own folder."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Unit

PERIODS = ("2026-H1", "2026-H2")


@pytest.fixture
def evidence_dir(app, tmp_path):
    path = tmp_path / "evidence"
    app.config["EVIDENCE_DIR"] = str(path)
    return path


@pytest.fixture
def responses(app, evidence_dir, demo_responses):
    demo_responses(150, PERIODS)
    with app.app_context():
        return {u.code: u.id for u in db.session.scalars(select(Unit))}


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def stored_files(path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []

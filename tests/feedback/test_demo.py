"""Demo cases: every state, some rated, one late per unit; re-running replaces them."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from survey.catalog.periods import in_vietnam
from survey.extensions import db
from survey.feedback.demo import demo_token, seed_feedback_demo
from survey.models import CaseEvent, FeedbackCase
from survey.models.loop import CASE_STATUSES


def test_demo_cases_cover_every_state_and_rerun_replaces_them(app, client):
    with app.app_context():
        first = seed_feedback_demo()
        events = db.session.scalar(select(func.count()).select_from(CaseEvent))
        assert seed_feedback_demo() == first
        assert db.session.scalar(select(func.count()).select_from(FeedbackCase)) == first
        assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == events
        rows = db.session.scalars(select(FeedbackCase)).all()
        today = in_vietnam(datetime.now(timezone.utc)).date()
        assert {c.status for c in rows} == set(CASE_STATUSES)
        assert sum(c.followup_rating is not None for c in rows) >= 2 * len({c.unit_id for c in rows})
        assert any(c.status != "closed" and c.late_on(today) for c in rows)
        assert all(c.followup_rating is None or c.answered_at is not None for c in rows)
    page = client.get(f"/phan-anh/{demo_token(0)}")
    assert page.status_code == 200 and "Đã tiếp nhận" in page.get_data(as_text=True)


def test_seed_demo_responses_command_seeds_cases(app, runner):
    result = runner.invoke(args=["seed-demo-responses", "--per-unit", "8", "--period", "2026-H1"])
    assert result.exit_code == 0, result.output
    assert "Phản ánh mẫu" in result.output and f"/phan-anh/{demo_token(0)}" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FeedbackCase)) > 0

"""The rollup's watermark: fold = tail = live, with late releases, concurrent submissions and reads.

The rollup holds every counted response with id <= its survey's watermark except the late set
(survey/indices/rollups.py); these tests check the cases a watermark can get wrong: an id below
it committed after the fold looked, a release or quarantine after the fold, a re-quarantine
before the next fold, a read while a fold is running, and the migration from per-response marks.
"""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import bindparam, func, select, text

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.indices import rollups
from survey.models import Answer, Response, RollupLate, RollupState, RollupStratum, Survey, Unit
from survey.models.responses import COUNTED, QUARANTINED
from survey.review.quarantine import Selection, decide
from tests.indices.test_aggregates import PERIOD, WHEN, _random_data, unit_id
from tests.review.test_review import assert_same, flag, more_responses, table


def folded_total() -> int:
    return db.session.scalar(select(func.coalesce(func.sum(RollupStratum.responses), 0)))


def counted_total() -> int:
    return db.session.scalar(select(func.count()).select_from(Response).where(Response.status == COUNTED))


def late() -> set[int]:
    return set(db.session.scalars(select(RollupLate.response_id)))


def assert_folded_exactly_once() -> None:
    """Everything counted is folded, once: nothing pending, the rollup's count is the count."""
    assert rollups.pending() == 0
    assert folded_total() == counted_total()


def test_release_after_the_fold_counts_once_and_quarantine_counts_zero(app):
    with app.app_context():
        _random_data()
        full = table()
        rollups.refresh()
        watermark = db.session.scalar(select(func.max(RollupState.folded_to)))
        assert watermark == db.session.scalar(select(func.max(Response.id)))
        ids = db.session.scalars(select(Response.id).where(Response.unit_id == unit_id("00157"),
                                                           Response.period == PERIOD)
                                 .order_by(Response.id)).all()[::4]
        flag(ids, "burst")
        before = folded_total()
        quarantine = Selection(unit_id=unit_id("00157"), flags="burst", status=COUNTED)
        assert decide("quarantine", quarantine) == len(ids)
        assert folded_total() == before - len(ids)          # their sums subtracted
        assert rollups.pending() == 0 and late() == set()   # held: neither folded nor tail
        held = table()
        rollups.reset()                                     # the same figures, all live
        assert_same(table(), held)
        rollups.refresh()
        assert folded_total() == counted_total() == before - len(ids)

        release = Selection(unit_id=unit_id("00157"), flags="burst,manual", status=QUARANTINED)
        assert decide("release", release) == len(ids)
        assert late() == set(ids)                           # under the watermark: late
        assert rollups.pending() == len(ids)
        assert_same(table(), full)                          # counted once, by the tail
        assert rollups.refresh() == len(ids)
        assert late() == set()
        assert_folded_exactly_once()
        assert_same(table(), full)                          # and once, by the rollup
        assert db.session.scalar(select(func.max(RollupState.folded_to))) == watermark


def test_quarantined_again_before_the_next_fold_subtracts_nothing(app):
    """A released response is late (not in the sums): quarantining it again only drops it
    from the tail and the late set; subtracting its sums would count it minus once."""
    with app.app_context():
        _random_data()
        rollups.refresh()
        ids = db.session.scalars(select(Response.id).where(Response.unit_id == unit_id("00193"))
                                 .order_by(Response.id)).all()[:5]
        flag(ids, "burst")
        decide("quarantine", Selection(unit_id=unit_id("00193"), flags="burst", status=COUNTED))
        held = table()
        folded = folded_total()
        decide("release", Selection(unit_id=unit_id("00193"), flags="burst,manual", status=QUARANTINED))
        assert late() == set(ids)
        decide("quarantine", Selection(unit_id=unit_id("00193"), flags="burst,manual", status=COUNTED))
        assert late() == set() and folded_total() == folded
        assert_same(table(), held)
        rollups.refresh()
        assert_folded_exactly_once()
        assert_same(table(), held)


def test_reset_rebuilds_without_touching_responses(app):
    with app.app_context():
        _random_data()
        live = table()
        rollups.refresh()
        more_responses(7)
        mixed = table()
        rollups.reset()
        assert db.session.scalar(select(func.count()).select_from(RollupState)) == 0
        assert rollups.pending() == counted_total()
        assert_same(table(), mixed)
        rollups.refresh(chunk=31)
        assert_folded_exactly_once()
        assert_same(table(), mixed)
        assert set(live) <= set(mixed)


def test_a_read_while_a_fold_is_running_sees_before_or_after_never_both(app, monkeypatch):
    with app.app_context():
        _random_data()
        rollups.refresh(chunk=50)
        more_responses(9)
        flag(db.session.scalars(select(Response.id).where(Response.unit_id == unit_id("00178"))
                                .limit(3)).all(), "burst")
        decide("quarantine", Selection(unit_id=unit_id("00178"), flags="burst", status=COUNTED))
        decide("release", Selection(unit_id=unit_id("00178"), flags="burst,manual", status=QUARANTINED))
        assert late() and rollups.pending() > len(late())
        expected = table()
    folding, resume = threading.Event(), threading.Event()
    fold = rollups._fold_survey

    def paused(*args, **kwargs):
        fold(*args, **kwargs)
        folding.set()            # sums added, watermark not yet moved nor committed
        assert resume.wait(30)

    monkeypatch.setattr(rollups, "_fold_survey", paused)
    result: dict[str, int] = {}

    def run() -> None:
        with app.app_context():
            result["folded"] = rollups.refresh()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert folding.wait(30)
        with app.app_context():
            assert_same(table(), expected)      # the fold's uncommitted sums are not seen
    finally:
        resume.set()
        thread.join(60)
    with app.app_context():
        assert result["folded"] > 0
        assert_folded_exactly_once()
        assert_same(table(), expected)


def _hold_uncommitted(app, n: int, drawn: threading.Event, commit: threading.Event,
                      out: dict[str, list[int]]) -> None:
    """A submission's transaction: ids drawn from the sequence, committed only when told."""
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        version = survey.current_version
        questions = {q.code: q.id for q in version.questions}
        unit = db.session.get(Unit, unit_id("00157"))
        responses = [Response(survey_id=survey.id, survey_version_id=version.id, counter_id=unit.counters[0].id,
                              unit_id=unit.id, submitted_at=WHEN[PERIOD], period=PERIOD, channel="qr",
                              idempotency_key=uuid.uuid4().hex, service_field="ho-tich",
                              answers=[Answer(question_id=questions[code], value_int=v)
                                       for code, v in (("A1.1", 5), ("A3.1", 4), ("OVERALL", 5))])
                     for _ in range(n)]
        db.session.add_all(responses)
        db.session.flush()       # ids drawn, score rows written, nothing committed
        out["ids"] = [r.id for r in responses]
        drawn.set()
        if commit.wait(60):
            db.session.commit()


@pytest.fixture
def postgresql_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer: no id is drawn by an open transaction")


def test_an_id_below_the_watermark_committed_during_the_fold_is_folded(app, postgresql_only):
    with app.app_context():
        _random_data()
        rollups.refresh()
    drawn, commit, out = threading.Event(), threading.Event(), {}
    writer = threading.Thread(target=_hold_uncommitted, args=(app, 4, drawn, commit, out))
    writer.start()
    assert drawn.wait(30)
    with app.app_context():
        later = more_responses(3)                       # above the open transaction's ids
        assert min(later) > max(out["ids"])
    result: dict[str, int] = {}

    def run() -> None:
        with app.app_context():
            result["folded"] = rollups.refresh()

    fold = threading.Thread(target=run)
    fold.start()
    fold.join(0.5)               # it waits for the open transaction rather than pass its ids
    commit.set()
    writer.join(30)
    fold.join(60)
    with app.app_context():
        assert result["folded"] == len(later) + len(out["ids"])
        assert_folded_exactly_once()


def test_a_fold_that_cannot_wait_folds_nothing_new_and_the_next_one_does(app, postgresql_only,
                                                                          monkeypatch):
    monkeypatch.setattr(rollups, "SETTLE_TIMEOUT", 0.2)
    with app.app_context():
        _random_data()
        rollups.refresh()
        watermark = db.session.scalar(select(func.max(RollupState.folded_to)))
    drawn, commit, out = threading.Event(), threading.Event(), {}
    writer = threading.Thread(target=_hold_uncommitted, args=(app, 4, drawn, commit, out))
    writer.start()
    try:
        assert drawn.wait(30)
        with app.app_context():
            later = more_responses(3)
            live = table()
            assert rollups.refresh() == 0
            assert db.session.scalar(select(func.max(RollupState.folded_to))) == watermark
            assert rollups.pending() == len(later)      # the tail still counts them
            assert_same(table(), live)
    finally:
        commit.set()
        writer.join(30)
    with app.app_context():
        assert rollups.refresh() == len(later) + len(out["ids"])
        assert_folded_exactly_once()


def test_migration_turns_marks_into_a_watermark_and_a_late_set(app):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        _random_data()
        rollups.refresh()
        ids = db.session.scalars(select(Response.id).where(Response.unit_id == unit_id("00157"))
                                 .order_by(Response.id)).all()[1::5]
        flag(ids, "burst")
        decide("quarantine", Selection(unit_id=unit_id("00157"), flags="burst", status=COUNTED))
        decide("release", Selection(unit_id=unit_id("00157"), flags="burst,manual", status=QUARANTINED))
        fresh = more_responses(5)
        expected, folded = table(), folded_total()
        db.session.remove()
        downgrade(revision="i15b_parts")
        marked = db.session.scalar(text("SELECT count(*) FROM response WHERE rollup_batch IS NOT NULL"))
        assert marked == folded                          # exactly the responses in the sums
        released = text("SELECT count(*) FROM response WHERE rollup_batch IS NOT NULL AND id IN :ids")
        assert db.session.scalar(released.bindparams(bindparam("ids", expanding=True)), {"ids": ids}) == 0
        db.session.remove()
        upgrade()
        assert late() == set(ids)
        assert rollups.pending() == len(ids) + len(fresh)
        assert_same(table(), expected)
        rollups.refresh()
        assert_folded_exactly_once()
        assert_same(table(), expected)


def test_a_big_fold_through_the_parallel_temporary_table_is_the_same(app, monkeypatch):
    """Folds of ANALYZE_FROM responses or more sum into a temporary table first (PostgreSQL)."""
    with app.app_context():
        _random_data()
        live = table()
        monkeypatch.setattr(rollups, "ANALYZE_FROM", 1)
        rollups.refresh(chunk=60)
        assert_folded_exactly_once()
        assert_same(table(), live)
        more_responses(4)
        mixed = table()
        rollups.refresh()                               # onto existing cells
        assert_folded_exactly_once()
        assert_same(table(), mixed)
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        survey.scope = {"component_weights": {"A1": 3, "A4": 0.5}}
        db.session.commit()
        weighted = table()                              # the rollup is ignored: all live
        assert rollups.refresh() == counted_total()     # rebuilt with the new weights
        assert_folded_exactly_once()
        assert_same(table(), weighted)

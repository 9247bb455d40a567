"""A worker holds the rollup part of reads of every unit (rollup_read._held) by the survey's
rollup version; every writer of the rollup (fold, quarantine's unfold, reset) changes the
version in its own transaction, so a held part is never used once it is stale.

The held parts are tampered with (every s1 doubled) after they are read: a read that used one
would then show other figures than a read from scratch.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.indices import rollup_read, rollups
from survey.models import Response, RollupState
from survey.models.responses import COUNTED
from survey.review.quarantine import Selection, decide
from tests.indices.test_aggregates import PERIOD, _random_data, unit_id
from tests.review.test_review import assert_same, differs, flag, more_responses, table


def tamper() -> int:
    """Every held part's s1 doubled; how many parts are held."""
    held = rollup_read._held._items
    for key, (version, strata, cells) in list(held.items()):
        held[key] = (version, strata, {**cells, "s1": cells["s1"] * 2})
    return len(held)


def from_scratch() -> dict:
    rollup_read.forget_held()
    return table()


def quarantine_some() -> None:
    ids = db.session.scalars(select(Response.id).where(Response.unit_id == unit_id("00157"),
                                                       Response.period == PERIOD)
                             .order_by(Response.id)).all()[::3]
    flag(ids, "burst")
    assert decide("quarantine", Selection(unit_id=unit_id("00157"), flags="burst", status=COUNTED)) == len(ids)


WRITES = {
    "fold": lambda: (more_responses(9), rollups.refresh()),
    "unfold": quarantine_some,
    "reset": rollups.reset,
    "reset and fold again": lambda: (rollups.reset(), rollups.refresh()),
}


@pytest.fixture
def folded(app):
    with app.app_context():
        rollup_read.forget_held()
        _random_data()
        rollups.refresh()
        yield
        rollup_read.forget_held()


def test_a_held_part_is_used_while_the_rollup_is_unchanged(app, folded):
    with app.app_context():
        truth = table()
        assert tamper() == 2                    # both periods' index tables
        versions = set(db.session.scalars(select(RollupState.version)))
        assert 0 not in versions and len(versions) == 1
        with pytest.raises(AssertionError):
            assert_same(table(), truth)         # the tampered part was used: nothing re-read
        assert_same(from_scratch(), truth)


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_writer_of_the_rollup_makes_a_held_part_stale(app, folded, write):
    with app.app_context():
        before = table()
        version = db.session.scalar(select(func.max(RollupState.version)))
        assert tamper() == 2
        WRITES[write]()
        db.session.commit()
        assert db.session.scalar(select(func.max(RollupState.version))) != version
        after = table()
        assert_same(after, from_scratch())
        assert differs(after, before) != write.startswith("reset")   # a reset changes no figure

"""A worker keeps each window's ranking of every unit (drill._rankings) under the data's
fingerprint (rollup_read.fingerprint: rollup version, the tail's responses, the service
volumes), read in the snapshot of the read it stands for.  Each write that moves a figure must
change the fingerprint, so a kept ranking is never shown once it is stale.

The kept ranking is tampered with (its province estimate set to -1) after it is kept: a page
that used it would show that, and one read afresh would not.
"""
from __future__ import annotations

import math
from dataclasses import astuple, replace

import pytest
from sqlalchemy import update

from analysis import Estimate
from survey.extensions import db
from survey.indices import drill, rollup_read, rollups
from survey.indices.windows import half
from survey.models import ServiceVolume
from survey.models.responses import COUNTED
from tests.indices.test_aggregates import PERIOD, _random_data, unit_id
from tests.review.test_review import flag, more_responses

WINDOW = half(PERIOD)
TAMPERED = -1.0


def tamper() -> int:
    """Every kept ranking's province estimate set to TAMPERED; how many are kept."""
    items = drill._rankings._items
    for key, found in list(items.items()):
        items[key] = replace(found, province=replace(found.province, estimate=TAMPERED))
    return len(items)


def fresh() -> drill.Ranking:
    drill._rankings.clear()
    return drill.ranking(WINDOW)


def close(a: Estimate | None, b: Estimate | None) -> bool:
    if a is None or b is None:
        return a is b
    return all(x == y or (isinstance(x, float) and isinstance(y, float)
                          and (math.isclose(x, y, rel_tol=1e-12) or math.isnan(x) and math.isnan(y)))
               for x, y in zip(astuple(a), astuple(b)))


def same(a: drill.Ranking, b: drill.Ranking) -> bool:
    units = sorted(a.row)
    return (close(a.province, b.province) and units == sorted(b.row) and a.ranked == b.ranked
            and all(close(a.unit(u), b.unit(u)) and close(a.gap(u), b.gap(u)) for u in units))


def quarantine_tail() -> None:
    ids = more_responses(6)
    db.session.commit()
    drill.ranking(WINDOW)       # kept with these responses counted
    tamper()
    flag(ids[::2], "burst", status="quarantined")


def release_tail() -> None:
    ids = more_responses(6)
    flag(ids[::2], "burst", status="quarantined")
    drill.ranking(WINDOW)       # kept without them
    tamper()
    flag(ids[::2], "burst", status=COUNTED)


def change_volume() -> None:
    db.session.execute(update(ServiceVolume).where(ServiceVolume.unit_id == unit_id("00157"),
                                                   ServiceVolume.period == PERIOD)
                       .values(dossiers=ServiceVolume.dossiers * 3 + 7))


WRITES = {
    "a new response (tail)": lambda: more_responses(3),
    "a tail response quarantined": quarantine_tail,
    "a tail response released": release_tail,
    "a fold": lambda: (more_responses(3), rollups.refresh()),
    "a service volume": change_volume,
}


@pytest.fixture
def kept(app):
    with app.app_context():
        drill._rankings.clear()
        rollup_read.forget_held()
        _random_data()
        rollups.refresh()
        db.session.commit()
        yield
        drill._rankings.clear()


def test_a_kept_ranking_is_used_while_nothing_changed(app, kept, db_url):
    with app.app_context():
        truth = drill.ranking(WINDOW)
        assert truth.province is not None and truth.ranked >= 2
        if db_url.startswith("sqlite"):
            assert tamper() == 0            # SQLite keeps none: a province's read is quick
            return
        assert tamper() == 1
        assert drill.ranking(WINDOW).province.estimate == TAMPERED    # nothing was read again
        assert same(fresh(), truth)


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_write_that_moves_a_figure_makes_a_kept_ranking_stale(app, kept, write):
    with app.app_context():
        before = drill.ranking(WINDOW)
        tamper()
        WRITES[write]()
        db.session.commit()
        after = drill.ranking(WINDOW)
        assert after.province.estimate != TAMPERED
        assert same(after, fresh())
        assert not same(after, before)      # the write moved a figure

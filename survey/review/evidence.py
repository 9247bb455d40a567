"""Period-level stuffing signals, computed on demand for the review page from SQL aggregates.

- More responses than dossiers: a unit whose responses in the period (every status) exceed the
  dossiers it handled (ServiceVolume).  Every response is a citizen served, so this cannot
  happen honestly.  Counters have no service volumes of their own, so the unit is the level.
- Open channel against verified channel: the unit's overall index on its open-channel responses
  (counter QR codes, kiosk) against the same index on its verified responses (one-time dossier
  links), each weighted to the unit's service volumes on its own; flagged when the 95 %
  interval of the difference excludes 0.  Estimates, intervals and the difference come from
  analysis/ (the two channels are disjoint sets of responses, so their strata are kept apart
  and the difference's variance is the design's, not a formula written here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from sqlalchemy import func, select

from analysis import Design, Estimate, difference_from_sums, from_sums
from analysis.estimate import MIN_N
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.indices import aggregates
from survey.indices.stratum_sums import counted, instrument_of
from survey.models import Response, ServiceVolume, Survey, Unit
from survey.models.responses import COUNTED

OPEN, VERIFIED = "open", "verified"


@dataclass(frozen=True)
class VolumeExcess:
    unit: Unit
    responses: int        # every status: what citizens (or someone) sent
    counted: int
    dossiers: int


def _survey_id(survey_code: str) -> int | None:
    return db.session.scalar(select(Survey.id).where(Survey.code == survey_code))


def volume_excess(period: str, survey_code: str = STANDING_CODE) -> list[VolumeExcess]:
    """Units whose responses in the period exceed the dossiers they handled, worst first."""
    dossiers = (select(ServiceVolume.unit_id, func.sum(ServiceVolume.dossiers).label("d"))
                .where(ServiceVolume.period == period).group_by(ServiceVolume.unit_id).subquery())
    responses = (select(Response.unit_id, func.count().label("n"),
                        func.count().filter(Response.status == COUNTED).label("c"))
                 .where(Response.period == period, Response.survey_id == _survey_id(survey_code))
                 .group_by(Response.unit_id).subquery())
    rows = db.session.execute(
        select(Unit, responses.c.n, responses.c.c, dossiers.c.d)
        .join(responses, responses.c.unit_id == Unit.id)
        .join(dossiers, dossiers.c.unit_id == Unit.id)
        .where(dossiers.c.d > 0, responses.c.n > dossiers.c.d)).all()
    found = [VolumeExcess(u, int(n), int(c), int(d)) for u, n, c, d in rows]
    return sorted(found, key=lambda v: (-v.responses / v.dossiers, v.unit.code))


@dataclass(frozen=True)
class ChannelGap:
    unit: Unit
    open: Estimate
    verified: Estimate
    difference: Estimate  # open minus verified

    @property
    def departs(self) -> bool:
        """The interval of the difference excludes 0: the channels disagree beyond chance."""
        return not self.difference.ci_low <= 0.0 <= self.difference.ci_high


def _channel_table(unit_id: int, period: str, survey_code: str
                   ) -> tuple[list[str], list[int], dict[str, list]] | None:
    inst = instrument_of(survey_code)
    if inst is None:
        return None
    labels: list[str] = []
    n_psu: list[int] = []
    table: dict[str, list] = {k: [] for k in ("domain", "stratum") + aggregates.SUMS}
    for channel, verified in ((OPEN, False), (VERIFIED, True)):
        data = aggregates.weighted(inst, [period], {unit_id}, stats=("overall",),
                                   verified=verified)
        cells = data.cells
        if not data.strata or not len(cells["n"]):
            return None
        # The channels' strata are kept apart: each is weighted to the volumes on its own.
        labels += [f"{channel}|{s['stratum']}" for s in data.strata]
        n_psu += [s["n_h"] for s in data.strata]
        names = np.array([f"{channel}|{s['stratum']}" for s in data.strata], dtype=object)
        table["domain"] += [channel] * len(cells["n"])
        table["stratum"] += names[cells["stratum"].astype(np.int64)].tolist()
        for k in aggregates.SUMS:
            table[k] += cells[k].tolist()
    return labels, n_psu, table


def channel_gap(unit_id: int, period: str, survey_code: str = STANDING_CODE) -> ChannelGap | None:
    """Open against verified overall index of one unit, or None when a channel has no data."""
    built = _channel_table(unit_id, period, survey_code)
    if built is None:
        return None
    labels, n_psu, table = built
    design = Design.from_aggregates(labels, n_psu, lonely_psu="adjust", elements=True)
    arrays = {k: np.asarray(v) for k, v in table.items()}
    estimates = from_sums(design, arrays)
    diff = difference_from_sums(design, arrays, OPEN, VERIFIED)
    return ChannelGap(cast(Unit, db.session.get(Unit, unit_id)), estimates[OPEN], estimates[VERIFIED], diff)


def channel_gaps(period: str, survey_code: str = STANDING_CODE, min_verified: int = MIN_N
                 ) -> list[ChannelGap]:
    """Every unit with at least ``min_verified`` counted verified responses in the period
    (fewer say too little about the unit), largest departure first."""
    units = db.session.scalars(
        select(Response.unit_id).where(Response.period == period, Response.verified.is_(True),
                                       Response.survey_id == _survey_id(survey_code), counted())
        .group_by(Response.unit_id).having(func.count() >= min_verified)).all()
    gaps = [g for g in (channel_gap(u, period, survey_code) for u in units) if g is not None]
    return sorted(gaps, key=lambda g: (not g.departs, -abs(g.difference.estimate)))

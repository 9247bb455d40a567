"""Estimates pooled over several units and periods (a thematic campaign as a whole).

The cells of services.aggregates are per unit × period × stratum, and strata are nested in
units and periods. Relabelling every cell's unit and period to one domain therefore gives the
pooled estimate with the same stratified linearization variance; no new statistics here.
"""
from __future__ import annotations

from dataclasses import replace
from typing import AbstractSet, Sequence

import numpy as np
from sqlalchemy import select

from analysis import Estimate
from analysis.indices import index_table
from survey.extensions import db
from survey.indices import aggregates
from survey.indices.stratum_sums import instrument_of
from survey.models import Response, Survey

POOLED_UNIT = 0
POOLED_PERIOD = "*"


def campaign_periods(survey_id: int) -> list[str]:
    return list(db.session.scalars(select(Response.period).where(Response.survey_id == survey_id)
                                   .distinct().order_by(Response.period)))


def pooled_rows(survey_code: str, periods: Sequence[str], unit_ids: AbstractSet[int] | None
                ) -> dict[tuple[str, str], Estimate]:
    """(stat, measure) → the estimate over all `unit_ids` (None: all units) and `periods`."""
    inst = instrument_of(survey_code)
    if inst is None or not periods:
        return {}
    data = aggregates.weighted(inst, periods, unit_ids)
    if not data.strata or len(data.cells["n"]) == 0:
        return {}
    cells = dict(data.cells)
    cells["unit"] = np.full(len(cells["n"]), POOLED_UNIT)
    cells["period"] = np.full(len(cells["n"]), POOLED_PERIOD)
    # The pooled domain is no one unit or period: its keys say so (None), not the placeholders.
    return {(str(e.stat), str(e.measure)): replace(e, unit=None, period=None)
            for e in index_table(data.frame(), cells)}


def survey_by_code(code: str) -> Survey | None:
    return db.session.scalar(select(Survey).where(Survey.code == code))

"""The officials' home: the units a user may see, with this period's response counts."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select

from survey.access import restrict, visible_unit_ids
from survey.catalog.periods import period_of
from survey.extensions import db
from survey.indices.stratum_sums import counted
from survey.models import Response, Unit
from survey.officials import bp
from survey.permissions import Permission, requires


@bp.get("/")
@requires(Permission.VIEW_UNIT)
def home():
    period = period_of(datetime.now(timezone.utc))
    counts = (
        select(Response.unit_id, func.count().label("n"))
        .where(Response.period == period, counted())
        .group_by(Response.unit_id)
        .subquery()
    )
    query = (
        select(Unit, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.unit_id == Unit.id)
        .order_by(Unit.kind != "province", Unit.code)
    )
    rows = db.session.execute(restrict(query, visible_unit_ids(current_user), Unit.id)).all()
    return render_template("officials/home.html", rows=rows, period=period)

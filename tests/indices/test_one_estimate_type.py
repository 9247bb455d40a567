"""One estimate type end to end: every consumer of index figures gets analysis.Estimate (and
the app's extras beside it, never inside it), and the formatters refuse the old row dicts."""
from __future__ import annotations

import math
from dataclasses import fields

import pytest
from sqlalchemy import select

from analysis import Estimate
from survey.dashboards.cli import RAW_COLUMNS, raw_record, table_cells
from survey.dashboards.formatting import notes_text, rank_text
from survey.extensions import db
from survey.indices import aggregates, pooled, report_data
from survey.indices.aggregates import IndexRow
from survey.models import Unit
from survey.progress import data as progress_data
from survey.progress import digest
from survey.services.demo_responses import seed_demo_responses

PERIOD, EARLIER = "2026-H1", "2025-H2"
OLD_ROW = {"unit_code": "00157", "unit_name": "X", "stat": "overall", "measure": "overall",
           "estimate": 0.8, "ci_low": 0.7, "ci_high": 0.9, "n": 40, "reliable": True, "rank": 1,
           "rank_best": 1, "rank_worst": 1, "weighted": True}


def _estimates(obj) -> list:
    """Every estimate-valued attribute of a report record, recursively (None left out)."""
    found = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, Estimate):
                found.append(item)
            elif hasattr(item, "__dataclass_fields__") and not isinstance(item, type):
                found += _estimates(item)
    return found


def test_formatters_refuse_the_old_row_dicts():
    with pytest.raises(AttributeError):
        rank_text(OLD_ROW)
    with pytest.raises(AttributeError):
        notes_text(OLD_ROW)
    with pytest.raises(AttributeError):
        raw_record(OLD_ROW)
    with pytest.raises(AttributeError):
        table_cells([OLD_ROW])


def test_raw_record_keeps_the_columns_and_prints_nan_as_null():
    nan = float("nan")
    est = Estimate(0.8, 0.05, 0.7, 0.9, 40, nan, nan, 39, method="mean", reliable=True, rank=2,
                   rank_best=1, rank_worst=3, unit=7, period=PERIOD, stat="overall",
                   measure="overall")
    row = IndexRow(est, "00157", "Phường A", "ward", responses=41, weighted=False,
                   fallback_responses=2)
    record = raw_record(row)
    assert tuple(record) == RAW_COLUMNS
    assert record["estimate"] == 0.8 and record["n_eff"] is None and record["deff"] is None
    assert (record["responses"], record["weighted"], record["fallback_responses"]) == (41, False, 2)
    assert rank_text(est) == "2 (1–3)" and "chưa gia quyền" in notes_text(row)
    # The unit's extras live beside the estimate, not in it.
    assert not {"unit_code", "unit_name", "responses", "weighted"} & {f.name for f in fields(Estimate)}


def test_every_consumer_gets_the_one_estimate_type(app):
    with app.app_context():
        seed_demo_responses(n_per_unit=60, periods=(EARLIER, PERIOD))
        unit = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        rows = aggregates.index_rows(PERIOD, None)
        summary = aggregates.unit_summary(unit.id, PERIOD)
        points = aggregates.trend(unit.id, [EARLIER, PERIOD])
        pooled_ = pooled.pooled_rows("SIPAS", [PERIOD], None)
        unit_pdf = report_data.unit_report_data(unit, PERIOD)
        province_pdf = report_data.province_report_data(PERIOD, appendix=False)
        progress_unit = progress_data.unit_progress(unit, PERIOD, None)
        progress_province = progress_data.province_progress(PERIOD, None)
        falls = digest.significant_falls(PERIOD)
    assert rows and all(type(r) is IndexRow and type(r.est) is Estimate for r in rows)
    assert all(r.est.period == PERIOD and r.est.unit == r.unit_id for r in rows)
    assert type(summary.overall) is Estimate
    assert all(type(e) is Estimate for _, _, e in summary.components if e is not None)
    assert all(type(i.rate) is Estimate and type(i.score) is Estimate for i in summary.items)
    assert [type(e) for _, e in points] == [Estimate, Estimate]
    assert pooled_ and all(type(e) is Estimate and e.unit is None for e in pooled_.values())
    # The PDFs' inputs: the estimates the dashboard shows, themselves, not copies of some fields.
    assert unit_pdf.overall is summary.overall or unit_pdf.overall == summary.overall
    for record in (unit_pdf, province_pdf):
        found = _estimates(record)
        assert found and all(type(e) is Estimate for e in found)
    # Each printed label comes from the estimates' own methods.
    assert unit_pdf.overall_change.method == "independent_difference"
    assert unit_pdf.overall_change.df == summary.overall.df + points[0][1].df
    label = province_pdf.methods.ci_method
    assert "chỉ số chung và chỉ số thành phần: t (Student);" in label
    assert "thay đổi so với kỳ trước: t (Student) trên hiệu số" in label
    assert "logit" not in label.split(";")[1]       # the index group is t intervals only
    assert all(math.isfinite(c.change.ci_low) for c in province_pdf.changes if c.change)
    # The 6-month progress report and the daily digest (survey/progress) take it as well.
    for record in (progress_unit, progress_province):
        found = _estimates(record)
        assert found and all(type(e) is Estimate for e in found)
    assert all(f.change is None or f.change.method == "independent_difference"
               for f in progress_unit.figures)
    assert all({type(f.current), type(f.previous), type(f.change)} == {Estimate} for f in falls)


def test_review_evidence_gets_the_one_estimate_type(app):
    # (The open/verified channel gap's estimates: tests/review/test_review.py.)
    from survey.review.groups import _overall

    with app.app_context():
        seed_demo_responses(n_per_unit=60, periods=(PERIOD,))
        unit = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        assert type(_overall(unit.id, PERIOD, "SIPAS")) is Estimate

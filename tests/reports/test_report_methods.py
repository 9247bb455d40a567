"""Report numbers and labels from the estimates themselves: the period change is a t interval
on df_a + df_b computed in analysis/, and the printed interval methods are the ones used."""
from __future__ import annotations

import math
import subprocess

from conftest import est
from scipy import stats
from sqlalchemy import select

from analysis.estimate import METHODS
from analysis.report import render_unit_report
from analysis.report.demo import demo_unit
from analysis.report.model import METHOD_LABELS, ci_method_text, method_label
from survey.extensions import db
from survey.indices import aggregates
from survey.indices.report_data import unit_report_data
from survey.models import Unit
from survey.services.demo_responses import seed_demo_responses

PERIOD, EARLIER = "2026-H1", "2025-H2"


def test_method_text_names_what_each_group_used():
    t, logit, kg = (est(0.8, 0.1, 50, method=m) for m in ("mean", "logit", "beta"))
    text = ci_method_text([("chỉ số", [t, None]), ("tiêu chí", [logit, kg, logit]), ("trống", [None])])
    assert text == "phương sai Taylor; chỉ số: t (Student); tiêu chí: logit, Korn–Graubard"
    assert ci_method_text([("x", [None])]) == ""
    jk = est(0.8, 0.1, 50, method="JKn")
    assert ci_method_text([("x", [jk])]) == "phương sai jackknife; x: jackknife"


def test_every_method_an_estimate_can_carry_has_a_label():
    assert set(METHODS) <= METHOD_LABELS.keys()
    assert all(vi and en for vi, en in METHOD_LABELS.values())
    assert method_label("mean") == "t (Student)" and method_label("mean", "en") == "Student t"


def test_demo_report_labels_come_from_its_estimates():
    # The demo used to print a fixed "Korn–Graubard cho tỷ lệ" over estimates with t intervals.
    data = demo_unit()
    assert data.methods.ci_method == ci_method_text([
        ("chỉ số chung và chỉ số thành phần", [data.overall, *(c.estimate for c in data.components)]),
        ("tỷ lệ hài lòng từng tiêu chí", [i.rate for i in data.items]),
        ("thay đổi so với kỳ trước", [data.overall_change])])
    assert "Korn" not in data.methods.ci_method
    assert data.overall_change.method == "independent_difference"


def test_unit_report_change_and_method_labels(app):
    with app.app_context():
        seed_demo_responses(n_per_unit=60, periods=(EARLIER, PERIOD))
        unit = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        now = aggregates.unit_summary(unit.id, PERIOD).overall
        before = aggregates.unit_summary(unit.id, EARLIER).overall
        data = unit_report_data(unit, PERIOD)
    # Independently: Var(a - b) = Var(a) + Var(b) (disjoint strata), t on df_a + df_b.
    se = math.sqrt(now.se ** 2 + before.se ** 2)
    half = stats.t.ppf(0.975, now.df + before.df) * se
    change = data.overall_change
    assert math.isclose(change.estimate, now.estimate - before.estimate, rel_tol=1e-12)
    assert math.isclose(change.ci_low, change.estimate - half, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(change.ci_high, change.estimate + half, rel_tol=1e-9, abs_tol=1e-12)
    assert half > 1.96 * se                       # not the normal interval it used to be
    assert now.method == "mean" and data.overall.method == "mean"
    label = data.methods.ci_method
    assert "chỉ số chung và chỉ số thành phần: t (Student);" in label
    assert "tỷ lệ hài lòng từng tiêu chí: logit" in label
    assert "thay đổi so với kỳ trước: t (Student) trên hiệu số" in label
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=render_unit_report(data),
                          capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.split())
    assert "chỉ số chung và chỉ số thành phần: t (Student)" in flat
    assert "Taylor, logit" not in flat

"""Remediation plans (kế hoạch khắc phục, issue 13): from a weak criterion to a task with a cause,
an action, a lead unit, a deadline, progress notes and evidence files, and its measured effect.

- queries: the scoped reads other parts call (task_counts, tasks_for);
- effect: before / after with the difference's interval (analysis.independent_difference);
- watch: Sở Nội vụ's overdue and at-risk list;
- service: creating and changing tasks (audited); files: evidence checks and storage;
- views, evidence_views: the officials' pages under /quan-ly/khac-phuc (MANAGE_REMEDIATION,
  own units; another unit's task is a 404);
- demo: seed_remediation_demo() for `flask seed-demo-responses`.
"""
from flask import Blueprint

bp = Blueprint("remediation", __name__, url_prefix="/quan-ly/khac-phuc")


from survey.remediation import evidence_views, views  # noqa: E402,F401

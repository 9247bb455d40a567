"""Sở Nội vụ's criteria tracker (bảng theo dõi tiêu chí chưa đạt điểm tối đa, issue 13 item 2).

- importer: the province's published PAR INDEX / SIPAS results (CSV/XLSX), checked row by row,
  written all or nothing;
- table: the rows below their maximum with their tasks, the summary and the XLSX export;
- views: /quan-ly/theo-doi-tieu-chi (MANAGE_TRACKER: Sở Nội vụ and administrators). Tasks made
  from a row are RemediationTasks (criterion_kind "tracker") of the lead unit, so its officials
  follow them and add evidence on the remediation pages.
"""
from flask import Blueprint

bp = Blueprint("tracker", __name__, url_prefix="/quan-ly/theo-doi-tieu-chi")


from survey.tracker import views  # noqa: E402,F401

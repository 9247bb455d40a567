"""The 6-month progress report (báo cáo kết quả thực hiện 6 tháng / năm) and the daily digest.

Pages under /quan-ly/bao-cao-6-thang/, `flask report progress` (on the `report` group of
survey/reports) and `flask digest`. Report content: data.py (database) -> document.py
(worded once) -> PDF (templates/reports/progress.html) or DOCX (analysis/report/docx_writer.py).
"""
from flask import Blueprint

bp = Blueprint("progress", __name__, url_prefix="/quan-ly/bao-cao-6-thang", cli_group=None)


from survey.progress import cli, views  # noqa: E402,F401

"""/quan-ly/bao-cao-6-thang/: view and download for own units, edit the typed sections, the
province version for Sở Nội vụ only; every download and edit audited."""
from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditLog
from survey.models.loop import ProgressReport
from survey.progress.document import SECTION_TITLES
from tests.conftest import csrf_of, login
from tests.progress.conftest import PERIOD

BASE = "/quan-ly/bao-cao-6-thang"


def test_official_views_downloads_and_edits_own_unit(app, client, world):
    login(client, "official")
    own, other = world["own"], world["other"]
    index = client.get(f"{BASE}/?period={PERIOD}")
    assert index.status_code == 200 and "Phường Đồng Tiến" in index.get_data(as_text=True)
    assert "Xã Mường Khến" not in index.get_data(as_text=True)
    page = client.get(f"{BASE}/{own}?period={PERIOD}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert all(title in html for title in SECTION_TITLES)
    assert f"{BASE}/{own}.pdf?period={PERIOD}" in html and f"{BASE}/{own}.docx?period={PERIOD}" in html
    assert "Báo cáo 6 tháng" in html  # the menu entry
    pdf = client.get(f"{BASE}/{own}.pdf?period={PERIOD}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "bao-cao-6-thang-00157-2026-H2.pdf" in pdf.headers["Content-Disposition"]
    for path in (f"{BASE}/{other}?period={PERIOD}", f"{BASE}/{other}.pdf", f"{BASE}/{other}.docx"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"{BASE}/tinh").status_code == 403
    assert client.get(f"{BASE}/{own}?period=2026-H9").status_code == 400

    token = csrf_of(client, f"{BASE}/{own}?period={PERIOD}")
    saved = client.post(f"{BASE}/{own}", data={"csrf_token": token, "period": PERIOD,
                                              "difficulties": "Thiếu nhân lực trực quầy.",
                                              "proposals": "Bổ sung 01 công chức cho bộ phận một cửa."})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"{BASE}/{own}?period={PERIOD}")
    docx = client.get(f"{BASE}/{own}.docx?period={PERIOD}")
    assert docx.mimetype.endswith("wordprocessingml.document")
    xml = zipfile.ZipFile(io.BytesIO(docx.data)).read("word/document.xml").decode()
    assert "Bổ sung 01 công chức cho bộ phận một cửa." in xml and "Thiếu nhân lực trực quầy." in xml
    assert client.post(f"{BASE}/{other}", data={"csrf_token": token, "period": PERIOD,
                                                "proposals": "x"}).status_code == 404
    too_long = client.post(f"{BASE}/{own}", data={"csrf_token": token, "period": PERIOD,
                                                 "proposals": "x" * 10_001})
    assert too_long.status_code == 400
    with app.app_context():
        row = db.session.scalar(select(ProgressReport).where(ProgressReport.unit_id == own,
                                                             ProgressReport.period == PERIOD))
        assert row.proposals == "Bổ sung 01 công chức cho bộ phận một cửa." and row.updated_by is not None
        actions = [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions.count("progress_report_save") == 1
        assert actions.count("progress_report_download") == 2


def test_analyst_gets_the_province_version(app, client, world):
    login(client, "analyst")
    page = client.get(f"{BASE}/tinh?period={PERIOD}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Kết quả từng đơn vị" in html and "Xã Mường Khến" in html
    docx = client.get(f"{BASE}/tinh.docx?period={PERIOD}")
    assert docx.status_code == 200 and "bao-cao-6-thang-tinh-2026-H2.docx" in docx.headers["Content-Disposition"]
    token = csrf_of(client, f"{BASE}/tinh?period={PERIOD}")
    assert client.post(f"{BASE}/tinh", data={"csrf_token": token, "period": PERIOD,
                                             "proposals": "Đề xuất của Sở Nội vụ."}).status_code == 302
    xml = zipfile.ZipFile(io.BytesIO(client.get(f"{BASE}/tinh.docx?period={PERIOD}").data)).read(
        "word/document.xml").decode()
    assert "Đề xuất của Sở Nội vụ." in xml

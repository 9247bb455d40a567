"""A real Chromium at a laptop's size: sign in → dashboard → export, as a commune official."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Response, Unit
from survey.services.demo_responses import seed_demo_responses
from tests.test_browser import browser, live_server, sign_in  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser


def test_official_signs_in_sees_dashboard_and_exports_own_rows(app, live_server, browser, tmp_path):  # noqa: F811
    with app.app_context():
        seed_demo_responses(n_per_unit=40, periods=("2026-H1", "2026-H2"))
        ward = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        own_responses = db.session.query(Response).filter(Response.unit_id == ward.id).count()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  locale="vi-VN")
    page = context.new_page()
    page.goto(live_server + "/quan-ly/")
    assert "/dang-nhap" in page.url  # not signed in yet
    sign_in(page, live_server, "official", "/quan-ly/")
    page.get_by_role("link", name="Bảng điều khiển").click()
    page.wait_for_load_state()
    assert "Bảng điều khiển: Phường Đồng Tiến" in page.inner_text("h1")
    assert page.locator("h2", has_text="Chỉ số hài lòng chung").count() == 1
    assert page.locator("svg").count() >= 1  # server-drawn charts, no script needed
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    page.get_by_role("link", name="Dữ liệu").click()
    page.wait_for_load_state()
    with page.expect_download() as info:
        page.get_by_role("button", name="Phiếu trả lời (CSV)").click()
    path = info.value.path()
    text = open(path, encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    context.close()
    assert len(rows) == own_responses > 0
    assert {r["ma_don_vi"] for r in rows} == {"00157"}
    assert {r["ten_don_vi"] for r in rows} == {"Phường Đồng Tiến"}

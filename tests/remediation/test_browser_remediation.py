"""A real Chromium: weak item on the dashboard → task → evidence upload → done, as a ward official."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models.loop import EvidenceFile, RemediationTask
from tests.remediation import samples
from tests.test_browser import browser, live_server, sign_in  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser


def test_weak_item_to_task_to_evidence_to_done(app, live_server, browser, responses, evidence_dir,  # noqa: F811
                                               tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, live_server, "official", "/quan-ly/")
    page.goto(live_server + f"/quan-ly/bang-dieu-khien/?unit={responses['00157']}&period=2026-H1")
    weakest = page.locator("section", has_text="Các tiêu chí có tỷ lệ hài lòng thấp nhất").locator("li").first
    code = weakest.locator("a").get_attribute("href").rsplit("item:", 1)[1]
    weakest.get_by_role("link", name="Lập nhiệm vụ khắc phục").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("Lập nhiệm vụ khắc phục")
    assert page.input_value("#criterion") == f"item:{code}"  # prefilled from the dashboard
    assert "%" in page.inner_text("#current-value")
    page.select_option("#cause_kind", "subjective")
    page.fill("#cause", "Thiếu ghế chờ vào giờ cao điểm")
    page.fill("#action", "Lắp thêm 20 ghế chờ")
    page.fill("#owner", "Phó Chủ tịch UBND phường")
    page.fill("#deadline", (date.today() + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Lập nhiệm vụ").click()
    page.wait_for_load_state()
    assert "Đã lập nhiệm vụ khắc phục." in page.content()
    # A disguised file is refused with a message; a real PDF is kept.
    fake = tmp_path / "bao-cao.pdf"
    fake.write_bytes(samples.EXE)
    page.set_input_files("#evidence-file", str(fake))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_load_state()
    assert "chương trình" in page.inner_text("#evidence-error")
    real = tmp_path / "bien-ban.pdf"
    real.write_bytes(samples.pdf())
    page.set_input_files("#evidence-file", str(real))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_load_state()
    assert page.locator("#evidence a", has_text="bien-ban.pdf").count() == 1
    page.select_option("#new-status", "done")
    page.get_by_role("button", name="Cập nhật", exact=True).click()
    page.wait_for_load_state()
    assert "Hoàn thành" in page.inner_text("#status")
    page.screenshot(path=str(tmp_path / "task.png"), full_page=True)
    context.close()
    with app.app_context():
        task = db.session.scalar(select(RemediationTask))
        assert (task.criterion_code, task.status) == (code, "done")
        assert [e.original_name for e in db.session.scalars(select(EvidenceFile))] == ["bien-ban.pdf"]

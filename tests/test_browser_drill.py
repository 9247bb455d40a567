"""A real Chromium: Sở Nội vụ's analyst drills province → unit → counter and back up."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Unit
from survey.services.demo_responses import seed_demo_responses
from tests.test_browser import browser, live_server, sign_in  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser


def test_analyst_drills_down_and_back_up_by_breadcrumbs(app, live_server, browser, tmp_path):  # noqa: F811
    with app.app_context():
        seed_demo_responses(n_per_unit=40, periods=("2026-H1", "2026-H2"))
        province = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None))).name
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, live_server, "analyst", "/quan-ly/")
    page.get_by_role("link", name="Toàn tỉnh").click()
    page.wait_for_load_state()
    assert province in page.inner_text("h1")
    assert page.locator("#province-index .big strong").inner_text().endswith("%")
    # Down to the first ranked unit.
    first = page.locator("#units table.ranking tbody tr").first.locator("a")
    unit_name = first.inner_text()
    first.click()
    page.wait_for_load_state()
    assert unit_name in page.inner_text("h1")
    assert page.locator("#against-province").count() == 1
    assert "Chênh lệch so với toàn tỉnh" in page.inner_text("#against-province")
    # Down to a counter: its own index with an interval.
    counter = page.locator("#counters tbody tr").first.locator("a")
    counter_name = counter.inner_text()
    counter.click()
    page.wait_for_load_state()
    assert counter_name in page.inner_text("h1")
    crumbs = page.locator("nav.breadcrumbs")
    assert crumbs.locator("[aria-current=page]").inner_text() == counter_name
    page.screenshot(path=str(tmp_path / "counter.png"), full_page=True)
    # Back up: the unit, then the province.
    crumbs.get_by_role("link", name=unit_name).click()
    page.wait_for_load_state()
    assert unit_name in page.inner_text("h1")
    page.locator("nav.breadcrumbs").get_by_role("link", name=province).click()
    page.wait_for_load_state()
    assert province in page.inner_text("h1") and "/tinh" in page.url
    # A custom range through the form, dates as dd/mm/yyyy.
    page.fill("#f-from", "05/01/2026")
    page.fill("#f-to", "20/02/2026")
    page.locator("#f-to").press("Enter")
    page.wait_for_load_state()
    assert "Từ 05/01/2026 đến 20/02/2026" in page.inner_text("h1")
    context.close()

"""A real headless Chromium at a phone's size: scan URL → form → submit → thank-you → row stored."""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from survey.extensions import db
from survey.models import Answer, Response
from tests.conftest import DEMO_PASSWORDS

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags from this machine's notes: without the background-networking ones Chromium keeps dialling
# hosts that a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: ./dev test installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


REQUIRED = ["A1_1", "A1_2", "A1_3", "A2_1", "A2_2", "A2_3", "A2_4", "A3_1", "A3_2", "A3_3", "A3_4",
            "A3_5", "A4_1", "A4_2", "A4_3", "OVERALL"]


def sign_in(page, base: str, who: str, path: str = "/dang-nhap") -> None:
    """Sign in as a demo official (tests.conftest.DEMO_PASSWORDS) on the page `path` shows."""
    email, password = DEMO_PASSWORDS[who]
    page.goto(base + path)
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/quan-ly/")


def test_citizen_on_a_phone_without_javascript(app, live_server, browser, counter, tmp_path):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, java_script_enabled=False, locale="vi-VN")
    page = context.new_page()
    page.goto(live_server + counter.url)
    assert page.locator("h1").first.inner_text().startswith("Khảo sát sự hài lòng")
    # First try: submit with one answer only; the form comes back with it kept.
    page.locator('label:has(input[name="q_A1_1"][value="5"])').tap()
    page.fill('textarea[name="q_COMMENT"]', "Cán bộ hướng dẫn tận tình")
    with page.expect_navigation():
        page.get_by_role("button", name="Gửi đánh giá").tap()
    assert page.locator("text=Vui lòng chọn một mức đánh giá.").count() >= 10
    assert page.locator('input[name="q_A1_1"][value="5"]').is_checked()
    assert page.input_value('textarea[name="q_COMMENT"]') == "Cán bộ hướng dẫn tận tình"
    for i, code in enumerate(REQUIRED):
        value = "na" if code == "A4_3" else str(3 + i % 3)
        target = page.locator(f'label:has(input[name="q_{code}"][value="{value}"])')
        box = target.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44  # WCAG-sized tap targets at 360 px
        target.tap()
    page.select_option('select[name="service_field"]', "dat-dai")
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url("**/cam-on**")
    assert "Cảm ơn Ông/Bà đã đánh giá!" in page.content()
    context.close()
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert stored.counter_id == counter.id and stored.service_field == "dat-dai"
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 17
        na = db.session.scalar(select(func.count()).select_from(Answer).where(Answer.na))
        assert na == 1


def test_page_fits_a_360px_screen(live_server, browser, counter):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  java_script_enabled=True)
    page = context.new_page()
    page.goto(live_server + counter.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('legend')).fontSize)")
    assert font >= 16
    context.close()

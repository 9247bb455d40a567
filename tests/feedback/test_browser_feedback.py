"""A real Chromium: a low rating with "Tôi muốn được trả lời" → the case link → an official
answers → the citizen rates the handling, once."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey.extensions import db
from survey.models import FeedbackCase
from tests.test_browser import REQUIRED, browser, live_server, sign_in  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser


def test_low_rating_case_link_answer_and_rating(app, live_server, browser, ward_counter, tmp_path):  # noqa: F811
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                locale="vi-VN", permissions=["clipboard-read", "clipboard-write"])
    page = phone.new_page()
    page.goto(live_server + ward_counter)
    for code in REQUIRED:
        page.locator(f'label:has(input[name="q_{code}"][value="{"1" if code == "A3_1" else "4"}"])').tap()
    page.fill('textarea[name="q_COMMENT"]', "Công chức không hướng dẫn rõ, phải đi lại ba lần")
    page.locator('input[name="reply"]').check()
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url("**/phan-anh/**")
    assert "Lưu lại liên kết này để theo dõi" in page.content()
    case_url = page.input_value("#case-url")
    assert "/phan-anh/" in case_url and page.inner_text("#case-code").startswith("PA-")
    page.get_by_role("button", name="Sao chép").tap()
    expect(page.locator("#copy-link")).to_have_text("Đã sao chép")
    page.screenshot(path=str(tmp_path / "case-new.png"), full_page=True)
    with app.app_context():
        case = db.session.scalars(select(FeedbackCase)).one()
        case_id, code = case.id, case.code

    office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    desk = office.new_page()
    sign_in(desk, live_server, "official")
    desk.get_by_role("link", name="Phản ánh, kiến nghị").click()
    desk.get_by_role("link", name=code).click()
    desk.wait_for_url(f"**/quan-ly/phan-anh/{case_id}")
    assert "phải đi lại ba lần" in desk.inner_text("#message")
    desk.fill("#answer-text", "Đơn vị đã nhắc nhở công chức và niêm yết danh mục giấy tờ tại quầy.")
    with desk.expect_navigation():
        desk.get_by_role("button", name="Gửi trả lời").click()
    assert desk.inner_text("#status") == "Đã trả lời"
    office.close()

    page.goto(case_url.replace("http://survey.test", live_server))
    assert "niêm yết danh mục giấy tờ" in page.inner_text("#answer")
    page.locator('label:has(input[name="rating"][value="4"])').tap()
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url("**da=danh-gia**")
    assert "Cảm ơn Ông/Bà đã đánh giá việc xử lý phản ánh." in page.content()
    assert "4/5" in page.inner_text("#rated")
    assert page.locator('input[name="rating"]').count() == 0  # rated once: no form any more
    page.screenshot(path=str(tmp_path / "case-rated.png"), full_page=True)
    phone.close()
    with app.app_context():
        assert db.session.get(FeedbackCase, case_id).followup_rating == 4

"""Retiring a counter, rotating its QR code and closing a campaign ask first (a page, no JavaScript
needed), can be undone for 10 minutes, and every step is audited; a success message shows once;
a refused page says so with the officials' menu."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from survey.extensions import db
from survey.models import AuditLog, Counter, Survey
from tests.conftest import csrf_of, login
from tests.test_campaigns import BASE, _direct_campaign, unit_link

UNITS = "/quan-tri/don-vi"


def actions(app, target: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog.action).where(AuditLog.target == target)
                                       .order_by(AuditLog.id)))


def undo_url(html: str) -> str:
    found = re.search(r'<form class="undo" method="post" action="([^"]+)"', html)
    assert found, "no undo button on the page"
    return found.group(1).replace("&amp;", "&")


def age_audit(app, target: str, minutes: int) -> None:
    """Pretend the audited actions on `target` happened `minutes` ago."""
    with app.app_context():
        for row in db.session.scalars(select(AuditLog).where(AuditLog.target == target)):
            row.at = row.at - timedelta(minutes=minutes)
        db.session.commit()


def test_retiring_asks_first_then_can_be_undone_once(app, client, counter):
    login(client, "admin")
    path = f"/quan-tri/quay/{counter.id}/ngung"
    assert f'href="{path}"' in client.get(UNITS).get_data(as_text=True)  # a link to the question
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ngừng quầy" in html and 'name="xac_nhan" value="1"' in html
    token = csrf_of(client, path)
    # A POST without the confirmation (the old one-click button) only shows the question again.
    assert "Quay lại, không thay đổi gì" in client.post(path, data={"csrf_token": token}).get_data(as_text=True)
    assert client.get(counter.url).status_code == 200
    done = client.post(path, data={"csrf_token": token, "xac_nhan": "1"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert client.get(counter.url).status_code == 410
    assert html.count("Đã ngừng quầy") == 1  # the success message once, not twice
    url = undo_url(html)
    # Reload: the message and the undo button were shown once and are gone.
    again = client.get(UNITS).get_data(as_text=True)
    assert "Đã ngừng quầy" not in again and 'class="undo"' not in again
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    assert client.get(counter.url).status_code == 200
    with app.app_context():
        restored = db.session.get(Counter, counter.id)
        assert restored.active and restored.retired_at is None
    # A second undo finds nothing left to undo.
    client.post(url, data={"csrf_token": token})
    assert "Không hoàn tác được" in client.get(UNITS).get_data(as_text=True)
    assert actions(app, f"counter:{counter.id}") == ["counter_retired", "counter_retired_undone"]


def test_undo_expires_after_ten_minutes(app, client, counter):
    login(client, "admin")
    path = f"/quan-tri/quay/{counter.id}/ngung"
    token = csrf_of(client, path)
    url = undo_url(client.post(path, data={"csrf_token": token, "xac_nhan": "1"},
                               follow_redirects=True).get_data(as_text=True))
    age_audit(app, f"counter:{counter.id}", 11)
    client.post(url, data={"csrf_token": token})
    assert "Không hoàn tác được" in client.get(UNITS).get_data(as_text=True)
    assert client.get(counter.url).status_code == 410
    # A forged undo of an action never done is refused too.
    bad = client.post(f"/quan-tri/quay/{counter.id}/hoan-tac?thao_tac=unit_created", data={"csrf_token": token})
    assert bad.status_code == 400


def test_rotation_asks_first_and_undo_brings_back_the_printed_codes(app, client, counter):
    login(client, "admin")
    path = f"/quan-tri/quay/{counter.id}/doi-ma"
    assert "Đổi mã QR của quầy" in client.get(path).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Counter, counter.id).token_version == 1  # the page changed nothing
    token = csrf_of(client, path)
    html = client.post(path, data={"csrf_token": token, "xac_nhan": "1"}, follow_redirects=True).get_data(as_text=True)
    assert client.get(counter.url).status_code == 410
    client.post(undo_url(html), data={"csrf_token": token})
    assert client.get(counter.url).status_code == 200
    assert actions(app, f"counter:{counter.id}") == ["counter_token_rotated", "counter_token_rotated_undone"]


def test_closing_a_campaign_asks_first_and_can_be_reopened(app, client):
    survey_id, _uid = _direct_campaign(app)
    login(client, "analyst")
    path = f"{BASE}/{survey_id}/ket-thuc"
    assert f'href="{path}"' in client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    assert "Kết thúc đợt khảo sát" in client.get(path).get_data(as_text=True)
    token = csrf_of(client, path)
    client.post(path, data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "open"
    html = client.post(path, data={"csrf_token": token, "xac_nhan": "1"}, follow_redirects=True).get_data(as_text=True)
    assert html.count("Đã kết thúc đợt khảo sát.") == 1
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "closed"
    client.post(undo_url(html), data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "open"
    assert client.get(unit_link(app, survey_id, "00157")).status_code == 200
    assert actions(app, f"survey:{survey_id}")[-2:] == ["campaign_closed", "campaign_closed_undone"]


def test_reopen_refused_after_the_window(app, client):
    survey_id, _uid = _direct_campaign(app)
    login(client, "analyst")
    path = f"{BASE}/{survey_id}/ket-thuc"
    token = csrf_of(client, path)
    client.post(path, data={"csrf_token": token, "xac_nhan": "1"})
    with app.app_context():
        db.session.execute(update(AuditLog).where(AuditLog.target == f"survey:{survey_id}")
                           .values(at=AuditLog.at - timedelta(minutes=30)))
        db.session.commit()
    client.post(f"{BASE}/{survey_id}/hoan-tac-ket-thuc", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "closed"


def test_forbidden_page_says_so_with_the_menu(client):
    login(client, "official")
    page = client.get(UNITS)
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "Bạn không có quyền truy cập trang này" in html
    assert "Bảng điều khiển" in html and "Đăng xuất" in html  # the officials' menu


def test_forbidden_page_for_signed_out_visitors_has_no_menu(app, client):
    with app.test_request_context():
        from flask import render_template

        html = render_template("errors.html", code=403, kind=None, officials_layout=False)
    assert "Bạn không có quyền truy cập trang này" in html and "Đăng xuất" not in html

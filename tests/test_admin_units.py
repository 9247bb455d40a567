"""Administrators manage units, counters and accounts; nobody else can, and every change is audited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditLog, Counter, Response, Unit, User
from tests.conftest import csrf_of, login
from tests.intake.test_public_form import submit

ADMIN_GET = ("/quan-tri/don-vi", "/quan-tri/don-vi/moi", "/quan-tri/don-vi/nhap", "/quan-tri/tai-khoan",
             "/quan-tri/tai-khoan/moi")


CONFIRMED = {"xac_nhan": "1"}  # the confirmation page's button (tests/polish/test_confirm_undo.py)


def audit_rows(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def unit_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Unit.id).where(Unit.code == code))


@pytest.mark.parametrize("who,expected", [("official", 403), ("analyst", 403), ("admin", 200)])
def test_admin_pages_are_for_administrators_only(client, who, expected):
    login(client, who)
    for path in ADMIN_GET:
        assert client.get(path).status_code == expected, path


def test_admin_pages_need_a_login(client):
    response = client.get("/quan-tri/don-vi")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_official_cannot_post_admin_actions(app, client, counter):
    login(client, "official")
    token = csrf_of(client, "/quan-tri/khoa-api")  # a page officials may open, for a valid token
    assert client.post(f"/quan-tri/quay/{counter.id}/ngung", data={"csrf_token": token, **CONFIRMED}).status_code == 403
    assert client.post("/quan-tri/don-vi/moi", data={"csrf_token": token, "code": "X1", "name": "X",
                                                     "kind": "commune", "parent_id": ""}).status_code == 403
    with app.app_context():
        assert db.session.get(Counter, counter.id).active


def test_unit_tree_lists_units_counters_and_codes_in_order(client):
    login(client, "admin")
    html = client.get("/quan-tri/don-vi").get_data(as_text=True)
    province = html.index("Tỉnh Hòa Bình Xanh")
    ward = html.index("Phường Đồng Tiến")
    ward_counter = html.index("00157-Q1")
    commune = html.index("Xã Mường Khến")
    assert province < ward < ward_counter < commune
    assert "Quầy 1 – Hộ tịch, chứng thực" in html


def test_add_and_edit_a_unit_is_audited(app, client):
    login(client, "admin")
    province = unit_id(app, "01")
    token = csrf_of(client, "/quan-tri/don-vi/moi")
    created = client.post("/quan-tri/don-vi/moi", data={
        "csrf_token": token, "code": "00999", "name": "Xã Tân Lạc", "name_en": "", "kind": "commune",
        "parent_id": str(province)})
    assert created.status_code == 302
    new_id = unit_id(app, "00999")
    assert new_id is not None
    edited = client.post(f"/quan-tri/don-vi/{new_id}", data={
        "csrf_token": token, "code": "00999", "name": "Xã Tân Lạc Mới", "name_en": "", "kind": "commune",
        "parent_id": str(province)})
    assert edited.status_code == 302
    with app.app_context():
        assert db.session.get(Unit, new_id).name == "Xã Tân Lạc Mới"
    assert len(audit_rows(app, "unit_created")) == 1
    updated = audit_rows(app, "unit_updated")
    assert updated[0].details["before"]["name"] == "Xã Tân Lạc" and updated[0].user_id is not None


def test_unit_form_refuses_duplicate_code_and_missing_parent(app, client):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/don-vi/moi")
    duplicate = client.post("/quan-tri/don-vi/moi", data={
        "csrf_token": token, "code": "00157", "name": "Trùng", "kind": "ward", "parent_id": str(unit_id(app, "01"))})
    assert duplicate.status_code == 422 and "Đã có đơn vị mã 00157" in duplicate.get_data(as_text=True)
    orphan = client.post("/quan-tri/don-vi/moi", data={
        "csrf_token": token, "code": "00998", "name": "Mồ côi", "kind": "ward", "parent_id": ""})
    assert orphan.status_code == 422 and "Vui lòng chọn đơn vị cấp trên" in orphan.get_data(as_text=True)
    assert unit_id(app, "00998") is None and audit_rows(app, "unit_created") == []


def test_a_unit_cannot_be_moved_below_itself(app, client):
    login(client, "admin")
    province = unit_id(app, "01")
    ward = unit_id(app, "00157")
    token = csrf_of(client, f"/quan-tri/don-vi/{province}")
    response = client.post(f"/quan-tri/don-vi/{province}", data={
        "csrf_token": token, "code": "01", "name": "Tỉnh", "kind": "agency", "parent_id": str(ward)})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Unit, province).parent_id is None


def test_add_a_counter_gets_the_next_code(app, client):
    login(client, "admin")
    ward = unit_id(app, "00157")
    token = csrf_of(client, f"/quan-tri/don-vi/{ward}/quay-moi")
    response = client.post(f"/quan-tri/don-vi/{ward}/quay-moi", data={"csrf_token": token, "name": "Quầy 4 – Tư pháp"})
    assert response.status_code == 302
    with app.app_context():
        added = db.session.scalar(select(Counter).where(Counter.code == "00157-Q4"))
        assert added is not None and added.unit_id == ward and added.active
    assert audit_rows(app, "counter_created")[0].details["code"] == "00157-Q4"


def test_retiring_a_counter_stops_its_qr_and_keeps_its_responses(app, client, counter):
    assert submit(client, counter.url).status_code == 303
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/don-vi")
    assert client.post(f"/quan-tri/quay/{counter.id}/ngung", data={"csrf_token": token, **CONFIRMED}).status_code == 302
    gone = client.get(counter.url)
    assert gone.status_code == 410 and "Quầy này đã ngừng sử dụng" in gone.get_data(as_text=True)
    with app.app_context():
        retired = db.session.get(Counter, counter.id)
        assert not retired.active and retired.retired_at is not None
        kept = db.session.scalar(select(func.count()).select_from(Response).where(Response.counter_id == counter.id))
        assert kept == 1
    assert len(audit_rows(app, "counter_retired")) == 1


def test_retire_without_csrf_token_changes_nothing(app, client, counter):
    login(client, "admin")
    response = client.post(f"/quan-tri/quay/{counter.id}/ngung")
    assert response.status_code == 400
    assert client.get(counter.url).status_code == 200


def test_rotating_a_token_invalidates_printed_qr_codes(app, client, counter):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/don-vi")
    rotated = client.post(f"/quan-tri/quay/{counter.id}/doi-ma", data={"csrf_token": token, **CONFIRMED})
    assert rotated.status_code == 302
    old = client.get(counter.url)
    assert old.status_code == 410 and "Mã QR này đã được thay mới" in old.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Counter, counter.id).token_version == 2
    html = client.get("/quan-tri/don-vi").get_data(as_text=True)
    fresh = re.search(r'href="http://survey.test(/s/[^"]+)"', html)
    assert fresh and fresh.group(1) != counter.url
    assert audit_rows(app, "counter_token_rotated")[0].details["token_version"] == 2


def test_units_import_by_upload_creates_tree_and_reports_errors(app, client):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/don-vi/nhap")
    good = "code,name,kind,parent_code\n00300,Xã Kim Bôi,commune,01\n00300-TT,Bộ phận Một cửa xã Kim Bôi,centre,00300\n"
    response = client.post("/quan-tri/don-vi/nhap", data={"csrf_token": token, "file": (_bytes(good), "dv.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Đã nhập 2 đơn vị: 2 mới" in response.get_data(as_text=True)
    with app.app_context():
        centre = db.session.scalar(select(Unit).where(Unit.code == "00300-TT"))
        assert centre.parent.code == "00300" and centre.kind == "centre"
    bad = "code,name,kind,parent_code\n00301,Xã A,commune,01\n00302,Xã B,thon,01\n"
    response = client.post("/quan-tri/don-vi/nhap", data={"csrf_token": token, "file": (_bytes(bad), "dv.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "không có dòng nào được ghi" in html
    assert "<td class=\"num\">3</td><td>kind</td>" in html
    assert unit_id(app, "00301") is None
    assert len(audit_rows(app, "units_imported")) == 1


def test_import_units_cli(app, runner, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes("\ufeffcode,name,kind,parent_code\n00400,Phường Hữu Nghị,ward,01\n".encode("utf-8"))
    ok = runner.invoke(args=["import-units", str(path)])
    assert ok.exit_code == 0, ok.output
    assert unit_id(app, "00400") is not None
    path.write_bytes(b"code,name,kind,parent_code\n00401,X,ward,KHONGCO\n")
    bad = runner.invoke(args=["import-units", str(path)])
    assert bad.exit_code == 1 and "Dòng 2, cột parent_code" in bad.output
    assert unit_id(app, "00401") is None
    assert audit_rows(app, "units_imported")[0].details["via"] == "cli"


def _bytes(text: str):
    import io

    return io.BytesIO(text.encode("utf-8"))


def test_users_list_create_reset_deactivate(app, client):
    login(client, "admin")
    assert "dongtien@demo.gov.vn" in client.get("/quan-tri/tai-khoan").get_data(as_text=True)
    token = csrf_of(client, "/quan-tri/tai-khoan/moi")
    created = client.post("/quan-tri/tai-khoan/moi", data={
        "csrf_token": token, "email": "yenthuy@demo.gov.vn", "name": "Cán bộ Xã Yên Thủy", "role": "official",
        "unit_code": "00193"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "Cache-Control" in created.headers
    assert created.headers["Cache-Control"] == "no-store"
    first = re.search(r'id="one-time-password">([^<]+)<', html).group(1)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "yenthuy@demo.gov.vn"))
        assert user.unit.code == "00193" and user.must_change_password
        new_id = user.id
    reset = client.post(f"/quan-tri/tai-khoan/{new_id}/dat-lai-mat-khau", data={"csrf_token": token})
    second = re.search(r'id="one-time-password">([^<]+)<', reset.get_data(as_text=True)).group(1)
    assert second != first
    # The one-time password works once handed over: it leads to the change-password page.
    other = app.test_client()
    login_token = csrf_of(other, "/dang-nhap")
    signed_in = other.post("/dang-nhap", data={"email": "yenthuy@demo.gov.vn", "password": second,
                                               "csrf_token": login_token})
    assert signed_in.headers["Location"].endswith("/doi-mat-khau")
    assert client.post(f"/quan-tri/tai-khoan/{new_id}/khoa", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert not db.session.get(User, new_id).active
    assert other.get("/quan-ly/").status_code == 302  # the deactivated session is refused
    actions = {row.action for row in audit_rows(app, "user_created") + audit_rows(app, "password_reset")
               + audit_rows(app, "user_deactivated")}
    assert actions == {"user_created", "password_reset", "user_deactivated"}


def test_create_user_refuses_official_without_unit(app, client):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/tai-khoan/moi")
    response = client.post("/quan-tri/tai-khoan/moi", data={
        "csrf_token": token, "email": "x@demo.gov.vn", "name": "X", "role": "official", "unit_code": ""})
    assert response.status_code == 422 and "cần mã đơn vị" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "x@demo.gov.vn")) is None


def test_admin_cannot_deactivate_themselves(app, client):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/tai-khoan")
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.email == "quantri@demo.gov.vn"))
    client.post(f"/quan-tri/tai-khoan/{me}/khoa", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(User, me).active

"""Service-volume (and unit) CSV imports: every bad row reported by number, nothing written unless all good."""
from __future__ import annotations

import io
import unicodedata

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditLog, ServiceVolume, Unit
from survey.services import imports
from tests.conftest import csrf_of, login

HEADER = "unit_code,period,field,dossiers\n"
GOOD = HEADER + "00157,2026-H1,ho-tich,1200\n00157,2026-H1,dat-dai,340\n00178,2026-H1,ho-tich,85\n"


def volumes(app) -> dict[tuple[str, str, str], int]:
    with app.app_context():
        rows = db.session.execute(select(Unit.code, ServiceVolume.period, ServiceVolume.field, ServiceVolume.dossiers)
                                  .join(Unit, ServiceVolume.unit_id == Unit.id)).all()
        return {(code, period, field): n for code, period, field, n in rows}


def rejected(app, data: bytes) -> list[imports.RowError]:
    with app.app_context():
        with pytest.raises(imports.ImportRejected) as caught:
            imports.parse_volumes_csv(data)
        return caught.value.errors


def test_good_file_upserts_on_unit_period_field(app):
    with app.app_context():
        result = imports.apply_volumes(imports.parse_volumes_csv(GOOD.encode()))
        db.session.commit()
        assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
        again = imports.apply_volumes(imports.parse_volumes_csv(
            (HEADER + "00157,2026-H1,ho-tich,1250\n00178,2026-H1,ho-tich,85\n").encode()))
        db.session.commit()
        assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert volumes(app) == {("00157", "2026-H1", "ho-tich"): 1250, ("00157", "2026-H1", "dat-dai"): 340,
                            ("00178", "2026-H1", "ho-tich"): 85}


def test_bom_semicolons_and_column_order_are_accepted(app):
    data = "\ufeffdossiers;field;period;unit_code\r\n42;khac;2025-h2;00163\r\n".encode("utf-8")
    with app.app_context():
        rows = imports.parse_volumes_csv(data)
    assert [(r.period, r.field, r.dossiers) for r in rows] == [("2025-H2", "khac", 42)]


@pytest.mark.parametrize("line,column,fragment", [
    ("KHONGCO,2026-H1,ho-tich,10", "unit_code", "không có đơn vị mã \"KHONGCO\""),
    ("00157,2026-Q1,ho-tich,10", "period", "kỳ \"2026-Q1\" không hợp lệ"),
    ("00157,H1-2026,ho-tich,10", "period", "không hợp lệ"),
    ("00157,2026-H1,ho-tich,-5", "dossiers", "phải là số nguyên không âm"),
    ("00157,2026-H1,ho-tich,12.5", "dossiers", "phải là số nguyên không âm"),
    ("00157,2026-H1,ho-tich,mười", "dossiers", "phải là số nguyên không âm"),
    ("00157,2026-H1,ho-tich,", "dossiers", "thiếu số hồ sơ"),
    ("00157,2026-H1,ho-tich,99999999999", "dossiers", "quá lớn"),
    ("00157,2026-H1,thue,10", "field", "lĩnh vực \"thue\" không có trong danh mục"),
])
def test_each_bad_row_is_reported_with_row_and_column_and_nothing_written(app, line, column, fragment):
    data = (HEADER + "00178,2026-H1,ho-tich,85\n" + line + "\n").encode()
    errors = rejected(app, data)
    assert len(errors) == 1
    assert (errors[0].row, errors[0].column) == (3, column)
    assert fragment in errors[0].message
    assert str(errors[0]).startswith(f"Dòng 3, cột {column}: ")
    assert volumes(app) == {}


def test_all_bad_rows_are_reported_at_once(app):
    data = (HEADER + "KHONGCO,2026-H1,ho-tich,10\n00157,2026,ho-tich,10\n00157,2026-H1,x,-1\n").encode()
    errors = rejected(app, data)
    assert [(e.row, e.column) for e in errors] == [(2, "unit_code"), (3, "period"), (4, "field"), (4, "dossiers")]


def test_duplicate_row_names_the_first_occurrence(app):
    data = (HEADER + "00157,2026-H1,ho-tich,10\n00178,2026-H1,ho-tich,5\n00157,2026-h1,ho-tich,11\n").encode()
    errors = rejected(app, data)
    assert len(errors) == 1 and errors[0].row == 4 and "trùng với dòng 2" in errors[0].message


@pytest.mark.parametrize("data,fragment", [
    (b"", "Tệp rỗng"),
    (b"   \n", "Tệp rỗng"),
    (HEADER.encode(), "không có dòng dữ liệu"),
    (b"ma_don_vi,ky,linh_vuc,so_ho_so\n00157,2026-H1,ho-tich,10\n", "thiếu cột unit_code, period, field, dossiers"),
    (b"unit_code,period,field,dossiers,period\n", "cột lặp lại period"),
])
def test_bad_files_are_refused(app, data, fragment):
    errors = rejected(app, data)
    assert len(errors) == 1 and fragment in errors[0].message


def test_non_utf8_bytes_are_reported_with_their_line(app):
    # Windows-1258, as old Vietnamese Excel installs save "CSV": decomposed diacritics, not UTF-8.
    legacy = unicodedata.normalize("NFD", "00205,2026-H1,khac,5,Xã Đà\n").encode("cp1258")
    data = ("unit_code,period,field,dossiers,unit_name\n00157,2026-H1,ho-tich,10,Phường\n").encode() + legacy
    errors = rejected(app, data)
    assert errors[0].row == 3 and "UTF-8" in errors[0].message


def test_json_records_use_the_same_rules(app):
    with app.app_context():
        rows = imports.parse_volumes_json([{"unit_code": "00157", "period": "2026-H1", "field": "ho-tich",
                                            "dossiers": 7}])
        assert rows[0].dossiers == 7
        with pytest.raises(imports.ImportRejected) as caught:
            imports.parse_volumes_json([{"unit_code": "00157", "period": "2026-H1", "field": "ho-tich",
                                         "dossiers": True},
                                        {"unit_code": "00157", "period": "2026-H1", "field": "ho-tich",
                                         "dossiers": -1}])
    assert [(e.row, e.column) for e in caught.value.errors] == [(1, "dossiers"), (2, "dossiers")]
    assert str(caught.value.errors[0]).startswith("Phần tử 1, cột dossiers")


def upload(client, text: bytes | str, name: str = "khoi-luong.csv"):
    data = text.encode() if isinstance(text, str) else text
    token = csrf_of(client, "/quan-tri/du-lieu")
    return client.post("/quan-tri/du-lieu/khoi-luong-ho-so",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("who", ["admin", "analyst"])
def test_upload_by_admin_and_analyst_is_audited_as_a_weight_change(app, client, who):
    login(client, who)
    response = upload(client, GOOD)
    assert response.status_code == 200
    assert "Đã nhập 3 dòng khối lượng hồ sơ: 3 mới" in response.get_data(as_text=True)
    assert len(volumes(app)) == 3
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "weights_changed")).one()
        assert entry.details["periods"] == ["2026-H1"] and entry.details["via"] == "web"
        assert entry.user_id is not None


def test_upload_with_bad_rows_shows_the_report_and_writes_nothing(app, client):
    login(client, "analyst")
    response = upload(client, HEADER + "00157,2026-H1,ho-tich,10\nKHONGCO,2026-H1,ho-tich,1\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tệp có 1 lỗi — không có dòng nào được ghi" in html
    assert "không có đơn vị mã &#34;KHONGCO&#34;" in html or "không có đơn vị mã &quot;KHONGCO&quot;" in html
    assert volumes(app) == {}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == "weights_changed")) == 0


def test_official_cannot_upload_volumes(app, client):
    login(client, "official")
    response = upload(client, GOOD)
    assert response.status_code == 403 and volumes(app) == {}
    assert "khoi-luong-ho-so" not in client.get("/quan-tri/du-lieu").get_data(as_text=True)


def test_upload_without_csrf_token_is_refused(app, client):
    login(client, "admin")
    response = client.post("/quan-tri/du-lieu/khoi-luong-ho-so", data={"file": (io.BytesIO(GOOD.encode()), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and volumes(app) == {}


def test_upload_larger_than_the_citizen_limit_is_accepted(app, client):
    # The app-wide 64 KB body limit is for the citizen form; a province's volume file is bigger.
    login(client, "admin")
    # Periods are bounded (2020-H1 to the half-year after the current one), so the file grows by
    # units instead: sixty more communes beside the demo ones.
    from datetime import datetime, timezone

    from survey.catalog.periods import FIRST_PERIOD, following, period_of

    with app.app_context():
        province = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
        db.session.add_all(Unit(code=f"T{n:03d}", name=f"Xã thử {n}", kind="commune", parent_id=province.id)
                           for n in range(60))
        db.session.commit()
        codes = db.session.scalars(select(Unit.code)).all()
    periods, last = [FIRST_PERIOD], following(period_of(datetime.now(timezone.utc)))
    while periods[-1] != last:
        periods.append(following(periods[-1]))
    rows = [f"{unit},{period},{field},{len(period) + len(unit)}" for unit in codes
            for period in periods for field in ("ho-tich", "dat-dai", "khac")]
    text = HEADER + "\n".join(rows) + "\n"
    assert len(text.encode()) > 64 * 1024
    response = upload(client, text)
    assert response.status_code == 200, response.status_code
    assert len(volumes(app)) == len(rows)


def test_import_volumes_cli(app, runner, tmp_path):
    path = tmp_path / "v.csv"
    path.write_bytes(("\ufeff" + GOOD).encode("utf-8"))
    ok = runner.invoke(args=["import-volumes", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "3 mới" in ok.output and len(volumes(app)) == 3
    path.write_bytes((HEADER + "00157,2026-H1,ho-tich,1\n00157,2026-H1,ho-tich,-1\n").encode())
    bad = runner.invoke(args=["import-volumes", str(path)])
    assert bad.exit_code == 1
    assert "Dòng 3, cột dossiers" in bad.output and "không có dòng nào được ghi" in bad.output
    assert volumes(app)[("00157", "2026-H1", "ho-tich")] == 1200


def test_units_import_reports_cycles_duplicates_and_kinds(app):
    data = ("code,name,kind,parent_code\n"
            "A1,Đơn vị A,agency,B1\nB1,Đơn vị B,agency,A1\n"
            "00157,Phường Đồng Tiến,ward,01\n00157,Lặp,ward,01\n"
            "C1,,centre,01\nD1,Tỉnh khác,province,01\n").encode()
    with app.app_context():
        with pytest.raises(imports.ImportRejected) as caught:
            imports.parse_units_csv(data)
    found = {(e.row, e.column) for e in caught.value.errors}
    assert found == {(5, "code"), (6, "name"), (7, "parent_code")}
    cyclic = ("code,name,kind,parent_code\nA1,Đơn vị A,agency,B1\nB1,Đơn vị B,agency,A1\n").encode()
    with app.app_context():
        with pytest.raises(imports.ImportRejected) as caught:
            imports.parse_units_csv(cyclic)
        assert {e.row for e in caught.value.errors} == {2, 3}
        assert "vòng lặp" in caught.value.errors[0].message
        assert db.session.scalar(select(Unit).where(Unit.code == "A1")) is None


def test_units_import_updates_existing_units(app):
    data = "code,name,kind,parent_code\n00157,Phường Đồng Tiến (mới),ward,01\n00500,Xã Mới,commune,01\n".encode()
    with app.app_context():
        result = imports.apply_units(imports.parse_units_csv(data))
        db.session.commit()
        assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
        assert db.session.scalar(select(Unit.name).where(Unit.code == "00157")) == "Phường Đồng Tiến (mới)"

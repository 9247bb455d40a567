"""Downloads: scoped to the user's units whatever the parameters, parsed back from CSV and XLSX."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.models import Answer, AuditLog, Counter, Response, Survey, Unit
from tests.conftest import login

OWN, OTHER = "00157", "00178"  # the official's ward; the other official's commune


def add_response(app, counter_code: str, period: str = "2026-H1", values: dict | None = None,
                 submitted_at: datetime | None = None) -> int:
    """A stored response with answers, inserted directly (the citizen form has its own tests)."""
    values = values if values is not None else {"A1.1": 5, "A3.1": 4, "A1.3": "na", "OVERALL": 4}
    with app.app_context():
        counter = db.session.scalar(select(Counter).where(Counter.code == counter_code))
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        version = survey.current_version
        questions = {q.code: q for q in version.questions}
        response = Response(survey_id=survey.id, survey_version_id=version.id, counter_id=counter.id,
                            unit_id=counter.unit_id, period=period, channel="qr",
                            submitted_at=submitted_at or datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc),
                            idempotency_key=uuid.uuid4().hex, service_field="ho-tich", client_hash="c" * 64)
        for code, value in values.items():
            if value == "na":
                response.answers.append(Answer(question_id=questions[code].id, na=True))
            elif isinstance(value, int):
                response.answers.append(Answer(question_id=questions[code].id, value_int=value))
            else:
                response.answers.append(Answer(question_id=questions[code].id, value_text=value))
        db.session.add(response)
        db.session.commit()
        return response.id


def unit_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Unit.id).where(Unit.code == code))


def read_csv(response) -> list[dict[str, str]]:
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode("utf-8")), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def read_xlsx(response) -> list[dict]:
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.fixture
def responses(app):
    return {
        "own": add_response(app, f"{OWN}-Q1", values={"A1.1": 5, "A3.1": 4, "A1.3": "na", "OVERALL": 4,
                                                      "COMMENT": "=HYPERLINK(\"http://x\")"}),
        "own_h2": add_response(app, f"{OWN}-Q2", period="2025-H2"),
        "other": add_response(app, f"{OTHER}-Q1"),
    }


def test_responses_csv_has_one_row_per_response_with_question_columns(app, client, responses):
    login(client, "analyst")
    response = client.get("/quan-tri/du-lieu/phieu-tra-loi.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert [r["stt"] for r in rows] == ["1", "2", "3"]  # row numbers, not database ids
    assert sorted(r["ma_quay"] for r in rows) == sorted([f"{OWN}-Q1", f"{OWN}-Q2", f"{OTHER}-Q1"])
    own = next(r for r in rows if r["ma_quay"] == f"{OWN}-Q1")
    assert own["A1.1"] == "5" and own["A3.1"] == "4" and own["A1.3"] == "KAD" and own["A2.1"] == ""
    assert own["ten_don_vi"] == "Phường Đồng Tiến" and own["ma_quay"] == f"{OWN}-Q1"
    assert own["gio_gui"] == "02/03/2026 08:00"  # Vietnam time, dd/mm/yyyy, the hour only
    assert own["COMMENT"].startswith("'=")  # a citizen's text never becomes a spreadsheet formula
    header = list(rows[0].keys())
    assert not any("hash" in h or "client" in h or "dossier" in h for h in header)
    body = response.get_data(as_text=True)
    assert "c" * 64 not in body and "d" * 32 not in body


def test_official_export_contains_only_own_units(app, client, responses):
    login(client, "official")
    rows = read_csv(client.get("/quan-tri/du-lieu/phieu-tra-loi.csv"))
    assert {r["ma_don_vi"] for r in rows} == {OWN}
    counts = read_csv(client.get("/quan-tri/du-lieu/so-phieu.csv"))
    assert {r["ma_don_vi"] for r in counts} == {OWN}


@pytest.mark.parametrize("path", ["/quan-tri/du-lieu/phieu-tra-loi.csv", "/quan-tri/du-lieu/phieu-tra-loi.xlsx",
                                  "/quan-tri/du-lieu/so-phieu.csv", "/quan-tri/du-lieu/so-phieu.xlsx"])
def test_official_asking_for_another_unit_gets_404(app, client, responses, path):
    login(client, "official")
    assert client.get(path, query_string={"unit": unit_id(app, OTHER)}).status_code == 404
    assert client.get(path, query_string={"unit": unit_id(app, "01")}).status_code == 404  # the province
    assert client.get(path, query_string={"unit": 999999}).status_code == 404
    assert client.get(path, query_string={"unit": unit_id(app, OWN)}).status_code == 200


def test_filters_by_period_and_unit(app, client, responses):
    login(client, "analyst")
    by_period = read_csv(client.get("/quan-tri/du-lieu/phieu-tra-loi.csv", query_string={"period": "2025-H2"}))
    assert [r["ma_quay"] for r in by_period] == [f"{OWN}-Q2"]
    by_unit = read_csv(client.get("/quan-tri/du-lieu/phieu-tra-loi.csv", query_string={"unit": unit_id(app, OTHER)}))
    assert [r["ma_quay"] for r in by_unit] == [f"{OTHER}-Q1"]
    # The province means the province and every unit below it.
    everything = read_csv(client.get("/quan-tri/du-lieu/phieu-tra-loi.csv", query_string={"unit": unit_id(app, "01")}))
    assert len(everything) == 3
    assert client.get("/quan-tri/du-lieu/phieu-tra-loi.csv", query_string={"period": "2026-X"}).status_code == 400
    assert client.get("/quan-tri/du-lieu/phieu-tra-loi.csv", query_string={"survey": "KHONGCO"}).status_code == 404


def test_counts_per_unit_and_period(app, client, responses):
    add_response(app, f"{OWN}-Q3")
    login(client, "analyst")
    rows = read_csv(client.get("/quan-tri/du-lieu/so-phieu.csv"))
    got = {(r["ma_don_vi"], r["ky"]): int(r["so_phieu"]) for r in rows}
    assert got == {(OWN, "2026-H1"): 2, (OWN, "2025-H2"): 1, (OTHER, "2026-H1"): 1}


def test_xlsx_exports_parse_back(app, client, responses):
    login(client, "official")
    response = client.get("/quan-tri/du-lieu/phieu-tra-loi.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = read_xlsx(response)
    assert sorted(r["ma_quay"] for r in rows) == [f"{OWN}-Q1", f"{OWN}-Q2"]
    own = next(r for r in rows if r["ma_quay"] == f"{OWN}-Q1")
    assert own["A1.1"] == 5 and own["A1.3"] == "KAD" and own["ten_don_vi"] == "Phường Đồng Tiến"
    assert own["gio_gui"] == datetime(2026, 3, 2, 8, 0)
    # Kept verbatim, but typed as text: opening the file never evaluates a citizen's "formula".
    assert own["COMMENT"] == "=HYPERLINK(\"http://x\")"
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    comment_column = [c.value for c in sheet[1]].index("COMMENT")
    types = {row[comment_column].data_type for row in sheet.iter_rows(min_row=2) if row[comment_column].value}
    assert types and types <= {"s", "inlineStr"}  # "f" would be a formula
    counts = read_xlsx(client.get("/quan-tri/du-lieu/so-phieu.xlsx"))
    assert {(r["ma_don_vi"], r["ky"], r["so_phieu"]) for r in counts} == {(OWN, "2026-H1", 1), (OWN, "2025-H2", 1)}


def test_large_export_streams_every_row(app, client):
    with app.app_context():
        counter = db.session.scalar(select(Counter).where(Counter.code == f"{OWN}-Q1"))
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        version = survey.current_version
        a11 = next(q.id for q in version.questions if q.code == "A1.1")
        now = datetime(2026, 2, 1, tzinfo=timezone.utc)
        # More than two chunks of the keyset pagination.
        for n in range(2300):
            r = Response(survey_id=survey.id, survey_version_id=version.id, counter_id=counter.id,
                         unit_id=counter.unit_id, period="2026-H1", channel="qr", submitted_at=now,
                         idempotency_key=f"k{n:060d}")
            r.answers.append(Answer(question_id=a11, value_int=1 + n % 5))
            db.session.add(r)
        db.session.commit()
    login(client, "official")
    response = client.get("/quan-tri/du-lieu/phieu-tra-loi.csv")
    chunks = list(response.response)
    assert len(chunks) > 2
    rows = list(csv.DictReader(io.StringIO(b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
                                           .decode("utf-8-sig"))))
    assert len(rows) == 2300 and [r["stt"] for r in rows] == [str(n) for n in range(1, 2301)]
    assert sum(int(r["A1.1"]) for r in rows) == sum(1 + n % 5 for n in range(2300))


def test_exports_are_audited(app, client, responses):
    login(client, "official")
    client.get("/quan-tri/du-lieu/phieu-tra-loi.csv", query_string={"period": "2026-H1"})
    client.get("/quan-tri/du-lieu/so-phieu.xlsx")
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).all()
        assert [(r.target, r.details["format"], r.details["period"]) for r in rows] == [
            ("responses", "csv", "2026-H1"), ("response_counts", "xlsx", None)]
        assert all(r.user_id is not None for r in rows)


@pytest.mark.parametrize("who", ["admin", "analyst", "official"])
def test_data_page_is_open_to_every_role(client, who):
    login(client, who)
    html = client.get("/quan-tri/du-lieu").get_data(as_text=True)
    assert "Tải dữ liệu" in html
    assert ("Khối lượng hồ sơ" in html) == (who != "official")


def test_data_page_lists_only_visible_units(app, client):
    login(client, "official")
    html = client.get("/quan-tri/du-lieu").get_data(as_text=True)
    assert "Phường Đồng Tiến" in html and "Xã Mường Khến" not in html


def test_exports_need_a_login(client):
    response = client.get("/quan-tri/du-lieu/phieu-tra-loi.csv")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_xlsx_export_survives_control_characters_in_stored_text(app, client):
    # Stored before citizen text was cleaned, or typed by an official: a worksheet cannot hold
    # them (openpyxl refuses the cell), and the download must not fail because of one comment.
    add_response(app, f"{OWN}-Q1", values={"A1.1": 5, "COMMENT": "Tốt\x01 lắm\x0b, cảm ơn\tquầy"})
    login(client, "official")
    response = client.get("/quan-tri/du-lieu/phieu-tra-loi.xlsx")
    assert response.status_code == 200
    [row] = read_xlsx(response)
    assert row["COMMENT"] == "Tốt lắm, cảm ơn\tquầy"
    [csv_row] = read_csv(client.get("/quan-tri/du-lieu/phieu-tra-loi.csv"))
    assert csv_row["COMMENT"] == "Tốt\x01 lắm\x0b, cảm ơn\tquầy"  # CSV holds any text as it was stored

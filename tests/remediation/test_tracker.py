"""The criteria tracker: import checked row by row (nothing half-imported), tasks from rows, XLSX."""
from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from survey.config import ROOT
from survey.extensions import db
from survey.models.loop import RemediationTask, TrackerCriterion, TrackerImport
from survey.tracker.table import COLUMNS
from tests.conftest import login
from tests.remediation.conftest import csrf_from

PAGE = "/quan-ly/theo-doi-tieu-chi/"
SAMPLE = ROOT / "docs" / "samples" / "par_index_2025.csv"


def _import(client, data: bytes, name: str, kind: str = "PAR", year: str = "2025"):
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    return client.post(PAGE + "nhap", data={"csrf_token": token, "index_kind": kind, "year": year,
                                            "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(TrackerImport)),
                db.session.scalar(select(func.count()).select_from(TrackerCriterion)))


def test_malformed_rows_are_listed_by_row_and_nothing_is_imported(app, client):
    login(client, "analyst")
    bad = ("mã tiêu chí;nội dung;điểm tối đa;điểm đạt\n"
           "1;Chỉ đạo điều hành;14,5;13\n"
           ";Thiếu mã;2;1\n"
           "abc?;Mã lạ;2;1\n"
           "1;Trùng mã;2;1\n"
           "2;Điểm chữ;hai;1\n"
           "3;Điểm âm;2;-1\n"
           "4;Vượt tối đa;2;3\n").encode()
    response = _import(client, bad, "loi.csv")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Không nhập dòng nào" in page
    for expected in ("Dòng 3, cột mã tiêu chí: thiếu mã tiêu chí",
                     "Dòng 4, cột mã tiêu chí: &#34;abc?&#34; không phải mã tiêu chí",
                     "Dòng 5, cột mã tiêu chí: mã tiêu chí 1 trùng với dòng 2",
                     "Dòng 6, cột điểm tối đa: &#34;hai&#34; không phải là số",
                     "Dòng 7, cột điểm đạt: điểm không được âm",
                     "Dòng 8, cột điểm đạt: điểm đạt (3) lớn hơn điểm tối đa (2)"):
        assert expected in page, expected
    assert _counts(app) == (0, 0)
    # A missing column is named too.
    missing = _import(client, "mã tiêu chí,nội dung,điểm đạt\n1,x,1\n".encode(), "thieu.csv")
    assert missing.status_code == 422 and "thiếu cột điểm tối đa" in missing.get_data(as_text=True)
    assert _counts(app) == (0, 0)


def test_sample_import_tracker_tasks_summary_and_xlsx(app, client, responses):
    login(client, "analyst")
    assert _import(client, SAMPLE.read_bytes(), SAMPLE.name).status_code == 303
    page = client.get(PAGE).get_data(as_text=True)
    with app.app_context():
        criteria = {c.code: c for c in db.session.scalars(select(TrackerCriterion))}
        below = sorted(code for code, c in criteria.items() if c.achieved_score < c.max_score)
        full = sorted(code for code, c in criteria.items() if c.achieved_score == c.max_score)
        target = criteria["3.1"].id
    assert len(criteria) == 16 and "1.1" in full and "3.2" in full
    for code in below:
        assert f'id="c-{code}"' in page
    for code in full:
        assert f'id="c-{code}"' not in page
    # A task from a row: the lead unit carries it; a past deadline is refused here too.
    form = client.get(f"{PAGE}tieu-chi/{target}/nhiem-vu")
    token = csrf_from(form.get_data(as_text=True))
    data = {"csrf_token": token, "action": "Nhắc hạn tự động", "lead_unit_id": str(responses["00157"]),
            "cooperating": "Sở Khoa học và Công nghệ", "cause": "Hồ sơ trễ hạn",
            "deadline": (date.today() - timedelta(days=2)).isoformat()}
    past = client.post(f"{PAGE}tieu-chi/{target}/nhiem-vu", data=data)
    assert past.status_code == 400 and "ngày đã qua" in past.get_data(as_text=True)
    data["deadline"] = (date.today() - timedelta(days=2)).strftime("%d/%m/%Y")
    assert client.post(f"{PAGE}tieu-chi/{target}/nhiem-vu", data=data).status_code == 400
    data["deadline"] = (date.today() + timedelta(days=20)).strftime("%d/%m/%Y")
    created = client.post(f"{PAGE}tieu-chi/{target}/nhiem-vu", data=data)
    assert created.status_code == 303
    with app.app_context():
        task = db.session.scalar(select(RemediationTask))
        assert (task.criterion_kind, task.criterion_code, task.tracker_criterion_id) == ("tracker", "3.1", target)
        assert task.unit_id == task.lead_unit_id == responses["00157"]
        task.status = "done"
        db.session.commit()
        import_id = db.session.scalar(select(TrackerImport.id))
    # The lead unit's official follows it on the remediation pages.
    official = app.test_client()
    login(official, "official")
    assert official.get(created.headers["Location"]).status_code == 200
    page = client.get(PAGE).get_data(as_text=True)
    assert '<strong id="tasks-done">1</strong>' in page
    export = client.get(f"{PAGE}{import_id}/xlsx")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "STT")
    assert rows[header] == COLUMNS
    body = [r for r in rows[header + 1:] if isinstance(r[0], int)]
    assert sorted(r[1].split(". ", 1)[0] for r in body) == below
    assert [r[0] for r in body] == list(range(1, len(below) + 1))
    row = next(r for r in body if r[1].startswith("3.1."))
    assert row[2:5] == (4.0, 3.0, 1.0)
    assert row[6] == "Phường Đồng Tiến" and row[7] == "Sở Khoa học và Công nghệ" and row[11] == "Hoàn thành"
    texts = [r[1] for r in rows if r and r[1]]
    assert "TỔNG HỢP BÁO CÁO ỦY BAN NHÂN DÂN TỈNH" in texts
    assert ("Nhiệm vụ đã hoàn thành", 1) in [(r[1], r[2]) for r in rows]


def test_xlsx_import_and_reimport_keeps_tasks(app, client, responses):
    login(client, "analyst")
    book = Workbook()
    sheet = book.active
    for values in (("Mã tiêu chí", "Nội dung", "Điểm tối đa", "Điểm đạt"), ("1", "Công tác chỉ đạo", 10, 8),
                   ("1.1", "Kế hoạch", 2, 2)):
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    assert _import(client, out.getvalue(), "sipas.xlsx", kind="SIPAS", year="2025").status_code == 303
    assert _counts(app) == (1, 2)
    with app.app_context():
        criterion = db.session.scalar(select(TrackerCriterion).where(TrackerCriterion.code == "1"))
        db.session.add(RemediationTask(unit_id=responses["00157"], criterion_kind="tracker", criterion_code="1",
                                       tracker_criterion_id=criterion.id, action="x", lead_unit_id=responses["00157"],
                                       deadline=date.today(), status="not_started", created_at=criterion_time(),
                                       updated_at=criterion_time()))
        db.session.commit()
    # The same index and year again, without criterion 1: refused, because a task hangs on it.
    again = _import(client, "mã tiêu chí,nội dung,điểm tối đa,điểm đạt\n1.1,Kế hoạch,2,1\n".encode(), "b.csv",
                    kind="SIPAS", year="2025")
    assert again.status_code == 422 and "đã có nhiệm vụ khắc phục: 1" in again.get_data(as_text=True)
    # With it: updated in place, the task stays on its criterion.
    again = _import(client, "mã tiêu chí,nội dung,điểm tối đa,điểm đạt\n1,Công tác chỉ đạo,10,9\n".encode(),
                    "c.csv", kind="SIPAS", year="2025")
    assert again.status_code == 303
    with app.app_context():
        assert [(c.code, c.achieved_score) for c in db.session.scalars(select(TrackerCriterion))] == [("1", 9.0)]
        assert db.session.scalar(select(RemediationTask.tracker_criterion_id)) == criterion_id(app)


def criterion_time():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def criterion_id(app) -> int:
    return db.session.scalar(select(TrackerCriterion.id).where(TrackerCriterion.code == "1"))


def test_official_cannot_reach_the_tracker(app, client):
    login(client, "official")
    assert client.get(PAGE).status_code == 403

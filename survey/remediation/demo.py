"""Demo remediation plans and a criteria tracker, so a new user sees the loop on the first run.

Called by `flask seed-demo-responses` after the responses exist. Idempotent: the demo's tasks are
the ones with no author (created_by NULL); when any exists, nothing is added again.
Dates are relative to today, so there is always one task overdue, one due soon, one done in the
previous half-year (its effect measured in the current one, with evidence: a small PDF), and the
PAR INDEX 2025 tracker from docs/samples/par_index_2025.csv with tasks on some rows.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from survey.catalog.periods import VIETNAM, period_of, previous
from survey.config import ROOT
from survey.extensions import db
from survey.models import Unit
from survey.models.loop import RemediationTask, TrackerCriterion
from survey.remediation import service
from survey.remediation.queries import period_dates
from survey.remediation.queries import today as vietnam_today
from survey.tracker import importer

SAMPLE = ROOT / "docs" / "samples" / "par_index_2025.csv"


def demo_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a few ASCII lines (a stand-in for a scanned minute), built by hand."""
    text = "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
         b"/Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("ascii")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9), VIETNAM).astimezone(timezone.utc)


def _task(unit: Unit, lead: Unit, kind: str, code: str, action: str, deadline: date, created: date,
          baseline_period: str | None = None, status: str = "not_started", done_on: date | None = None,
          tracker_id: int | None = None, **extra) -> RemediationTask:
    task = service.create_task(service.TaskInput(
        unit_id=unit.id, criterion_kind=kind, criterion_code=code, action=action,
        lead_unit_id=lead.id, deadline=deadline, today=created, baseline_period=baseline_period,
        tracker_criterion_id=tracker_id, **extra), None)
    task.created_at = task.updated_at = _at(created)
    task.status = status
    if done_on is not None:
        task.completed_at = task.updated_at = _at(done_on)
    return task


def seed_remediation_demo() -> dict[str, int]:
    """Add the demo plans, notes, evidence and tracker once; returns what was added."""
    if db.session.scalar(select(RemediationTask.id).where(RemediationTask.created_by.is_(None)).limit(1)):
        return {"tasks": 0, "criteria": 0}
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    ward, commune, centre = units.get("00157"), units.get("00178"), units.get("01-TTPVHCC")
    if ward is None or commune is None or centre is None:
        return {"tasks": 0, "criteria": 0}
    today = vietnam_today()
    current = period_of(datetime.now(timezone.utc))
    before = previous(current)
    start_before = period_dates(before)[0]
    created = start_before + timedelta(days=45)
    evidence_dir = Path(current_app.config["EVIDENCE_DIR"])

    done = _task(ward, ward, "item", "A1.2", "Lắp thêm 20 ghế chờ và 2 quạt trần tại khu vực chờ của Bộ phận Một cửa.",
                 created + timedelta(days=60), created, before, "done", created + timedelta(days=50),
                 target=0.85, cause_kind="subjective", cause="Khu vực chờ chật, thiếu ghế vào giờ cao điểm.",
                 cooperating="Văn phòng HĐND và UBND phường", owner="Phó Chủ tịch UBND phường")
    service.add_note(done, f"Đã mua và lắp đặt ghế, quạt; nghiệm thu ngày {created + timedelta(days=48):%d/%m/%Y}.",
                     None)
    service.attach_evidence(done, demo_pdf(["BIEN BAN NGHIEM THU", "Lap dat 20 ghe cho va 2 quat tran",
                                            "Bo phan Mot cua - Phuong Dong Tien"]),
                            "bien-ban-nghiem-thu.pdf", evidence_dir, None)
    _task(ward, ward, "component", "A6", "Bố trí cán bộ hướng dẫn người dân nộp hồ sơ trực tuyến tại quầy.",
          today + timedelta(days=60), created, before, "in_progress", target=0.8, cause_kind="objective",
          cause="Người cao tuổi chưa quen dịch vụ công trực tuyến.", cooperating="Đoàn Thanh niên phường",
          owner="Công chức Văn phòng - Thống kê")
    _task(ward, ward, "item", "A1.3", "Sửa chữa, thay thế máy lấy số thứ tự.", today + timedelta(days=10),
          today - timedelta(days=20), current, cause_kind="subjective", cause="Máy lấy số hỏng thường xuyên.",
          owner="Công chức Văn phòng - Thống kê")
    late = _task(ward, ward, "overall", "overall",
                 "Rà soát, niêm yết lại toàn bộ thủ tục hành chính tại Bộ phận Một cửa.",
                 today - timedelta(days=15), created, before, "in_progress", cause_kind="subjective",
                 cause="Thông tin niêm yết chưa cập nhật.", owner="Công chức Tư pháp - Hộ tịch")
    service.add_note(late, "Đã rà soát 60% thủ tục; còn chờ danh mục mới của tỉnh.", None)
    _task(commune, commune, "item", "A2.4", "Theo dõi hồ sơ sắp đến hạn hằng ngày, nhắc cán bộ xử lý đúng hạn.",
          today + timedelta(days=90), today - timedelta(days=5), current, cause_kind="subjective",
          cause="Hồ sơ đất đai thường trễ hạn.", owner="Chủ tịch UBND xã")

    imp = importer.import_file("PAR", 2025, SAMPLE.read_bytes(), SAMPLE.name, None)
    criteria = {c.code: c for c in db.session.scalars(select(TrackerCriterion).where(
        TrackerCriterion.import_id == imp.id))}
    fixed = _task(ward, ward, "tracker", "1.2", "Ban hành kế hoạch bổ sung, giao hạn cụ thể cho từng nhiệm vụ chậm.",
                  created + timedelta(days=30), created, status="done", done_on=created + timedelta(days=25),
                  tracker_id=criteria["1.2"].id, cooperating="Sở Nội vụ")
    service.attach_evidence(fixed, demo_pdf(["KE HOACH BO SUNG", "Cai cach hanh chinh nam 2026"]),
                            "ke-hoach-bo-sung.pdf", evidence_dir, None)
    _task(centre, centre, "tracker", "3.1", "Giảm tỷ lệ hồ sơ trễ hạn: nhắc hạn tự động, công khai hồ sơ trễ.",
          today + timedelta(days=45), created, status="in_progress", tracker_id=criteria["3.1"].id,
          cooperating="Sở Khoa học và Công nghệ; UBND các xã, phường")
    _task(ward, ward, "tracker", "7.1", "Hướng dẫn người dân nộp hồ sơ trực tuyến toàn trình tại quầy.",
          today - timedelta(days=7), created, status="not_started", tracker_id=criteria["7.1"].id,
          cooperating="Viễn thông tỉnh")
    db.session.commit()
    return {"tasks": 8, "criteria": len(criteria)}

"""Evidence uploads through the page (nothing stored when refused), downloads, the task's effect
checked against a hand computation, the demo and the backup of evidence files."""
from __future__ import annotations

import io
import math
from datetime import date, datetime, timedelta, timezone

import pytest
from scipy import stats
from sqlalchemy import func, select

from survey.extensions import db
from survey.indices.aggregates import unit_summary
from survey.models.loop import EvidenceFile, RemediationTask
from survey.remediation import service
from survey.remediation.effect import task_effect
from tests.conftest import login
from tests.remediation import samples
from tests.remediation.conftest import csrf_from, stored_files


def _task(app, unit_id: int, kind: str = "item", code: str = "A1.2", period: str = "2026-H1") -> int:
    with app.app_context():
        task = service.create_task(service.TaskInput(
            unit_id=unit_id, criterion_kind=kind, criterion_code=code, action="Khắc phục",
            lead_unit_id=unit_id, deadline=date.today() + timedelta(days=30), today=date.today(),
            baseline_period=period), None)
        db.session.commit()
        return task.id


def _upload(client, task_id: int, data: bytes, name: str):
    token = csrf_from(client.get(f"/quan-ly/khac-phuc/{task_id}").get_data(as_text=True))
    return client.post(f"/quan-ly/khac-phuc/{task_id}/ho-so",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_download_and_disguises(app, client, responses, evidence_dir):
    task_id = _task(app, responses["00157"])
    login(client, "official")
    refused = [(samples.EXE, "bao-cao.pdf", "chương trình"), (samples.HTML, "bao-cao.pdf", "HTML"),
               (samples.SVG, "anh.png", "SVG"), (samples.zip_bomb(), "bang.docx", "bom zip"),
               (samples.macro_docx(), "van-ban.docx", "macro")]
    for data, name, words in refused:
        response = _upload(client, task_id, data, name)
        assert response.status_code == 422, name
        assert words in response.get_data(as_text=True)
    app.config["EVIDENCE_MAX_BYTES"] = 64 * 1024
    big = _upload(client, task_id, samples.pdf() + b"\x00" * (200 * 1024), "lon.pdf")
    assert big.status_code == 413 and "vượt quá giới hạn" in big.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0
    assert stored_files(evidence_dir) == []  # no file, not even a temporary one
    app.config["EVIDENCE_MAX_BYTES"] = 10 * 1024 * 1024
    for data, name in ((samples.pdf(), "biên bản.exe"), (samples.docx(), "kế hoạch.pdf"), (samples.xlsx(), "x.xlsx"),
                       (samples.PNG, "ảnh.png")):
        assert _upload(client, task_id, data, name).status_code == 303, name
    with app.app_context():
        rows = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
        assert (rows[0].content_type, rows[0].original_name) == ("application/pdf", "biên bản.pdf")
        assert rows[1].original_name == "kế hoạch.docx" and rows[1].content_type.endswith("document")
        assert sorted(stored_files(evidence_dir)) == sorted(r.stored_name for r in rows)
        first = rows[0].id, rows[0].sha256
    download = client.get(f"/quan-ly/khac-phuc/ho-so/{first[0]}")
    assert download.status_code == 200 and download.data == samples.pdf()
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    other = app.test_client()
    login(other, "other_official")
    assert other.get(f"/quan-ly/khac-phuc/ho-so/{first[0]}").status_code == 404


def test_effect_matches_a_hand_computed_difference(app, responses):
    ward = responses["00157"]
    task_id = _task(app, ward, "component", "A1", "2026-H1")
    with app.app_context():
        task = db.session.get(RemediationTask, task_id)
        # Done in the first half-year: the effect is read in the second.
        task.status, task.completed_at = "done", datetime(2026, 5, 20, tzinfo=timezone.utc)
        db.session.commit()
        effect = task_effect(task)
        before = next(est for code, _n, est in unit_summary(ward, "2026-H1").components if code == "A1")
        after = next(est for code, _n, est in unit_summary(ward, "2026-H2").components if code == "A1")
    assert (effect.before_period, effect.after_period) == ("2026-H1", "2026-H2")
    assert effect.before.estimate == before.estimate and effect.after.estimate == after.estimate
    se = math.sqrt(before.se ** 2 + after.se ** 2)
    df = before.df + after.df  # analysis.independent_difference: PSUs minus strata of both samples
    half = stats.t.ppf(0.975, df) * se
    change = after.estimate - before.estimate
    assert effect.change.estimate == pytest.approx(change, abs=1e-12)
    assert effect.change.se == pytest.approx(se, rel=1e-12)
    assert (effect.change.ci_low, effect.change.ci_high) == pytest.approx((change - half, change + half), rel=1e-9)
    assert effect.significant == (change - half > 0 or change + half < 0)
    assert effect.improved == (change - half > 0)


def test_effect_page_says_improved_only_when_the_interval_excludes_zero(app, client, responses):
    ward = responses["00157"]
    task_id = _task(app, ward, "overall", "overall", "2026-H1")
    with app.app_context():
        task = db.session.get(RemediationTask, task_id)
        task.status, task.completed_at = "done", datetime(2026, 5, 20, tzinfo=timezone.utc)
        db.session.commit()
        effect = task_effect(task)
    login(client, "official")
    page = client.get(f"/quan-ly/khac-phuc/{task_id}").get_data(as_text=True)
    verdict = "Đã cải thiện có ý nghĩa thống kê" if effect.improved else "Chưa đủ bằng chứng cải thiện" \
        if not effect.declined else "Giảm có ý nghĩa thống kê"
    assert verdict in page
    if not effect.improved:
        assert "Đã cải thiện có ý nghĩa thống kê" not in page


def test_demo_is_idempotent_and_backup_keeps_evidence(app, runner, responses, evidence_dir, db_url, tmp_path):
    from survey.remediation.demo import seed_remediation_demo

    with app.app_context():
        first = seed_remediation_demo()
        assert seed_remediation_demo() == {"tasks": 0, "criteria": 0}
        tasks = db.session.scalars(select(RemediationTask)).all()
        assert len(tasks) == first["tasks"] == 8
        today = date.today()
        statuses = {t.status for t in tasks}
        assert statuses == {"not_started", "in_progress", "done"}
        assert any(t.overdue_on(today) for t in tasks)
        assert any(t.criterion_kind == "tracker" for t in tasks)
        assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 2
    names = stored_files(evidence_dir)
    assert len(names) == 2
    dump = tmp_path / "backup.bin"
    result = runner.invoke(args=["backup", "-o", str(dump)])
    assert result.exit_code == 0, result.output
    import tarfile

    with tarfile.open(str(dump) + ".evidence.tar") as tar:
        assert sorted(tar.getnames()) == names
    # Restore the files into an empty folder (the database half is tests/test_backup.py's).
    from survey.backup import restore_evidence

    target = tmp_path / "restored"
    assert restore_evidence(dump.with_name(dump.name + ".evidence.tar"), target) == 2
    assert sorted(p.name for p in target.iterdir()) == names
    assert all((target / n).read_bytes() == (evidence_dir / n).read_bytes() for n in names)
    import click

    with pytest.raises(click.ClickException, match="đã có tệp"):
        restore_evidence(dump.with_name(dump.name + ".evidence.tar"), target)

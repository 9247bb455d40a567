"""Reports from the database: CLI (inline and on RQ workers), downloads scoped to own units, posters."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from analysis.report.format_vi import format_percent
from survey.extensions import db
from survey.indices import aggregates
from survey.models import Counter, Unit
from tests.conftest import login

PERIOD = "2026-H1"
ROOT = Path(__file__).resolve().parent.parent


def pdf_text(data: bytes | Path) -> tuple[str, int]:
    import io

    reader = PdfReader(io.BytesIO(data) if isinstance(data, bytes) else data)
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


@pytest.fixture
def responses(app, demo_responses):
    demo_responses(60, ("2025-H2", PERIOD))
    with app.app_context():
        ward = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        summary = aggregates.unit_summary(ward.id, PERIOD)
        return {"ward_id": ward.id, "overall": summary.overall.estimate}


def test_unit_report_cli_prints_the_engine_numbers(app, runner, responses, tmp_path):
    out = tmp_path / "ward.pdf"
    result = runner.invoke(args=["report", "unit", "--unit", "00157", "--period", PERIOD, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text, pages = pdf_text(out)
    assert "Phường Đồng Tiến" in text
    assert format_percent(responses["overall"]) in text  # e.g. "78,4%": the same number as the dashboard
    assert 3 <= pages <= 8


def test_report_cli_errors_are_clear(runner, tmp_path):
    out = str(tmp_path / "x.pdf")
    bad_unit = runner.invoke(args=["report", "unit", "--unit", "NOPE", "--period", PERIOD, "-o", out])
    assert bad_unit.exit_code != 0 and "Không có đơn vị mã NOPE" in bad_unit.output
    bad_period = runner.invoke(args=["report", "unit", "--unit", "00157", "--period", "2026-H3", "-o", out])
    assert bad_period.exit_code != 0 and 'Kỳ "2026-H3" không hợp lệ' in bad_period.output


def test_report_for_an_empty_period_does_not_crash(runner, tmp_path):
    out = tmp_path / "empty.pdf"
    result = runner.invoke(args=["report", "unit", "--unit", "00178", "--period", "2024-H1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text, _ = pdf_text(out)
    assert "Xã Mường Khến" in text


def test_province_batch_inline(app, runner, responses, tmp_path):
    result = runner.invoke(args=["report", "province", "--period", PERIOD, "-o", str(tmp_path), "--inline"])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.glob("*.pdf"))
    assert f"bao-cao-tinh-{PERIOD}.pdf" in files
    assert len(files) == 1 + 7  # every unit with responses, plus the province report
    text, _ = pdf_text(tmp_path / f"bao-cao-tinh-{PERIOD}.pdf")
    assert "Tỉnh Hòa Bình Xanh" in text and "Xã Lạc Sơn" in text


def test_province_batch_on_rq_workers(app, runner, responses, tmp_path, db_url):
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    # A queue of this run's own: test runs sharing the machine's Redis neither take each
    # other's jobs nor flush each other's bookkeeping.
    queue = f"reports-test-{uuid.uuid4().hex[:12]}"
    worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", queue, "--url", redis_url,
                               "--worker-class", "rq.worker.SimpleWorker"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app.config["REDIS_URL"] = redis_url
        app.config["REPORT_QUEUE"] = queue
        result = runner.invoke(args=["report", "province", "--period", PERIOD, "-o", str(tmp_path),
                                     "--timeout", "240"])
    finally:
        # A warm shutdown waits for rq's own bookkeeping, which a loaded machine can stretch past
        # any fixed bound; the reports are already written (asserted below), so stop it hard then.
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert result.exit_code == 0, result.output
    assert f"hàng đợi '{queue}'" in result.output
    assert len(list(tmp_path.glob("bao-cao-0*.pdf"))) == 7


def test_downloads_are_scoped_to_own_units(app, client, responses):
    with app.app_context():
        other = db.session.scalar(select(Unit).where(Unit.code == "00178")).id
    login(client, "official")
    own = client.get(f"/quan-ly/bao-cao/don-vi/{responses['ward_id']}.pdf?period={PERIOD}")
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    assert "Phường Đồng Tiến" in pdf_text(own.data)[0]
    assert client.get(f"/quan-ly/bao-cao/don-vi/{other}.pdf?period={PERIOD}").status_code == 404
    assert client.get(f"/quan-ly/bao-cao/ap-phich/{other}.pdf").status_code == 404
    assert client.get(f"/quan-ly/bao-cao/tinh.pdf?period={PERIOD}").status_code == 403
    assert client.get(f"/quan-ly/bao-cao/don-vi/{responses['ward_id']}.pdf?period=abc").status_code == 400


def test_analyst_downloads_the_province_report(client, responses):
    login(client, "analyst")
    response = client.get(f"/quan-ly/bao-cao/tinh.pdf?period={PERIOD}")
    assert response.status_code == 200
    assert "Xã Yên Thủy" in pdf_text(response.data)[0]


def test_qr_posters_one_page_per_active_counter(app, runner, client, tmp_path):
    out = tmp_path / "posters.pdf"
    result = runner.invoke(args=["qr-posters", "--unit", "00217", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text, pages = pdf_text(out)
    assert pages == 4  # Xã Lạc Sơn has four counters
    assert "Quầy 3 – Đất đai, xây dựng" in text and "/q/00217-Q3" in text.replace("\n", "")
    # The typed short link leads to the same form as the QR code.
    form = client.get("/q/00217-q3", follow_redirects=True)
    assert form.status_code == 200 and "Quầy 3 – Đất đai, xây dựng" in form.get_data(as_text=True)
    with app.app_context():
        db.session.scalar(select(Counter).where(Counter.code == "00217-Q3")).active = False
        db.session.commit()
    assert client.get("/q/00217-Q3").status_code == 410
    assert client.get("/q/KHONG-CO").status_code == 404


def test_thematic_report_pools_target_units(app, client, runner, tmp_path):
    """Five answers to B1.1 over two target units, unweighted (no volumes): 3 of 5 rate it 4–5."""
    from survey.models import Survey
    from tests.test_campaign_public import send
    from tests.test_campaigns import HEALTH_WARD, KHEN, create_campaign, post_action, unit_link

    login(client, "analyst")
    survey_id = create_campaign(client, app)
    assert post_action(client, survey_id, "phat-hanh").status_code == 303
    for i, (unit, b11) in enumerate([(HEALTH_WARD, "5"), (HEALTH_WARD, "4"), (HEALTH_WARD, "2"),
                                     (KHEN, "1"), (KHEN, "5")]):
        assert send(client, unit_link(app, survey_id, unit), {"q_B1_1": b11}, addr=f"10.9.1.{i}").status_code == 303
    response = client.get(f"/quan-ly/bao-cao/chuyen-de/{survey_id}.pdf")
    assert response.status_code == 200
    text, pages = pdf_text(response.data)
    flat = " ".join(text.split())
    import re

    # B1.1: rate (1 + 1 + 0 + 0 + 1) / 5 and mean (5 + 4 + 2 + 1 + 5) / 5, computed by hand.
    assert re.search(r"B1\.1 Thông tin về chính sách y tế[^%]*? 60,0% [0-9,–%]+ 3,40 5 ", flat), flat[-2000:]
    assert "Phường Đồng Tiến" in flat and "Xã Mường Khến" in flat
    with app.app_context():
        code = db.session.get(Survey, survey_id).code
    out = tmp_path / "thematic.pdf"
    result = runner.invoke(args=["report", "thematic", "--survey", code, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "60,0%" in " ".join(pdf_text(out)[0].split())
    login(client, "official")
    assert client.get(f"/quan-ly/bao-cao/chuyen-de/{survey_id}.pdf").status_code == 403


def test_dashboards_offer_the_downloads(app, client, responses):
    login(client, "official")
    page = client.get(f"/quan-ly/bang-dieu-khien/?unit={responses['ward_id']}&period={PERIOD}").get_data(as_text=True)
    pdf = f"/quan-ly/bao-cao/don-vi/{responses['ward_id']}.pdf?period={PERIOD}"
    assert f'href="{pdf}"' in page and "Tải báo cáo PDF" in page
    assert client.get(pdf).mimetype == "application/pdf"
    assert f"/quan-ly/bao-cao/ap-phich/{responses['ward_id']}.pdf" in page
    login(client, "analyst")
    page = client.get(f"/quan-ly/bang-dieu-khien/so-sanh?period={PERIOD}").get_data(as_text=True)
    assert f"/quan-ly/bao-cao/tinh.pdf?period={PERIOD}" in page


def test_province_overall_is_the_pooled_index(app, responses):
    """The province figure pools every unit's strata; a hand check: with equal weights inside a
    unit and disjoint strata, it lies between the lowest and highest unit estimate."""
    from survey.indices import report_data

    with app.app_context():
        data = report_data.province_report_data(PERIOD, appendix=False)
        units = [u.estimate.estimate for u in data.units if u.estimate is not None]
        assert data.overall is not None and data.overall.n == data.response_count
        assert min(units) <= data.overall.estimate <= max(units)
        assert data.overall.ci_low < data.overall.estimate < data.overall.ci_high

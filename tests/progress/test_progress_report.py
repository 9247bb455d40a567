"""The 6-month progress report: four sections in the PDF (text extraction) and the DOCX (its
XML), the same figures in both, the unit's tasks with their evidence, cases and typed text."""
from __future__ import annotations

import io
import re
import zipfile
from collections import Counter

import numpy as np
import pytest
from pypdf import PdfReader
from scipy import stats
from sqlalchemy import select

from analysis.report.format_vi import format_percent
from survey.extensions import db
from survey.indices import aggregates
from survey.models import Unit
from survey.progress import document
from survey.progress.data import province_progress, unit_progress
from tests.progress.conftest import DIFFICULTIES, OTHER, OWN, PERIOD, PROPOSALS, TODAY

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NUMBER = re.compile(r"[+-]?\d+(?:\.\d{3})*,\d+%?")


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def docx_paragraphs(content: bytes) -> list[tuple[str, str]]:
    """(style, text) of every paragraph of word/document.xml, table cells included."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(zipfile.ZipFile(io.BytesIO(content)).read("word/document.xml"))
    out = []
    for p in root.iter(f"{W}p"):
        style = p.find(f"{W}pPr/{W}pStyle")
        out.append((style.get(f"{W}val") if style is not None else "",
                    "".join(t.text or "" for t in p.iter(f"{W}t"))))
    return out


def in_pdf(needle: str, pdf: str) -> bool:
    """Whether the PDF's text holds `needle`, wherever lines were wrapped."""
    return re.sub(r"\s+", "", needle) in re.sub(r"\s+", "", pdf)


def numbers(text: str) -> Counter:
    return Counter(NUMBER.findall(text.replace("\u00a0", " ")))


def run_report(runner, tmp_path, *args: str, suffix: str) -> bytes:
    out = tmp_path / f"report.{suffix}"
    result = runner.invoke(args=["report", "progress", *args, "--period", PERIOD, "-o", str(out)])
    assert result.exit_code == 0, "".join(__import__("traceback").format_exception(result.exception))
    return out.read_bytes()


def test_unit_report_pdf_and_docx(app, runner, world, tmp_path):
    pdf = pdf_text(run_report(runner, tmp_path, "--unit", OWN, suffix="pdf"))
    docx = run_report(runner, tmp_path, "--unit", OWN, suffix="docx")
    paragraphs = docx_paragraphs(docx)
    headings = [text for style, text in paragraphs if style == "Heading1"]
    assert headings == list(document.SECTION_TITLES)
    positions = [pdf.find(title) for title in document.SECTION_TITLES]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), positions
    docx_text = "\n".join(text for _style, text in paragraphs)
    for text in ("bien-ban-kiem-tra.pdf", "ảnh khu vực chờ.jpg", "Sửa máy lấy số thứ tự",
                 "Bố trí thêm ghế chờ và biển chỉ dẫn", document.NOT_IMPROVED, PROPOSALS,
                 DIFFICULTIES.splitlines()[0], "Phường Đồng Tiến"):
        assert text in docx_text, text
        assert in_pdf(text, pdf), text
    # The national heading block and the closing of an administrative report, in both files.
    for text in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                 "ỦY BAN NHÂN DÂN PHƯỜNG ĐỒNG TIẾN", "Số: .../BC-UBND", "Nơi nhận:", "(Ký, ghi rõ họ tên)"):
        assert text in docx_text and in_pdf(text, pdf), text
    # Another unit's task is not in this unit's report.
    assert "Công khai phí, lệ phí tại quầy" not in docx_text and not in_pdf("Công khai phí", pdf)
    # Every figure (percentages, points, decimal numbers) is the same in both files.
    assert numbers(docx_text) == numbers(pdf), (numbers(docx_text) - numbers(pdf), numbers(pdf) - numbers(docx_text))
    with app.app_context():
        summary = aggregates.unit_summary(world["own"], PERIOD)
    assert f"Chỉ số hài lòng chung đạt {format_percent(summary.overall.estimate)}" in docx_text


def test_change_interval_is_current_minus_previous_with_t_on_summed_df(app, world):
    """The report's change is the t interval of (this period - the one before), Var = sum of
    the variances, df = df_a + df_b: computed here by hand from the two estimates."""
    with app.app_context():
        unit = db.session.get(Unit, world["own"])
        data = unit_progress(unit, PERIOD, today=TODAY)
        now = aggregates.unit_summary(unit.id, PERIOD).overall
        before = aggregates.unit_summary(unit.id, "2026-H1").overall
    overall = data.figures[0]
    se = np.sqrt(now.se ** 2 + before.se ** 2)
    t = stats.t.ppf(0.975, now.df + before.df)
    diff = now.estimate - before.estimate
    assert overall.change.estimate == pytest.approx(diff, abs=1e-12)
    assert overall.change.ci_low == pytest.approx(diff - t * se, abs=1e-9)
    assert overall.change.ci_high == pytest.approx(diff + t * se, abs=1e-9)
    assert [f.code for f in data.figures] == ["overall", "A1", "A2", "A3", "A4", "A5", "A6"]


def test_tasks_cases_and_not_improved(app, world):
    with app.app_context():
        data = unit_progress(db.session.get(Unit, world["own"]), PERIOD, today=TODAY)
    by_action = {t.action: t for t in data.tasks}
    assert set(by_action) == {"Bố trí thêm ghế chờ và biển chỉ dẫn", "Tập huấn kỹ năng giao tiếp cho công chức",
                              "Sửa máy lấy số thứ tự"}
    late = by_action["Sửa máy lấy số thứ tự"]
    assert late.overdue and not by_action["Tập huấn kỹ năng giao tiếp cho công chức"].overdue
    assert by_action["Bố trí thêm ghế chờ và biển chỉ dẫn"].evidence == ("bien-ban-kiem-tra.pdf", "ảnh khu vực chờ.jpg")
    assert data.cases.cases == 2 and data.cases.answered == 1
    doc = document.build(data)
    tasks = next(s for s in doc.sections if s.title == document.TASK_RESULTS)
    bullets = [b for b in tasks.blocks if isinstance(b, document.Bullets)]
    listed = " ".join(bullets[0].items) if bullets else ""
    for f in data.figures:
        if f.current is not None and f.previous is not None and not f.improved:
            assert document.figure_name(f) in listed
        if f.improved:
            assert f"{document.figure_name(f)}:" not in listed
    for t in data.tasks:
        if t.effect is not None and t.effect.change is not None and not t.improved:
            assert t.action in listed
    summary = next(b for b in tasks.blocks if isinstance(b, document.Paragraph))
    assert "1 đã hoàn thành, 1 đang thực hiện hoặc chưa bắt đầu, 1 quá hạn" in summary.text


def test_province_report(app, runner, world, tmp_path):
    docx = run_report(runner, tmp_path, "--province", suffix="docx")
    paragraphs = docx_paragraphs(docx)
    assert [t for s, t in paragraphs if s == "Heading1"] == list(document.SECTION_TITLES)
    text = "\n".join(t for _s, t in paragraphs)
    for needle in ("Phường Đồng Tiến", "Xã Mường Khến", "Công khai phí, lệ phí tại quầy", "Sửa máy lấy số thứ tự"):
        assert needle in text, needle
    pdf = pdf_text(run_report(runner, tmp_path, "--province", suffix="pdf"))
    assert all(title in pdf for title in document.SECTION_TITLES)
    assert numbers(text) == numbers(pdf)
    with app.app_context():
        data = province_progress(PERIOD, today=TODAY)
    assert {u.unit_code for u in data.units} >= {OWN, OTHER}
    assert data.cases.cases == 3


def test_cli_refuses_bad_arguments(runner, tmp_path):
    for args, message in ((["--unit", "00157", "--province"], "--unit"), ([], "--unit"),
                          (["--unit", "00157", "-o", str(tmp_path / "x.txt")], ".pdf"),
                          (["--unit", "khong-co"], "Không có đơn vị")):
        if "-o" not in args:
            args = [*args, "-o", str(tmp_path / "x.pdf")]
        result = runner.invoke(args=["report", "progress", "--period", PERIOD, *args])
        assert result.exit_code != 0 and message in result.output, result.output
    result = runner.invoke(args=["report", "progress", "--unit", "00157", "--period", "2026-H3",
                                 "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "không hợp lệ" in result.output


def test_report_from_the_demo_data(app, runner, tmp_path):
    """`flask seed-demo-responses` (responses, remediation plans, feedback cases), then the
    current period's report of the demo ward: the task done last period with its evidence and
    measured effect, the overdue task, the cases."""
    seeded = runner.invoke(args=["seed-demo-responses", "--per-unit", "40"])
    assert seeded.exit_code == 0, seeded.output
    from datetime import datetime, timezone

    from survey.catalog.periods import period_of

    period = period_of(datetime.now(timezone.utc))
    out = {}
    for suffix in ("pdf", "docx"):
        path = tmp_path / f"demo.{suffix}"
        result = runner.invoke(args=["report", "progress", "--unit", OWN, "--period", period, "-o", str(path)])
        assert result.exit_code == 0, result.output
        out[suffix] = path.read_bytes()
    pdf = pdf_text(out["pdf"])
    paragraphs = docx_paragraphs(out["docx"])
    text = "\n".join(t for _s, t in paragraphs)
    assert [t for s, t in paragraphs if s == "Heading1"] == list(document.SECTION_TITLES)
    assert all(title in pdf for title in document.SECTION_TITLES)
    for needle in ("bien-ban-nghiem-thu.pdf", "Lắp thêm 20 ghế chờ",
                   "Rà soát, niêm yết lại toàn bộ thủ tục hành chính", "Hướng dẫn người dân nộp hồ sơ trực tuyến"):
        assert needle in text, needle
        assert in_pdf(needle, pdf), needle
    assert re.search(r"Trong kỳ tiếp nhận [1-9]\d* phản ánh", text)
    assert numbers(text) == numbers(pdf)
    with app.app_context():
        data = unit_progress(db.session.scalar(select(Unit).where(Unit.code == OWN)), period)
    done = next(t for t in data.tasks if t.action.startswith("Lắp thêm 20 ghế chờ"))
    assert done.effect is not None and done.effect.after_period == period
    assert document.effect_text(done) in text
    assert any(t.overdue for t in data.tasks)

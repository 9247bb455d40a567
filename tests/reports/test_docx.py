"""Word documents: they open (zip + XML), carry the PDF's headline figures and the national
heading block (Nghị định 30/2020/NĐ-CP), and the letterhead comes from the unit's settings."""
from __future__ import annotations

import io
import re
import subprocess
import zipfile
from dataclasses import dataclass, replace
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from analysis.report import demo, render_thematic_docx, render_thematic_report
from analysis.report.format_vi import format_interval, format_percent
from analysis.report.letterhead import MOTTO, NATION
from survey.extensions import db
from survey.indices import aggregates
from survey.letterhead import letterhead_for
from survey.models import Unit
from tests.conftest import csrf_of, login

PERIOD = "2026-H1"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(data: bytes) -> str:
    """Text of word/document.xml, one line a paragraph (table cells included), spaces collapsed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert "word/document.xml" in names
        root = ElementTree.fromstring(archive.read("word/document.xml"))
        pictures = [n for n in names if n.startswith("word/media/")]
    lines = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in root.iter(f"{W}p")]
    return " ".join(" ".join(lines).split()) + f"\n[{len(pictures)} pictures]"


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
    return " ".join(out.decode("utf-8").split())


def headline_figures(overall, components) -> list[str]:
    figures = [format_percent(overall.estimate), format_interval(overall.ci_low, overall.ci_high)]
    return figures + [format_percent(c.estimate) for _code, _name, c in components if c is not None]


@pytest.fixture
def responses(app, demo_responses):
    demo_responses(60, ("2025-H2", PERIOD))
    with app.app_context():
        ward = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        summary = aggregates.unit_summary(ward.id, PERIOD)
        return {"ward_id": ward.id, "summary": summary, "heading": letterhead_for(ward).heading_text()}


def test_unit_docx_has_the_pdf_figures_and_heading_block(client, responses):
    login(client, "official")  # the ward's own official
    pdf = client.get(f"/quan-ly/bao-cao/don-vi/{responses['ward_id']}.pdf?period={PERIOD}")
    docx = client.get(f"/quan-ly/bao-cao/don-vi/{responses['ward_id']}.docx?period={PERIOD}")
    assert pdf.status_code == docx.status_code == 200
    assert docx.mimetype.endswith("wordprocessingml.document")
    assert docx.headers["Content-Disposition"].endswith(f'bao-cao-00157-{PERIOD}.docx"')
    pdf_words, word = pdf_text(pdf.data), docx_text(docx.data)
    summary = responses["summary"]
    for figure in headline_figures(summary.overall, summary.components):
        assert figure in pdf_words and figure in word, figure
    count = f"Số phiếu trả lời: {summary.responses}, trong đó"
    assert count in word and count.replace(":", "") in pdf_words
    # The heading block, with the derived letterhead of a ward: no parent body, UBND symbol.
    heading = responses["heading"]
    assert heading == ("ỦY BAN NHÂN DÂN PHƯỜNG ĐỒNG TIẾN", "Số: .../BC-UBND", NATION, MOTTO,
                       "Đồng Tiến, ngày ... tháng ... năm ...")
    for line in heading + ("Nơi nhận:", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "(Ký, ghi rõ họ tên)"):
        assert line in pdf_words and line in word, line
    assert word.index(NATION) < word.index("Chỉ số hài lòng chung") < word.index("Nơi nhận:")
    # Charts as pictures: six components, trend, one per component.
    assert int(re.search(r"\[(\d+) pictures\]", word).group(1)) >= 3


def test_province_docx_on_the_cli(app, runner, responses, tmp_path):
    result = runner.invoke(args=["report", "province", "--period", PERIOD, "-o", str(tmp_path), "--inline",
                                 "--format", "docx"])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.glob("*.docx"))
    assert f"bao-cao-tinh-{PERIOD}.docx" in files and len(files) == 1 + 7 and not list(tmp_path.glob("*.pdf"))
    word = docx_text((tmp_path / f"bao-cao-tinh-{PERIOD}.docx").read_bytes())
    # The province report is Sở Nội vụ's, under the provincial People's Committee.
    for line in ("ỦY BAN NHÂN DÂN TỈNH HÒA BÌNH XANH", "SỞ NỘI VỤ", "Số: .../BC-SNV", NATION, MOTTO,
                 "Hòa Bình Xanh, ngày", "Xếp hạng các đơn vị", "Phường Đồng Tiến", "Nơi nhận:", "GIÁM ĐỐC"):
        assert line in word, line
    unit_word = docx_text((tmp_path / f"bao-cao-00157-{PERIOD}.docx").read_bytes())
    assert format_percent(responses["summary"].overall.estimate) in unit_word


def test_province_docx_download_is_for_staff_and_matches_the_pdf(client, responses):
    login(client, "official")
    assert client.get(f"/quan-ly/bao-cao/tinh.docx?period={PERIOD}").status_code == 403
    login(client, "analyst")
    response = client.get(f"/quan-ly/bao-cao/tinh.docx?period={PERIOD}")
    assert response.status_code == 200
    word = docx_text(response.data)
    pdf = pdf_text(client.get(f"/quan-ly/bao-cao/tinh.pdf?period={PERIOD}").data)
    # Headline figures: the province index, its interval, and the first-ranked unit's row.
    overall = re.search(r"(\d+,\d%) người trả lời hài lòng với dịch vụ hành chính công trong", pdf).group(1)
    interval = re.search(r"Khoảng tin cậy 95%: (\S+–\S+%)", pdf).group(1)
    for text in (overall, interval, "Xếp hạng các đơn vị", "Phụ lục: Kết quả từng đơn vị", "SỞ NỘI VỤ",
                 "Số: .../BC-SNV", NATION, MOTTO, "Nơi nhận:", "GIÁM ĐỐC", "(Ký, ghi rõ họ tên)"):
        assert text in word and text in pdf, text


def test_letterhead_falls_back_on_the_unit_and_its_parent(app):
    with app.app_context():
        units = {u.code: u for u in db.session.scalars(select(Unit))}
        centre = letterhead_for(units["01-TTPVHCC"])
        commune = letterhead_for(units["00178"])
    # A service centre under the province: the provincial People's Committee is its parent body.
    assert (centre.parent_line, centre.issuer_line, centre.number_line) == (
        "ỦY BAN NHÂN DÂN TỈNH HÒA BÌNH XANH", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH", "Số: .../BC-TTPVHCC")
    assert centre.date_line.startswith("Hòa Bình Xanh, ngày") and centre.signer_lines == ("GIÁM ĐỐC",)
    # A commune's People's Committee issues in its own name (no parent line).
    assert commune.heading_text()[:2] == ("ỦY BAN NHÂN DÂN XÃ MƯỜNG KHẾN", "Số: .../BC-UBND")
    assert commune.date_line == "Mường Khến, ngày ... tháng ... năm ..."


def test_admin_edits_the_letterhead_and_the_report_prints_it(app, client, responses):
    login(client, "admin")
    ward = responses["ward_id"]
    token = csrf_of(client, f"/quan-tri/don-vi/{ward}")
    page = client.get(f"/quan-tri/don-vi/{ward}").get_data(as_text=True)
    assert "ỦY BAN NHÂN DÂN PHƯỜNG ĐỒNG TIẾN" in page  # what prints now, before any setting
    with app.app_context():
        parent = db.session.get(Unit, ward).parent_id
    saved = client.post(f"/quan-tri/don-vi/{ward}", data={
        "csrf_token": token, "code": "00157", "name": "Phường Đồng Tiến", "name_en": "", "kind": "ward",
        "parent_id": str(parent), "letterhead_parent": "Ủy ban nhân dân tỉnh Hòa Bình Xanh",
        "letterhead_issuer": "Ủy ban nhân dân phường Đồng Tiến", "letterhead_symbol": "UBND-VP",
        "letterhead_place": "Hòa Bình", "letterhead_signer": "KT. Chủ tịch\nPhó Chủ tịch",
        "letterhead_recipients": "- Sở Nội vụ tỉnh;\n- Thường trực Đảng ủy phường;\n- Lưu: VT."})
    assert saved.status_code == 302
    with app.app_context():
        unit = db.session.get(Unit, ward)
        assert unit.letterhead_symbol == "UBND-VP" and unit.letterhead_signer == "KT. Chủ tịch\nPhó Chủ tịch"
    docx = docx_text(client.get(f"/quan-ly/bao-cao/don-vi/{ward}.docx?period={PERIOD}").data)
    pdf = pdf_text(client.get(f"/quan-ly/bao-cao/don-vi/{ward}.pdf?period={PERIOD}").data)
    for line in ("ỦY BAN NHÂN DÂN TỈNH HÒA BÌNH XANH", "Số: .../BC-UBND-VP", "Hòa Bình, ngày ... tháng",
                 "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "- Thường trực Đảng ủy phường;"):
        assert line in docx and line in pdf, line
    # Emptying a field brings the derived value back.
    client.post(f"/quan-tri/don-vi/{ward}", data={
        "csrf_token": token, "code": "00157", "name": "Phường Đồng Tiến", "name_en": "", "kind": "ward",
        "parent_id": str(parent), "letterhead_symbol": "bad symbol!"})
    with app.app_context():
        assert db.session.get(Unit, ward).letterhead_symbol == "UBND-VP"  # refused: 422, nothing saved


def test_poster_has_letterhead_short_link_and_english(app, runner, tmp_path):
    out = tmp_path / "posters.pdf"
    assert runner.invoke(args=["qr-posters", "--unit", "00217", "-o", str(out)]).exit_code == 0
    text = pdf_text(out.read_bytes())
    assert "ỦY BAN NHÂN DÂN XÃ LẠC SƠN" in text
    assert "Scan the code to rate our service" in text and "Cannot scan? Type this address" in text
    # The short link printed under the QR code, whole and typeable, on every poster.
    assert text.count("/q/00217-Q") == 4 and "/q/00217-Q3/1" in text
    assert text.index("Không quét được mã?") < text.index("/q/00217-Q1/1") < text.index("Thang điểm")


def test_thematic_docx_matches_the_pdf():
    data = demo.demo_thematic()
    word, pdf = docx_text(render_thematic_docx(data)), pdf_text(render_thematic_report(data))
    figures = [format_percent(data.overall.estimate), format_interval(data.overall.ci_low, data.overall.ci_high)]
    figures += [format_percent(i.rate.estimate) for i in data.items if i.rate is not None]
    for figure in figures + [data.campaign_title, "Chi tiết từng câu hỏi"]:
        assert figure in word and figure in pdf, figure


def test_a_new_model_block_is_printed_not_dropped():
    """Another branch adds question blocks to the thematic model: the Word file prints them."""
    from analysis.report.blocks import Paragraph

    @dataclass(frozen=True)
    class YesNoBlock:
        code: str
        text: str
        share: object

        def as_blocks(self):
            return [Paragraph(f"{self.code}. {self.text}: {format_percent(self.share.estimate)}")]

    @dataclass(frozen=True)
    class Share:
        label: str
        share: object

    @dataclass(frozen=True)
    class RawBlock:  # no as_blocks(): printed field by field
        code: str
        text: str
        count: int
        options: tuple = ()

    @dataclass(frozen=True)
    class Extended(type(demo.demo_thematic())):  # type: ignore[misc]
        questions: tuple = ()

    base = demo.demo_thematic()
    data = Extended(**{f: getattr(base, f) for f in base.__dataclass_fields__
                       if f != "questions"},
                    questions=(YesNoBlock("C1", "Có biết chính sách", base.overall),
                               RawBlock("C9", "Kênh thông tin", 17, (Share("Loa phát thanh", base.overall),))))
    word = docx_text(render_thematic_docx(replace(data)))
    assert f"C1. Có biết chính sách: {format_percent(base.overall.estimate)}" in word
    assert "C9. Kênh thông tin" in word and "count: 17" in word
    assert f"Loa phát thanh {format_percent(base.overall.estimate)} (" in word  # with its interval

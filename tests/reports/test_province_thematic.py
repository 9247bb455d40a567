import re
from datetime import date

import pytest
from conftest import est, make_unit, pdf_fonts, pdf_text

from analysis.report import (
    ChangeRow,
    HeatRow,
    ProvinceReportData,
    RankedUnit,
    TargetProgress,
    ThematicReportData,
    render_province_report,
    render_thematic_report,
)
from analysis.report.model import ComponentRow, ItemRow, MethodsInfo
from analysis.report.province import province_context

COMPONENTS = (("A1", "Tiếp cận dịch vụ"), ("A3", "Công chức"))


def province(**overrides) -> ProvinceReportData:
    units = [
        RankedUnit("Ủy ban nhân dân phường Sơn Trà", est(0.92, 0.02), 400),
        RankedUnit("Ủy ban nhân dân phường Hòa Xuân", est(0.90, 0.02), 380),     # overlaps Sơn Trà
        RankedUnit("Ủy ban nhân dân xã Hòa Vang", est(0.78, 0.03), 300),
        RankedUnit("Ủy ban nhân dân xã Bà Nà", est(0.60, 0.2, n=14), 14),         # unreliable
    ]
    fields = dict(
        province_name="Thành phố Đà Nẵng", period="2026-H1", survey_title="Khảo sát SIPAS",
        units=units, components=COMPONENTS,
        heat=[HeatRow(u.unit_name, (u.estimate, None)) for u in units],
        changes=[ChangeRow("Ủy ban nhân dân xã Hòa Vang", est(0.78), est(0.86), est(-0.08, 0.04)),
                 ChangeRow("Ủy ban nhân dân phường Hòa Xuân", est(0.90), est(0.91), est(-0.01, 0.03))],
        appendix=[make_unit(unit_name="Ủy ban nhân dân xã Hòa Vang")],
        overall=est(0.851, 0.01, 1094), response_count=1094, previous_period="2025-H2",
        methods=MethodsInfo("Trọng số theo số hồ sơ.", 1094, 54321))
    fields.update(overrides)
    return ProvinceReportData(**fields)


@pytest.fixture(scope="module")
def province_pages():
    pdf = render_province_report(province())
    return pdf, pdf_text(pdf)


def test_ranking_marks_ties_and_keeps_unreliable_units_apart(province_pages):
    _, pages = province_pages
    text = re.sub(r"\s+", " ", " ".join(pages))
    assert "Ủy ban nhân dân phường Sơn Trà 92,0% 90,0–94,0% 400 1–2" in text
    assert "3 Ủy ban nhân dân xã Hòa Vang" in text
    unranked = text[text.index("Đơn vị chưa đủ độ tin cậy (không xếp hạng)"):]
    assert "Ủy ban nhân dân xã Bà Nà" in unranked
    assert not re.search(r"\d Ủy ban nhân dân xã Bà Nà", text[:text.index("Đơn vị chưa đủ độ tin cậy")])


def test_only_significant_declines_are_listed(province_pages):
    _, pages = province_pages
    text = re.sub(r"\s+", " ", " ".join(pages))
    section = text[text.index("4. Đơn vị có chỉ số giảm rõ rệt"):text.index("Cách đọc số liệu")]
    assert "Hòa Vang" in section and "-8,0 điểm %" in section
    assert "Hòa Xuân" not in section


def test_province_fonts_and_appendix(province_pages):
    pdf, pages = province_pages
    assert all(pdf_fonts(pdf).values()) and all("SIPAS-Noto-Sans" in f for f in pdf_fonts(pdf))
    assert "Phụ lục: Kết quả từng đơn vị" in "\n".join(pages)
    assert "85,1%" in pages[1]


def test_heat_cells_are_coloured_and_grey_when_unreliable():
    ctx = province_context(province())
    colours = {name: [c for _, c in cells] for name, cells in ctx["heat"]}
    assert colours["Ủy ban nhân dân phường Sơn Trà"][0] != colours["Ủy ban nhân dân xã Hòa Vang"][0]
    assert colours["Ủy ban nhân dân xã Bà Nà"][0] == "#e2e5ea"      # unreliable
    assert colours["Ủy ban nhân dân xã Bà Nà"][1] == "#eef0f3"      # missing


def test_empty_province_renders():
    pages = pdf_text(render_province_report(province(units=[], heat=[], changes=[], appendix=[],
                                                     overall=None, response_count=0)))
    text = " ".join(pages)
    assert "Chưa có đơn vị nào đủ số liệu tin cậy để xếp hạng" in text


def test_many_units_split_comparison_charts():
    units = [RankedUnit(f"Ủy ban nhân dân xã Số {i}", est(0.5 + i / 250, 0.02), 300) for i in range(95)]
    ctx = province_context(province(units=units, heat=[]))
    assert len(ctx["comparison"]) == 3
    assert [u.rank for u, _ in ctx["ranked"]][:3] == [1, 2, 3]


def thematic(**overrides) -> ThematicReportData:
    fields = dict(
        campaign_title="Khảo sát sự hài lòng về chính sách y tế cơ sở năm 2026",
        purpose="Đánh giá việc cung cấp thông tin và kết quả thực hiện chính sách.",
        opens_on=date(2026, 3, 1), closes_on=date(2026, 4, 30), organizer="Sở Nội vụ thành phố Đà Nẵng",
        response_count=640, overall=est(0.774, 0.03, 640),
        components=[ComponentRow("B1", "Cung cấp thông tin", est(0.70))],
        items=[ItemRow("B1.1", "Thông tin về chính sách được cung cấp đầy đủ, dễ hiểu", est(0.70), est(3.9, 0.1))],
        targets=[TargetProgress("Ủy ban nhân dân phường Hải Châu", 150, 120),
                 TargetProgress("Ủy ban nhân dân phường Thanh Khê", 30, 120)],
        methods=MethodsInfo("Mẫu phân tầng theo phường.", 640, 0, strata=2))
    fields.update(overrides)
    return ThematicReportData(**fields)


def test_thematic_report_shows_progress_and_results():
    pdf = render_thematic_report(thematic())
    pages = pdf_text(pdf)
    text = re.sub(r"\s+", " ", " ".join(pages))
    cover = re.sub(r"\s+", " ", pages[0])
    assert "Khảo sát sự hài lòng về chính sách y tế cơ sở năm 2026" in cover
    assert "01/03/2026 – 30/04/2026" in cover
    assert "Ủy ban nhân dân phường Thanh Khê 30 120 25%" in text
    assert "1 đơn vị chưa đạt chỉ tiêu" in text
    assert "77,4%" in text
    assert "thiết kế mẫu" in text and "hồ sơ đã giải quyết" not in text
    assert all(pdf_fonts(pdf).values())


def test_thematic_with_no_responses():
    pages = pdf_text(render_thematic_report(thematic(response_count=0, overall=None, components=[],
                                                     items=[], targets=[])))
    assert "Chưa có phiếu trả lời nào" in " ".join(pages)

import re

import pytest
from conftest import UNIT_NAME, est, make_unit, overflowing_text, pdf_fonts, pdf_text

from analysis.report import render_unit_report
from analysis.report.model import Comment, ItemRow, MethodsInfo, TrendPoint
from analysis.report.render import render_html, unit_context


@pytest.fixture(scope="module")
def unit_pdf():
    return render_unit_report(make_unit())


@pytest.fixture(scope="module")
def unit_pages(unit_pdf):
    return pdf_text(unit_pdf)


def test_cover_names_unit_period_survey_and_responses(unit_pages):
    cover = unit_pages[0]
    assert UNIT_NAME in cover
    assert "6 tháng đầu năm 2026" in cover
    assert "Khảo sát thường xuyên sự hài lòng (SIPAS)" in cover
    assert "412" in cover


def test_headline_index_ci_and_change(unit_pages):
    text = "\n".join(unit_pages)
    assert "85,1%" in text                      # 0.8512
    assert "82,2–88,0%" in text                 # 0.8512 ± 0.029
    assert "+2,3 điểm %" in text                # vs 0.828
    assert "có ý nghĩa thống kê" in text        # change CI 1.3–3.3 points excludes 0


def test_page_count_and_footer(unit_pages):
    assert 4 <= len(unit_pages) <= 6
    n = len(unit_pages)
    assert f"Trang 2/{n}" in unit_pages[1]
    assert "02/07/2026 08:30" in unit_pages[-1]


def test_fonts_are_only_the_embedded_noto(unit_pdf):
    fonts = pdf_fonts(unit_pdf)
    assert fonts, "no fonts found"
    assert all(fonts.values()), fonts                       # FontFile2 present for each
    assert all("SIPAS-Noto-Sans" in name for name in fonts), fonts


def test_item_table_flags_unreliable_items(unit_pages):
    text = " ".join(unit_pages)
    assert "không đủ độ tin cậy" in text
    assert "Công chức hướng dẫn kê khai hồ sơ tận tình, chu đáo" in text


def test_weakest_items_named_in_order(unit_pages):
    text = "\n".join(unit_pages)
    section = text[text.index("Nội dung người dân đánh giá thấp nhất"):]
    section = re.sub(r"\s+", " ", section)
    order = [section.index(s) for s in ("Nhận kết quả đúng hẹn", "Phí, lệ phí phải nộp đúng",
                                         "Nơi ngồi chờ có đủ chỗ ngồi")]
    assert order == sorted(order)
    # The flagged item (12 answers) is lower but must not be named among the weakest.
    assert "Góp ý, phản ánh" not in section[:section.index("Ý kiến của người dân")]


def test_comments_newest_first(unit_pages):
    text = "\n".join(unit_pages)
    positions = [text.index(f"Ý kiến ngày {d}/03") for d in ("28", "14", "05")]
    assert positions == sorted(positions)


def test_methods_box_in_plain_vietnamese(unit_pages):
    text = re.sub(r"\s+", " ", " ".join(unit_pages))
    assert "gia quyền theo khối lượng dịch vụ" in text
    assert "Khoảng tin cậy 95%" in text
    assert "12.345" in text                      # dossiers, thousands separator


def test_charts_carry_decimal_comma_and_vietnamese_labels():
    ctx = unit_context(make_unit())
    svg = ctx["charts"]["components"]
    assert "Tiếp nhận, xử lý phản ánh, kiến nghị" in svg
    assert "80,0%" in svg and "80.0%" not in svg
    assert "font-family: 'SIPAS Noto Sans'" in svg
    assert ctx["charts"]["trend"] and len(ctx["charts"]["per_component"]) == 6


def test_empty_period_renders_a_sensible_report():
    data = make_unit(response_count=0, overall=None, overall_previous=None, overall_change=None,
                     components=[], items=[], comments=[],
                     trend=[TrendPoint("2025-H2", None), TrendPoint("2026-H1", None)],
                     methods=MethodsInfo("", 0, 0))
    pages = pdf_text(render_unit_report(data))
    text = "\n".join(pages)
    assert UNIT_NAME in text
    assert "chưa nhận được phiếu trả lời nào" in text
    assert "nan" not in text.lower().split()


def test_single_response_is_flagged_not_ranked_as_weakest():
    one = est(1.0, 0.0, n=1)
    data = make_unit(response_count=1, overall=one, overall_previous=None, overall_change=None,
                     previous_period=None, trend=[], comments=[Comment(make_unit().comments[0].date, "Tốt.")],
                     items=[ItemRow("A1.1", "Dễ dàng tìm được nơi tiếp nhận hồ sơ", one, one)])
    text = "\n".join(pdf_text(render_unit_report(data)))
    assert "100,0%" in text
    assert "không đủ độ tin cậy" in text
    assert "Chưa có câu hỏi nào đủ số câu trả lời" in text


def test_long_names_wrap_inside_the_page():
    long_unit = ("Trung tâm Phục vụ hành chính công và Bộ phận Tiếp nhận và Trả kết quả giải quyết thủ tục "
                 "hành chính liên thông cấp xã của Ủy ban nhân dân phường Hòa Khánh Bắc mở rộng")
    long_q = "Công chức " + "hướng dẫn kê khai hồ sơ tận tình chu đáo " * 8 + "Siêu_dài_không_có_dấu_cách_" * 6
    data = make_unit(unit_name=long_unit,
                     items=list(make_unit().items) + [ItemRow("A3.9", long_q, est(0.9), est(4.5, 0.1))])
    html = render_html("reports/unit.html", data.generated_at, **unit_context(data))
    assert overflowing_text(html) == []
    pages = pdf_text(render_unit_report(data))
    assert 4 <= len(pages) <= 7


def test_overflow_check_can_fail():
    html = render_html("reports/unit.html", None, **unit_context(make_unit()))
    html = html.replace("<body>", '<body><p style="white-space: nowrap">' + "Hòa Khánh Bắc " * 40 + "</p>")
    assert overflowing_text(html)


def test_user_text_is_escaped_not_interpreted():
    data = make_unit(comments=[Comment(make_unit().comments[0].date, "<b>Tốt</b> & nhanh <script>x()</script>")])
    html = render_html("reports/unit.html", data.generated_at, **unit_context(data))
    assert "&lt;b&gt;Tốt&lt;/b&gt; &amp; nhanh &lt;script&gt;" in html
    assert "<script>" not in html


def test_full_sipas_instrument_stays_within_six_pages():
    from analysis.report.demo import SIPAS_ITEMS, demo_unit
    data = demo_unit(comments=40)
    assert len(data.items) == len(SIPAS_ITEMS) == 23
    pages = pdf_text(render_unit_report(data))
    assert 4 <= len(pages) <= 6
    assert f"Trang {len(pages)}/{len(pages)}" in pages[-1]

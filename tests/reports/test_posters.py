import re

from conftest import make_posters, pdf_fonts, pdf_text

from analysis.report import render_posters
from analysis.report.model import PosterData
from analysis.report.qr import qr_svg


def test_one_page_per_counter_with_all_the_words():
    pdf = render_posters(make_posters(3))
    pages = pdf_text(pdf)
    assert len(pages) == 3
    for i, page in enumerate(pages, start=1):
        flat = re.sub(r"\s+", " ", page)
        assert "Trung tâm Phục vụ hành chính công phường Hòa Khánh Bắc" in flat
        assert f"Quầy số {i}" in flat
        assert "Quét mã để đánh giá mức độ hài lòng của Ông/Bà — chỉ mất 1 phút" in flat
        assert f"hailong.example.gov.vn/q/{i}" in flat
        assert "Nghị định 13/2023/NĐ-CP" in flat
        assert "Trang " not in flat        # posters carry no report footer
    assert all(pdf_fonts(pdf).values())


def test_custom_privacy_line_replaces_the_standard_one():
    p = PosterData("UBND xã Bà Nà", "Quầy 1", "https://x.vn/q/1", "x.vn/q/1",
                   privacy_line="Phiếu khảo sát ẩn danh theo Nghị định 13/2023/NĐ-CP; không lưu số điện thoại.")
    text = re.sub(r"\s+", " ", pdf_text(render_posters([p]))[0])
    assert "không lưu số điện thoại" in text


def test_unit_without_counters_gets_an_explaining_page():
    pages = pdf_text(render_posters([], unit_name="Ủy ban nhân dân xã Bà Nà"))
    assert len(pages) == 1
    text = re.sub(r"\s+", " ", pages[0])
    assert "Ủy ban nhân dân xã Bà Nà" in text
    assert "chưa có quầy nào" in text


def test_long_names_and_urls_stay_on_one_page_each():
    p = PosterData("Trung tâm Phục vụ hành chính công " * 5, "Quầy tiếp nhận hồ sơ đất đai, xây dựng, đầu tư " * 3,
                   "https://hailong.example.gov.vn/q/" + "x" * 300, "hailong.example.gov.vn/q/" + "a1b2c3" * 12)
    assert len(pdf_text(render_posters([p, p]))) == 2


def test_qr_svg_is_a_vector_path_sized_by_css():
    svg = qr_svg("https://hailong.example.gov.vn/q/1")
    assert svg.startswith('<svg class="qr"') and "<path" in svg and "width=" not in svg.split(">")[0]


def test_run_path_draws_exactly_the_modules_of_svgpathimage():
    import qrcode
    from qrcode.image.svg import SvgPathImage

    from analysis.report.qr import module_runs_path

    qr = qrcode.QRCode(border=4, image_factory=SvgPathImage)
    qr.add_data("https://hailong.example.gov.vn/q/17?t=abc")
    qr.make(fit=True)
    original = qr.make_image().to_string(encoding="unicode")
    squares = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", original)}
    runs = {(int(x) + i, int(y)) for x, y, n in re.findall(r"M(\d+),(\d+)h(\d+)", module_runs_path(qr.get_matrix()))
            for i in range(int(n))}
    assert squares and runs == squares


def test_warm_up_runs():
    from analysis.report.render import warm_up
    warm_up()

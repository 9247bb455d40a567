"""Fixture report data, written out by hand so the expected printed figures are known."""
from __future__ import annotations

import io
import unicodedata
from datetime import date, datetime

import pypdf
import pytest

from analysis.estimate import Estimate, is_reliable
from analysis.indices import MAX_HALF_WIDTH
from analysis.report.model import (
    SIPAS_COMPONENTS,
    Comment,
    ComponentRow,
    ItemRow,
    MethodsInfo,
    PosterData,
    TrendPoint,
    UnitReportData,
)

UNIT_NAME = "Ủy ban nhân dân phường Hòa Khánh Bắc"
GENERATED = datetime(2026, 7, 2, 8, 30)


def est(p: float, half: float = 0.03, n: int = 400, method: str = "mean") -> Estimate:
    """An estimate with a known interval; reliable by the DESIGN.md rule on its own scale
    (1-5 scores, p > 1, with the 0.4 limit analysis.indices uses)."""
    lo, hi = p - half, p + half
    limit = MAX_HALF_WIDTH["score"] if p > 1 else MAX_HALF_WIDTH["overall"]
    return Estimate(p, half / 1.97, lo, hi, n, n / 1.3, 1.3, n // 10, method=method,
                    reliable=is_reliable(n, lo, hi, limit))


ITEM_TEXT = {
    "A1.1": "Dễ dàng tìm được nơi tiếp nhận hồ sơ và trả kết quả",
    "A1.2": "Nơi ngồi chờ có đủ chỗ ngồi, sạch sẽ, thoáng mát",
    "A2.1": "Thủ tục hành chính được niêm yết công khai, đầy đủ và chính xác",
    "A2.2": "Phí, lệ phí phải nộp đúng theo quy định",
    "A3.1": "Công chức có thái độ lịch sự khi tiếp nhận hồ sơ",
    "A3.2": "Công chức hướng dẫn kê khai hồ sơ tận tình, chu đáo",
    "A4.1": "Nhận kết quả đúng hẹn",
    "A5.1": "Góp ý, phản ánh, kiến nghị được tiếp nhận, xử lý tích cực",
    "A6.1": "Thanh toán trực tuyến thực hiện thuận lợi",
}
# Rates chosen so that the three weakest reliable items are A4.1 < A2.2 < A1.2;
# A5.1 is lower still but rests on 12 answers, so it is flagged and not named.
ITEM_RATE = {"A1.1": 0.91, "A1.2": 0.74, "A2.1": 0.88, "A2.2": 0.712, "A3.1": 0.93,
             "A3.2": 0.86, "A4.1": 0.655, "A5.1": 0.50, "A6.1": 0.80}


def make_unit(**overrides) -> UnitReportData:
    items = [ItemRow(code, text, est(ITEM_RATE[code], n=12 if code == "A5.1" else 380),
                     est(1 + 4 * ITEM_RATE[code], 0.1, n=12 if code == "A5.1" else 380))
             for code, text in ITEM_TEXT.items()]
    comps = [ComponentRow(c, name, est(0.80 + 0.02 * i)) for i, (c, name) in enumerate(SIPAS_COMPONENTS.items())]
    fields = dict(
        unit_name=UNIT_NAME, unit_kind="Ủy ban nhân dân phường", province_name="Thành phố Đà Nẵng",
        period="2026-H1", survey_title="Khảo sát thường xuyên sự hài lòng (SIPAS)",
        response_count=412, overall=est(0.8512, 0.029, 412), overall_previous=est(0.828, 0.03, 390),
        previous_period="2025-H2", overall_change=est(0.0232, 0.01, 412),
        components=comps, items=items,
        trend=[TrendPoint("2024-H2", est(0.80)), TrendPoint("2025-H1", est(0.815)),
               TrendPoint("2025-H2", est(0.828)), TrendPoint("2026-H1", est(0.8512))],
        comments=[Comment(date(2026, 3, d), f"Ý kiến ngày {d:02d}/03: cán bộ hướng dẫn nhiệt tình.")
                  for d in (5, 28, 14)],
        methods=MethodsInfo("Trọng số = số hồ sơ ÷ số phiếu trong từng lĩnh vực.", 412, 12345, strata=9),
        generated_at=GENERATED,
    )
    fields.update(overrides)
    return UnitReportData(**fields)


@pytest.fixture
def unit_data() -> UnitReportData:
    return make_unit()


def make_posters(n: int, unit: str = "Trung tâm Phục vụ hành chính công phường Hòa Khánh Bắc") -> list[PosterData]:
    return [PosterData(unit, f"Quầy số {i + 1}", f"https://hailong.example.gov.vn/q/{i + 1}?t=abc{i}",
                       f"hailong.example.gov.vn/q/{i + 1}") for i in range(n)]


def pdf_text(pdf: bytes) -> list[str]:
    """Text of each page, NFC-normalised (extractors may decompose diacritics)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [unicodedata.normalize("NFC", p.extract_text() or "") for p in reader.pages]


def _collect_fonts(resources, fonts: dict[str, bool], seen: set[int]) -> None:
    if resources is None or id(resources) in seen:
        return
    seen.add(id(resources))
    resources = resources.get_object()
    for font in (resources.get("/Font") or {}).values():
        font = font.get_object()
        descs = [font] + [d.get_object() for d in font.get("/DescendantFonts", [])]
        embedded = any("/FontFile2" in (d.get("/FontDescriptor") or {}) for d in descs)
        fonts[str(font["/BaseFont"])] = embedded
    # Charts are drawn as form XObjects with their own font resources.
    for xobj in (resources.get("/XObject") or {}).values():
        _collect_fonts(xobj.get_object().get("/Resources"), fonts, seen)


def pdf_fonts(pdf: bytes) -> dict[str, bool]:
    """Base font name -> whether a TrueType font program (FontFile2) is embedded."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts: dict[str, bool] = {}
    seen: set[int] = set()
    for page in reader.pages:
        _collect_fonts(page.get("/Resources"), fonts, seen)
    return fonts


def overflowing_text(html: str, tolerance_px: float = 1.0) -> list[str]:
    """Text and images that stick out of the page's content area (right edge).

    Margin boxes (header, footer) are skipped: they live in the margins.
    """
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    from analysis.report.render import TEMPLATES_DIR, _font_config

    doc = HTML(string=html, base_url=str(TEMPLATES_DIR)).render(font_config=_font_config())
    bad = []
    for page in doc.pages:
        pb = page._page_box
        right = pb.content_box_x() + pb.width + tolerance_px

        def walk(box):
            if isinstance(box, boxes.MarginBox):
                return
            if isinstance(box, (boxes.TextBox, boxes.ReplacedBox)):
                if box.position_x + box.margin_width() > right:  # noqa: B023 (walked in this pass only)
                    bad.append(getattr(box, "text", type(box).__name__))
            for child in getattr(box, "children", ()):
                walk(child)
        walk(pb)
    return bad

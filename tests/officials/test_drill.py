"""The drill-down pages: province → unit → counter and back, the time filters, scope."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Counter, Unit
from tests.conftest import login

DASH = "/quan-ly/bang-dieu-khien/"
OVERVIEW = "/quan-ly/bang-dieu-khien/tinh"
COUNTER = "/quan-ly/bang-dieu-khien/quay/"
PERIOD = "2026-H1"


@pytest.fixture
def seeded(app, demo_responses):
    demo_responses(40, ("2025-H2", PERIOD))
    return app


def text(response) -> str:
    return response.get_data(as_text=True)


def _official_counters(app) -> tuple[list[int], list[int]]:
    """Counters of the demo official's unit (Phường Đồng Tiến, 00157) and of others."""
    with app.app_context():
        mine = db.session.scalars(select(Counter.id).join(Unit).where(Unit.code == "00157")).all()
        others = db.session.scalars(select(Counter.id).join(Unit).where(Unit.code != "00157")).all()
    return list(mine), list(others)


def test_province_page_shows_pooled_index_ranking_and_links(seeded, client):
    login(client, "analyst")
    page = client.get(f"{OVERVIEW}?period={PERIOD}")
    assert page.status_code == 200
    html = text(page)
    assert 'id="province-index"' in html and "khoảng tin cậy 95%" in html
    assert "Các tiêu chí có tỷ lệ hài lòng thấp nhất" in html and "Diễn biến qua các kỳ" in html
    units = re.findall(r'href="/quan-ly/bang-dieu-khien/\?unit=(\d+)&amp;period=2026-H1"', html)
    assert len(units) >= 3
    assert re.search(r"\d+ \(\d+–\d+\)", html)    # a tie range
    # Down to a unit: it shows itself against the province, its counters with their index.
    unit = client.get(f"{DASH}?unit={units[0]}&period={PERIOD}")
    body = text(unit)
    assert 'id="against-province"' in body and "Chênh lệch so với toàn tỉnh" in body
    assert 'href="/quan-ly/bang-dieu-khien/tinh?period=2026-H1"' in body     # breadcrumb up
    counters = re.findall(r'href="/quan-ly/bang-dieu-khien/quay/(\d+)\?period=2026-H1"', body)
    assert counters
    counter = client.get(f"{COUNTER}{counters[0]}?period={PERIOD}")
    assert counter.status_code == 200
    ctext = text(counter)
    assert 'id="counter-index"' in ctext or "Chưa có phiếu" in ctext
    assert f'href="/quan-ly/bang-dieu-khien/?unit={units[0]}&amp;period=2026-H1"' in ctext


@pytest.mark.parametrize("query", ["quarter=2026-Q1", "year=2026", "from=05/01/2026&to=20/02/2026",
                                   "from=2026-01-05&to=2026-02-20", "period=2026-H1&kind=ward&measure=A3"])
def test_filters(seeded, client, query):
    login(client, "analyst")
    for path in (OVERVIEW, DASH):
        page = client.get(f"{path}?{query}")
        assert page.status_code == 200, (path, query)
    if query.startswith("from"):
        assert "Từ 05/01/2026 đến 20/02/2026" in text(client.get(f"{OVERVIEW}?{query}"))


@pytest.mark.parametrize("query, message", [
    ("from=31/02/2026&to=01/03/2026", "Ngày bắt đầu"),
    ("from=01/03/2026", "cần cả ngày bắt đầu và ngày kết thúc"),
    ("from=02/03/2026&to=01/03/2026", "phải trước hoặc trùng"),
    ("from=01/01/1999&to=01/01/2026", "nằm ngoài khoảng"),
    ("quarter=2026-Q5", "Quý"),
    ("year=20x6", "Năm"),
])
def test_bad_dates_say_why_in_vietnamese(seeded, client, query, message):
    login(client, "analyst")
    for path in (OVERVIEW, DASH):
        page = client.get(f"{path}?{query}")
        assert page.status_code == 400
        assert message in text(page)


def test_commune_official_sees_own_counters_only(seeded, client):
    mine, others = _official_counters(seeded)
    login(client, "official")
    assert client.get(f"{COUNTER}{mine[0]}?period={PERIOD}").status_code == 200
    assert client.get(f"{COUNTER}{others[0]}?period={PERIOD}").status_code == 404
    assert client.get(f"{COUNTER}99999999").status_code == 404
    assert client.get(f"{OVERVIEW}?period={PERIOD}").status_code == 403
    body = text(client.get(f"{DASH}?period={PERIOD}"))
    assert "/bang-dieu-khien/tinh" not in body          # no breadcrumb to the province


def test_unit_pdf_places_the_unit_against_the_province_as_the_dashboard_does(seeded, client):
    import io

    from pypdf import PdfReader

    from survey.dashboards.formatting import gap_text
    from survey.indices import drill
    from survey.indices.windows import half

    with seeded.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "00157"))
        standing = drill.standing(unit.id, half(PERIOD))
        unit_id = unit.id
    assert standing.gap is not None
    login(client, "analyst")
    html = text(client.get(f"{DASH}?unit={unit_id}&period={PERIOD}"))
    assert gap_text(standing.gap) in html
    from flask import url_for
    with seeded.test_request_context():
        path = url_for("reports.unit_pdf", unit_id=unit_id, period=PERIOD)
    pdf = client.get(path)
    assert pdf.status_code == 200
    words = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    words = " ".join(words.split())
    assert "So với toàn tỉnh" in words
    assert gap_text(standing.gap) in words

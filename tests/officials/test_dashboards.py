"""Dashboards and `flask indices`: who sees what, ranking with ties, Vietnamese formatting."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone

from survey.catalog.periods import last_periods
from survey.extensions import db
from survey.indices.comments import redact
from survey.services.demo_responses import seed_demo_responses
from tests.conftest import login
from tests.indices.test_aggregates import PERIOD, add, add_many, unit_id, volumes

DASH = "/quan-ly/bang-dieu-khien/"
PROVINCE = "/quan-ly/bang-dieu-khien/so-sanh"


def satisfied(unit: str, yes: int, total: int, field: str | None = "ho-tich") -> None:
    """`total` responses answering only A3.1: `yes` of them 5, the rest 2 (score 1 or 0)."""
    add_many([(unit, {"A3.1": 5 if i < yes else 2}, field, PERIOD, None, None, 0)
              for i in range(total)])


def text(response) -> str:
    return response.get_data(as_text=True)


# --- access ---------------------------------------------------------------------------

def test_official_sees_own_unit_and_nothing_else(app, client):
    with app.app_context():
        add("00157", {"A1.1": 5, "A3.1": 4, "OVERALL": 4}, field="ho-tich")
        other = unit_id("00178")
    login(client, "official")
    page = client.get(f"{DASH}?period={PERIOD}")
    assert page.status_code == 200
    html = text(page)
    assert "Bảng điều khiển: Phường Đồng Tiến" in html and "100,0%" in html
    assert "Xã Mường Khến" not in html                      # not even in the unit picker
    assert client.get(f"{DASH}?unit={other}&period={PERIOD}").status_code == 404
    assert client.get(f"{DASH}?unit=999999").status_code == 404
    for odd in ("²", "٣", "99999999999999999999", "-1", "1.0"):  # not a unit number: survey/args.py
        assert client.get(f"{DASH}?unit={odd}").status_code == 400, odd
    assert client.get(f"{PROVINCE}?period={PERIOD}").status_code == 403
    assert 'href="/quan-ly/bang-dieu-khien/so-sanh"' not in text(client.get("/quan-ly/"))


def test_dashboards_need_a_login(client):
    response = client.get(DASH)
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_malformed_period_is_refused(client):
    # One period rule for pages, API and CLI (survey/args.py): 1999-H1 was a dashboard, a 400 on reports.
    login(client, "analyst")
    for bad in ("2026-13", "1999-H1", "2999-H1"):
        assert client.get(f"{DASH}?period={bad}").status_code == 400, bad
        assert client.get(f"{PROVINCE}?period={bad}").status_code == 400, bad
    assert client.get(f"{PROVINCE}?measure=Z9").status_code == 404


# --- empty database ---------------------------------------------------------------------

def test_dashboards_render_without_responses(client):
    login(client, "official")
    html = text(client.get(DASH))
    assert "Chưa có phiếu khảo sát nào của đơn vị trong kỳ này" in html
    assert "chưa có phiếu nào: kiểm tra mã QR tại quầy" in html     # every counter at zero
    client.post("/dang-xuat")
    login(client, "analyst")
    assert "Chưa có phiếu khảo sát nào" in text(client.get(DASH))
    assert "Chưa có phiếu khảo sát nào trong kỳ này." in text(client.get(PROVINCE))


# --- unit dashboard contents -------------------------------------------------------------

def test_unit_dashboard_shows_components_weak_items_counters_and_comments(app, client):
    with app.app_context():
        first = datetime(2026, 9, 1, 3, tzinfo=timezone.utc)
        later = datetime(2026, 10, 2, 3, tzinfo=timezone.utc)
        add("00157", {"A1.2": 1, "A3.1": 5, "A2.1": 4}, field="ho-tich", when=first,
            comment="Phòng chờ nóng, gọi 0912 345 678 nhé")
        add("00157", {"A1.2": 2, "A3.1": 4, "A2.1": 2}, field="ho-tich", when=later,
            comment="Cán bộ rất nhiệt tình")
        volumes("00157", PERIOD, {"ho-tich": 10})
    login(client, "official")
    html = text(client.get(f"{DASH}?period={PERIOD}"))
    # A1.2 (0% satisfied) rests on two answers: not reliable, so not named among the weakest.
    weakest = re.search(r"thấp nhất</h2>(.*?)</section>", html, re.S).group(1)
    assert "Khu vực chờ" not in weakest and "Chưa có tiêu chí nào đủ độ tin cậy" in weakest
    # Charts are drawn on the server; the one script only adds their download buttons.
    assert "A3 Công chức" in html and "<svg" in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/charts.js" defer>']
    # Counters: the two unused ones are flagged; comments newest first, phone number hidden.
    assert html.count("chưa có phiếu nào: kiểm tra mã QR tại quầy") == 2
    assert html.index("Cán bộ rất nhiệt tình") < html.index("Phòng chờ nóng")
    assert "0912" not in html and "[đã ẩn]" in html
    assert "02/10/2026" in html and "01/09/2026" in html
    assert "không đủ độ tin cậy" in html.lower()


def test_unweighted_unit_says_so(app, client):
    with app.app_context():
        add("00157", {"A3.1": 5}, field="ho-tich")
    login(client, "official")
    html = text(client.get(f"{DASH}?period={PERIOD}")).lower()
    assert "chưa có số liệu hồ sơ: ước lượng chưa gia quyền" in html


# --- province ranking --------------------------------------------------------------------

def test_analyst_sees_ranking_with_tie_marks_and_unreliable_units_apart(app, client):
    with app.app_context():
        satisfied("00157", 85, 100)      # 85%   } intervals overlap: tied 1-2
        satisfied("00163", 82, 100)      # 82%   }
        satisfied("00178", 30, 100)      # 30%: clearly third
        satisfied("00193", 4, 5)         # 5 responses: never ranked
        for code in ("00157", "00163", "00178"):
            volumes(code, PERIOD, {"ho-tich": 1000})
    login(client, "analyst")
    html = text(client.get(f"{PROVINCE}?period={PERIOD}"))
    ranking, _, unranked = html.partition("Chưa xếp hạng")
    rows = re.findall(r"<tr><td class=\"num\">(.*?)</td>\s*<td><a href=\"[^\"]*\">(.*?)</a> <span", ranking)
    assert [(re.sub(r"\s*<span.*", "", r), name) for r, name in rows] == [
        ("1 (1–2)", "Phường Đồng Tiến"), ("2 (1–2)", "Phường Thống Nhất"), ("3", "Xã Mường Khến")]
    assert ranking.count('title="ngang hạng"') == 2
    assert "85,0%" in ranking and "Xã Yên Thủy" not in ranking
    assert "Xã Yên Thủy" in unranked and "không đủ độ tin cậy" in unranked
    assert "chưa có số liệu hồ sơ" in unranked          # 00193 has no volumes
    # Filtered by kind, ranks are among wards only; by component, A3 is the only one answered.
    wards = text(client.get(f"{PROVINCE}?period={PERIOD}&kind=ward"))
    assert "Xã Mường Khến" not in wards and "Phường Thống Nhất" in wards
    assert "Phường Đồng Tiến" in text(client.get(f"{PROVINCE}?period={PERIOD}&measure=A3"))
    assert "Chưa có phiếu" in text(client.get(f"{PROVINCE}?period={PERIOD}&measure=A1"))


# --- flask indices -------------------------------------------------------------------

def test_flask_indices_formats_in_vietnamese(app, runner):
    with app.app_context():
        satisfied("00157", 851, 1000)                     # overall index exactly 0.851
        volumes("00157", PERIOD, {"ho-tich": 5000})
        satisfied("00178", 3, 4)
    result = runner.invoke(args=["indices", "--period", PERIOD])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Giá trị" in out and "KTC 95%" in out and "Chỉ số hài lòng chung" in out
    line_157 = next(line for line in out.splitlines() if line.startswith("00157"))
    assert "85,1%" in line_157 and "1.000" in line_157 and re.search(r"\d\d,\d–\d\d,\d%", line_157)
    line_178 = next(line for line in out.splitlines() if line.startswith("00178"))
    assert "75,0%" in line_178 and "không đủ độ tin cậy" in line_178
    assert "ước lượng chưa gia quyền" in line_178

    as_csv = list(csv.DictReader(io.StringIO(runner.invoke(
        args=["indices", "--period", PERIOD, "--format", "csv"]).output)))
    assert {r["unit_code"] for r in as_csv} == {"00157", "00178"}
    assert float(next(r for r in as_csv if r["unit_code"] == "00157")["estimate"]) == 0.851

    as_json = json.loads(runner.invoke(args=["indices", "--period", PERIOD, "--unit", "00178",
                                             "--stat", "rate", "--format", "json"]).output)
    assert {(r["unit_code"], r["measure"]) for r in as_json} == {("00178", "A3.1")}
    assert as_json[0]["estimate"] == 0.75 and as_json[0]["reliable"] is False

    empty = runner.invoke(args=["indices", "--period", "2020-H1"])
    assert empty.exit_code == 0 and "Chưa có phiếu" in empty.output
    assert runner.invoke(args=["indices", "--period", PERIOD, "--unit", "XYZ"]).exit_code != 0


# --- demo responses --------------------------------------------------------------------

def test_seed_demo_responses_is_deterministic_and_fills_the_dashboards(app, client, runner):
    result = runner.invoke(args=["seed-demo-responses", "--per-unit", "40"])
    assert result.exit_code == 0 and "phiếu" in result.output
    with app.app_context():
        again = seed_demo_responses(n_per_unit=40)        # replaces, does not add
        from survey.models import Response
        assert db.session.query(Response).count() == again["responses"]
    login(client, "analyst")
    html = text(client.get(f"{PROVINCE}?period=2026-H1"))
    assert "Bảng xếp hạng" in html and "%" in html


def test_small_helpers():
    assert last_periods("2026-H2", 4) == ["2025-H1", "2025-H2", "2026-H1", "2026-H2"]
    assert redact("gọi 0912.345.678 hoặc a.b@c.vn") == "gọi [đã ẩn] hoặc [đã ẩn]"
    assert redact("quầy số 3 ngày 12/5") == "quầy số 3 ngày 12/5"

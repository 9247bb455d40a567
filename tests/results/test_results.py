"""/ket-qua and its .json/.csv copies: the aggregates' figures, formatted the Vietnamese way,
nothing unreliable as a percentage, nothing personal, no session, cacheable."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from analysis.report.format_vi import format_date, format_interval, format_percent, period_label
from survey.extensions import db
from survey.indices.aggregates import index_rows
from survey.indices.pooled import pooled_rows
from survey.models import CaseEvent, FeedbackCase, Unit
from tests.indices.test_aggregates import add_many

PERIOD = "2026-H2"
WARD, OTHER = "00157", "00178"  # Phường Đồng Tiến (50 responses), Xã Mường Khến (10)
PHONE = "0912345678"
PUBLISHED = "Đơn vị đã bố trí thêm quầy tiếp nhận vào buổi sáng."
UNPUBLISHED = "Câu trả lời nội bộ chưa công khai."
ITEMS = ("A1.1", "A1.2", "A2.1", "A3.1", "A4.1", "A5.1", "A6.1", "OVERALL")
PERCENT = re.compile(r"\d,\d%")


def _answers(i: int) -> dict[str, int | None]:
    # Mostly satisfied with some spread, so the interval is finite and narrow enough to be reliable.
    return {code: (5 if (i + j) % 2 else 4) if i % 12 else 2 for j, code in enumerate(ITEMS)}


def _seed() -> None:
    specs = [(WARD, _answers(i), None, PERIOD, f"Gọi tôi {PHONE}" if i == 0 else None, None, 0)
             for i in range(50)]
    specs += [(WARD, _answers(i + 1), None, "2026-H1", None, None, 0) for i in range(40)]
    specs += [(OTHER, _answers(i), None, PERIOD, None, None, 0) for i in range(10)]
    add_many(specs)
    ward = db.session.scalar(select(Unit.id).where(Unit.code == WARD))
    at = datetime(2026, 10, 5, 3, 0, tzinfo=timezone.utc)
    for n, (status, text) in enumerate((("published", PUBLISHED), ("answered", UNPUBLISHED))):
        case = FeedbackCase(code=f"PA-TEST-{n}", token_hash=f"{n:064d}", unit_id=ward, period=PERIOD,
                            status=status, message=f"Số điện thoại của tôi {PHONE}", answer="Nội bộ",
                            public_answer=text, created_at=at, contact_consent=False)
        db.session.add(case)
        db.session.flush()
        db.session.add(CaseEvent(case_id=case.id, at=at, to_status=status))
    db.session.commit()


@pytest.fixture
def seeded(app):
    with app.app_context():
        _seed()
        rows = index_rows(PERIOD, None, stats=("overall", "component"))
        est = {(r.unit_code, r.stat, r.measure): r.est for r in rows}
        province = pooled_rows("SIPAS", [PERIOD], None)
    return est, province


def _section(html: str, name: str) -> str:
    start = html.index(f"<h3>{name}</h3>")
    return html[start:html.index("</section>", start)]


def _unit_name(app, code: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Unit.name).where(Unit.code == code))


def test_page_shows_the_aggregates_figures(app, client, seeded):
    est, province = seeded
    ward = est[(WARD, "overall", "overall")]
    assert ward.reliable and ward.rank >= 1
    html = client.get(f"/ket-qua?ky={PERIOD}").get_data(as_text=True)
    section = _section(html, _unit_name(app, WARD))
    assert format_percent(ward.estimate) in section
    assert format_interval(ward.ci_low, ward.ci_high) in section
    rank = f"{ward.rank_best}–{ward.rank_worst}" if ward.tied else str(ward.rank)
    assert f"Xếp hạng: <strong>{rank}</strong>" in section
    comp = est[(WARD, "component", "A1")]
    assert comp.reliable and format_percent(comp.estimate) in section
    pooled = province[("overall", "overall")]
    assert format_percent(pooled.estimate) in html[:html.index("Các đơn vị")]
    assert period_label(PERIOD) in html and period_label("2026-H1") in section  # the trend
    # Without ?ky= the latest period with responses.
    assert period_label(PERIOD) in client.get("/ket-qua").get_data(as_text=True)


def test_unreliable_unit_is_not_enough_data_never_a_percentage(app, client, seeded):
    est, _ = seeded
    assert est[(OTHER, "overall", "overall")].unreliable
    html = client.get(f"/ket-qua?ky={PERIOD}").get_data(as_text=True)
    section = _section(html, _unit_name(app, OTHER))
    assert "chưa đủ số liệu" in section
    assert not PERCENT.search(section)


def test_json_and_csv_agree_with_the_page(app, client, seeded):
    est, province = seeded
    html = client.get(f"/ket-qua?ky={PERIOD}").get_data(as_text=True)
    data = client.get(f"/ket-qua.json?ky={PERIOD}").get_json()
    units = {u["code"]: u for u in data["units"]}
    ward = est[(WARD, "overall", "overall")]
    assert units[WARD]["overall"]["estimate"] == ward.estimate
    assert units[WARD]["overall"]["ci_low"] == ward.ci_low
    assert format_percent(units[WARD]["overall"]["estimate"]) in _section(html, _unit_name(app, WARD))
    assert units[WARD]["rank"]["rank"] == ward.rank
    assert units[OTHER]["overall"] == {"estimate": None, "ci_low": None, "ci_high": None, "reliable": False}
    assert units[OTHER]["rank"] is None
    assert data["province"]["overall"]["estimate"] == province[("overall", "overall")].estimate

    body = client.get(f"/ket-qua.csv?ky={PERIOD}").get_data(as_text=True)
    rows = {(r["unit_code"], r["measure"]): r for r in csv.DictReader(io.StringIO(body.lstrip("\ufeff")))}
    assert float(rows[(WARD, "overall")]["estimate"]) == ward.estimate
    assert rows[(WARD, "overall")]["reliable"] == "true"
    assert rows[(WARD, "overall")]["rank"] == str(ward.rank)
    assert float(rows[(WARD, "A2")]["estimate"]) == est[(WARD, "component", "A2")].estimate
    assert rows[(OTHER, "overall")]["estimate"] == "" and rows[(OTHER, "overall")]["reliable"] == "false"
    assert float(rows[("", "overall")]["estimate"]) == province[("overall", "overall")].estimate


def test_published_answer_only_and_nothing_personal(client, seeded):
    html = client.get(f"/ket-qua?ky={PERIOD}").get_data(as_text=True)
    # JSON escapes non-ASCII text: compare its decoded form.
    as_json = json.dumps(client.get(f"/ket-qua.json?ky={PERIOD}").get_json(), ensure_ascii=False)
    bodies = [html, as_json, client.get(f"/ket-qua.csv?ky={PERIOD}").get_data(as_text=True)]
    assert PUBLISHED in html and format_date(datetime(2026, 10, 5)) in html
    assert PUBLISHED in bodies[1]
    for body in bodies:
        assert UNPUBLISHED not in body
        assert PHONE not in body and "Gọi tôi" not in body and "Nội bộ" not in body
        assert "PA-TEST" not in body


@pytest.mark.parametrize("ky", ["2026-H3", "abc", "1999-H1", "2099-H1"])
def test_bad_period_is_404(client, ky):
    for path in ("/ket-qua", "/ket-qua.json", "/ket-qua.csv"):
        assert client.get(f"{path}?ky={ky}").status_code == 404


def test_public_cacheable_and_sessionless(app, client, seeded):
    for path in ("/ket-qua", "/ket-qua.json", "/ket-qua.csv"):
        response = client.get(f"{path}?ky={PERIOD}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=300"
        assert response.headers.getlist("Set-Cookie") == []
    assert client.get_cookie("session") is None
    # A burst is served from the per-process cache: a new response changes nothing for 5 minutes.
    before = client.get(f"/ket-qua.json?ky={PERIOD}").get_json()
    with app.app_context():
        add_many([(OTHER, _answers(i), None, PERIOD, None, None, 0) for i in range(30)])
    assert client.get(f"/ket-qua.json?ky={PERIOD}").get_json() == before


def test_empty_period_and_thanks_link(client, counter):
    html = client.get("/ket-qua?ky=2025-H1").get_data(as_text=True)
    assert "Chưa có kết quả" in html
    assert 'href="/ket-qua"' in client.get(counter.url + "/cam-on").get_data(as_text=True)

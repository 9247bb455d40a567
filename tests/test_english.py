"""An official who chooses English reads English: the dashboard and the PDF reports (issue 14.5).

Vietnamese may remain only where it is a name (units, the province) or a citizen's own words
(comments); every other line with a Vietnamese letter is a string someone forgot to wrap or
translate.
"""
from __future__ import annotations

import html
import re
import subprocess

import pytest
from sqlalchemy import select

from analysis.report.format_vi import format_percent
from survey.extensions import db
from survey.indices import aggregates
from survey.models import Answer, Counter, Unit, User
from survey.services.demo_responses import seed_demo_responses
from tests.conftest import login
from tests.test_translations import VIETNAMESE

PERIOD = "2026-H1"


@pytest.fixture
def names(app) -> dict[str, object]:
    """Everything allowed to stay Vietnamese, and the ward's English-formatted index."""
    with app.app_context():
        seed_demo_responses(n_per_unit=60, periods=("2025-H2", PERIOD))
        units = db.session.scalars(select(Unit)).all()
        texts = [t for t in db.session.scalars(select(Answer.value_text)
                                               .where(Answer.value_text.is_not(None))).all() if t]
        ward = next(u for u in units if u.code == "00157")
        overall = aggregates.unit_summary(ward.id, PERIOD).overall
        counters = db.session.scalars(select(Counter.name)).all()
        people = db.session.scalars(select(User.name)).all()
        return {"allowed": [u.name for u in units] + list(counters) + list(people) + texts, "ward_id": ward.id,
                "overall": overall.estimate if overall else None}


def _collapse(text: str) -> str:
    return " ".join(text.split())


def vietnamese_left(text: str, allowed: list[str]) -> list[str]:
    """Lines with Vietnamese letters once the allowed names and comments are taken out."""
    blob = " ".join(_collapse(a) for a in allowed)
    out = []
    for line in text.splitlines():
        line = _collapse(line)
        if not VIETNAMESE.search(line) or line in blob:
            continue
        for name in sorted(allowed, key=len, reverse=True):
            line = line.replace(_collapse(name), "")
        # Fragments of a wrapped name or comment (pdftotext breaks long lines) are in the blob.
        rest = [w for w in re.split(r"[\s,;:()“”\"]+", line) if VIETNAMESE.search(w) and w not in blob]
        if rest:
            out.append(line)
    return out


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=data,
                          capture_output=True, check=True).stdout.decode()


def test_dashboard_in_english(app, client, names):
    login(client, "official")
    client.get("/ngon-ngu/en")
    page = client.get(f"/quan-ly/bang-dieu-khien/?unit={names['ward_id']}&period={PERIOD}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", re.sub(r"(?s)<(script|style)\b.*?</\1>", "", body)))
    assert "Overall satisfaction index" in text
    assert format_percent(names["overall"], locale="en") in text  # 78.4%, decimal point
    # The report can be downloaded in the other language too.
    links = re.findall(rf'href="(/quan-ly/bao-cao/don-vi/{names["ward_id"]}\.pdf\?[^"]*)"', body)
    assert any("lang=vi" in link and f"period={PERIOD}" in link for link in links), links
    # The language switch names Vietnamese in Vietnamese; everything else is English.
    left = vietnamese_left(text, [*names["allowed"], "Tiếng Việt"])
    assert not left, "Vietnamese on the English dashboard:\n" + "\n".join(left)


def test_unit_pdf_in_english(app, client, names):
    login(client, "official")
    response = client.get(f"/quan-ly/bao-cao/don-vi/{names['ward_id']}.pdf?period={PERIOD}&lang=en")
    assert response.status_code == 200
    text = pdf_text(response.data)
    for heading in ("Overall satisfaction index", "Results per question", "Citizens' comments",
                    "How to read the figures in this report", "First half of 2026"):
        assert heading in text, heading
    assert format_percent(names["overall"], locale="en") in text
    left = vietnamese_left(text, names["allowed"])
    assert not left, "Vietnamese in the English PDF:\n" + "\n".join(left)


def test_the_same_pdf_stays_vietnamese_by_default(app, client, names):
    login(client, "official")
    response = client.get(f"/quan-ly/bao-cao/don-vi/{names['ward_id']}.pdf?period={PERIOD}")
    text = pdf_text(response.data)
    assert "Chỉ số hài lòng chung" in text and "6 tháng đầu năm 2026" in text
    assert format_percent(names["overall"]) in text  # decimal comma


def test_province_report_cli_in_english(app, runner, names, tmp_path):
    out = tmp_path / "province"
    result = runner.invoke(args=["report", "province", "--period", PERIOD, "--inline", "--lang", "en",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text((out / f"bao-cao-tinh-{PERIOD}.pdf").read_bytes())
    assert "Ranking of units" in text and "DEPARTMENT OF HOME AFFAIRS" in text  # CSS upper-cases it
    left = vietnamese_left(text, names["allowed"])
    assert not left, "Vietnamese in the English province report:\n" + "\n".join(left)


# Officials' pages, by the demo account that may open them (pages read the demo province).
PAGES = {
    "analyst": ("/quan-ly/", "/quan-ly/bang-dieu-khien/so-sanh?period=" + PERIOD, "/quan-ly/chuyen-de/",
                "/quan-ly/chuyen-de/moi", "/quan-ly/kiem-duyet/", "/quan-ly/khac-phuc/",
                "/quan-ly/theo-doi-tieu-chi/", "/quan-ly/phan-anh/", "/quan-ly/bao-cao-6-thang/",
                "/quan-ly/bao-cao-6-thang/tinh"),
    "admin": ("/quan-tri/du-lieu", "/quan-tri/don-vi", "/quan-tri/don-vi/moi", "/quan-tri/tai-khoan",
              "/quan-tri/tai-khoan/moi", "/quan-tri/khoa-api"),
    "official": ("/quan-ly/phieu-hen/", "/quan-ly/khac-phuc/moi"),
}


def page_text(body: str) -> str:
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", body)
    # Attribute text people read (placeholders, titles, labels for screen readers) counts too.
    attrs = " ".join(m.group(2) for m in re.finditer(r'\b(placeholder|title|aria-label|alt)="([^"]*)"', body))
    return html.unescape(re.sub(r"<[^>]+>", "\n", body) + "\n" + attrs)


@pytest.mark.parametrize("who", sorted(PAGES))
def test_officials_pages_in_english(app, client, names, who):
    login(client, who)
    client.get("/ngon-ngu/en")
    found = []
    for path in PAGES[who]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found += [f"{path}: {line}" for line in
                  vietnamese_left(page_text(response.get_data(as_text=True)),
                                  [*names["allowed"], "Tiếng Việt"])]
    assert not found, "Vietnamese on English pages:\n" + "\n".join(found)

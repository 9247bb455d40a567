"""One period label and Vietnam time everywhere a person reads a page; numbers right-aligned."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from survey.extensions import db
from survey.models import Counter
from survey.template_format import period_text, vn_date, vn_datetime
from tests.conftest import login

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A period code printed as text (not inside an attribute such as value="..."): `>… {{ x.period }}`.
# A `{% trans period=x | period %}` block names the already formatted label `period`: not raw.
RAW_PERIOD = re.compile(r">(?:[^<>{]|\{(?!%\s*trans\b))*\{\{\s*[\w.]*period\s*\}\}")
# A loop over periods printing its variable bare: `{% for p in periods %}…>{{ p }}<`.
LOOP_PERIOD = re.compile(r"\{%\s*for (\w+) in [\w.]*periods[^%]*%\}(?:(?!\{% endfor).)*?>\{\{\s*\1\s*\}\}", re.S)
LATE_EVENING_UTC = datetime(2026, 6, 30, 18, 30, tzinfo=timezone.utc)  # 01:30 on 1 July in Hà Nội


def test_the_raw_period_pattern_catches_what_it_should():
    assert RAW_PERIOD.search("<td>{{ period }}</td>") and RAW_PERIOD.search("<p>Kỳ: {{ case.period }}</p>")
    assert not RAW_PERIOD.search('<option value="{{ period }}">') and not RAW_PERIOD.search("{{ period|period_label }}")
    assert not RAW_PERIOD.search("<p>{% trans period=d.period | period %}trong {{ period }}.{% endtrans %}</p>")
    loop = '{% for p in periods %}<option value="{{ p }}">{{ pFILTER }}</option>{% endfor %}'
    assert LOOP_PERIOD.search(loop.replace("FILTER", ""))
    assert not LOOP_PERIOD.search(loop.replace("FILTER", "|period_label"))


def test_no_template_prints_a_raw_period_code_or_formats_time_itself():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not RAW_PERIOD.search(text), f"{path}: a raw period code; use |period_label"
        assert not LOOP_PERIOD.search(text), f"{path}: a raw period code in a loop; use |period_label"
        # Times go through vn_date / vn_datetime, which move UTC to Vietnam time first.
        assert ".strftime(" not in text and "in_vietnam(" not in text, f"{path}: format times with |vn_date"


def test_filters_show_vietnam_time_and_period_words():
    assert vn_date(LATE_EVENING_UTC) == "01/07/2026"
    assert vn_date(LATE_EVENING_UTC.replace(tzinfo=None)) == "01/07/2026"  # SQLite's naive UTC
    assert vn_datetime(LATE_EVENING_UTC) == "01/07/2026 01:30"
    assert period_text("2026-H2") == "6 tháng cuối năm 2026" and period_text("không phải kỳ") == "không phải kỳ"


def test_admin_page_shows_retirement_day_in_vietnam_time(app, client, counter):
    with app.app_context():
        c = db.session.get(Counter, counter.id)
        c.active, c.retired_at = False, LATE_EVENING_UTC
        db.session.commit()
    login(client, "admin")
    html = client.get("/quan-tri/don-vi").get_data(as_text=True)
    assert "Đã ngừng từ 01/07/2026" in html and "30/06/2026" not in html


def test_officials_home_names_the_period_in_words(client):
    login(client, "official")
    html = client.get("/quan-ly/").get_data(as_text=True)
    assert re.search(r"Kỳ hiện tại: 6 tháng (đầu|cuối) năm \d{4}", html), html[:2000]
    assert not re.search(r"\b20\d\d-H[12]\b(?![^<]*\")", re.sub(r'"[^"]*"', '""', html))


def test_numbers_are_right_aligned_by_one_class():
    css = (TEMPLATES.parent / "static" / "officials.css").read_text(encoding="utf-8")
    # Stronger than `table.data td {text-align:left}`, so class="num" wins in every table.
    assert re.search(r"table\.data td\.num[^{]*\{[^}]*text-align:right", css)


def test_dashboard_number_cells_carry_the_class(client):
    login(client, "official")
    html = client.get("/quan-ly/bang-dieu-khien/").get_data(as_text=True)
    cells = re.findall(r"<td([^>]*)>\s*([\d.,]+%?)\s*</td>", html)
    assert cells, "no numeric cells on the dashboard"
    for attrs, value in cells:
        assert 'class="num"' in attrs, (value, attrs)

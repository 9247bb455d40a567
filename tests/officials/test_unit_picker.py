"""Every unit picker (template_format.unit_options) is the template loop it replaced: same
markup, same escaping, the page's unit selected, by id or by code, with or without an "all
units" option."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from jinja2 import Environment

from survey.template_format import unit_options

BY_ID = ('{% for u in units %}<option value="{{ u.id }}"{% if u.id == sel %} selected{% endif %}>'
         '{{ u.code }} – {{ u.name }}</option>{% endfor %}')
BY_CODE = ('{% for u in units %}<option value="{{ u.code }}"{% if u.code == sel %} selected{% endif %}>'
           '{{ u.code }} – {{ u.name }}</option>{% endfor %}')
BLANK = '<option value="">{{ blank }}</option>'
UNITS = [SimpleNamespace(id=1, code="T", name="Tỉnh <Hòa> & \"Bình\""),
         SimpleNamespace(id=17, code="X'01", name="Xã Yên Thủy"),
         SimpleNamespace(id=3, code="P<2>", name="Phường & 'Một'")]


@pytest.mark.parametrize("selected", [17, 99, None])
def test_unit_options_by_id_are_the_template_loop_escaped_alike(selected):
    want = Environment(autoescape=True).from_string(BY_ID).render(units=UNITS, sel=selected)
    assert str(unit_options(UNITS, selected)) == want
    assert "&lt;Hòa&gt; &amp; &#34;Bình&#34;" in want
    assert (' selected' in want) == (selected == 17)


@pytest.mark.parametrize("selected", ["X'01", "P<2>", "", None])
def test_unit_options_by_code_with_an_all_units_option(selected):
    env = Environment(autoescape=True)
    want = env.from_string(BLANK + BY_CODE).render(units=UNITS, sel=selected, blank="Tất cả <đơn vị>")
    got = str(unit_options(UNITS, selected, value="code", blank="Tất cả <đơn vị>"))
    assert got == want
    assert got.count(" selected") == (1 if selected in ("X'01", "P<2>") else 0)


def test_a_name_holding_the_joiner_is_escaped_alike():
    # unit_options escapes every text in one call joined by NUL; SQLite can store a NUL, and
    # then each text is escaped on its own (a split on it would shift every later option).
    units = [*UNITS[:2], SimpleNamespace(id=5, code="N\x00<", name="Tên\x00 & <b>"), UNITS[2]]
    want = Environment(autoescape=True).from_string(BY_ID).render(units=units, sel=3)
    assert str(unit_options(units, 3)) == want

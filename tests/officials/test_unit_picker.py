"""The unit dashboard's picker (formatting.unit_options) is the template loop it replaced:
same markup, same escaping, the page's unit selected."""
from __future__ import annotations

from types import SimpleNamespace

from jinja2 import Environment

from survey.dashboards.formatting import unit_options

LOOP = ('{% for u in units %}<option value="{{ u.id }}"{% if u.id == unit.id %} selected{% endif %}>'
        '{{ u.code }} – {{ u.name }}</option>{% endfor %}')


def test_unit_options_are_the_template_loop_escaped_alike():
    units = [SimpleNamespace(id=1, code="T", name="Tỉnh <Hòa> & \"Bình\""),
             SimpleNamespace(id=17, code="X'01", name="Xã Yên Thủy"),
             SimpleNamespace(id=3, code="P<2>", name="Phường & 'Một'")]
    loop = Environment(autoescape=True).from_string(LOOP)
    for selected in (17, 99):
        want = loop.render(units=units, unit=SimpleNamespace(id=selected))
        assert str(unit_options(units, selected)) == want
    assert "&lt;Hòa&gt; &amp; &#34;Bình&#34;" in want and ' selected' not in want

"""axe-core in a real Chromium on the pages people use most: the public results page and the
citizen form at a phone's size, the officials' dashboards at a laptop's: no serious or critical
violations. Also the dashboards' chart downloads (SVG and PNG) in the same browser.

axe-core is an npm package pinned in tools/axe/package.json + package-lock.json; `./dev test`
installs it with `npm ci --prefix tools/axe` when tools/axe/node_modules is missing.
"""
from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from survey.extensions import db
from tests.results.test_results import _seed
from tests.test_browser import browser, live_server, sign_in  # noqa: F401  (shared fixtures)

AXE = Path(__file__).resolve().parents[2] / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1280, "height": 900}}
OFFICIAL_PAGES = ("/quan-ly/", "/quan-ly/bang-dieu-khien/?period=2026-H2",
                  "/quan-ly/bang-dieu-khien/so-sanh?period=2026-H2")

pytestmark = [pytest.mark.browser,
              # The markup is the same on either database; one is enough for a browser run.
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci --prefix tools/axe` (./dev test does it)")
    return AXE.read_text(encoding="utf-8")


def violations(page, axe_source: str) -> list[dict]:
    """The serious and critical axe-core violations of the page as it stands (WCAG 2.1 A/AA)."""
    page.add_script_tag(content=axe_source)
    result = page.evaluate("""async () => await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations']})""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in BLOCKING]


def new_page(browser, **options):  # noqa: F811
    # bypass_csp: axe-core is injected as an inline script, which the site's CSP rightly refuses.
    context = browser.new_context(bypass_csp=True, locale="vi-VN", accept_downloads=True, **options)
    return context, context.new_page()


def test_public_results_page_on_a_phone(app, live_server, browser, axe_source):  # noqa: F811
    with app.app_context():
        _seed()
    context, page = new_page(browser, **PHONE)
    page.goto(live_server + "/ket-qua?ky=2026-H2")
    assert page.locator("h1").inner_text() == "Kết quả khảo sát sự hài lòng"
    found = violations(page, axe_source)
    context.close()
    assert found == [], json.dumps(found, ensure_ascii=False, indent=1)


def test_citizen_form_and_thanks_page_on_a_phone(app, live_server, browser, counter, axe_source):  # noqa: F811
    context, page = new_page(browser, **PHONE)
    page.goto(live_server + counter.url)
    found = violations(page, axe_source)
    # The captions under the five-point scale are at least 14 px.
    sizes = page.eval_on_selector_all(".scale span", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 14, sizes
    page.goto(live_server + counter.url.rstrip("/") + "/cam-on")
    found += violations(page, axe_source)
    assert page.get_by_role("link", name="Xem kết quả khảo sát sự hài lòng của tỉnh").count() == 1
    context.close()
    assert found == [], json.dumps(found, ensure_ascii=False, indent=1)


def test_officials_dashboards_and_chart_downloads(app, live_server, browser, axe_source, tmp_path):  # noqa: F811
    from survey.services.demo_responses import seed_demo_responses

    with app.app_context():
        seed_demo_responses(n_per_unit=40, periods=("2026-H1", "2026-H2"))
        db.session.commit()
    context, page = new_page(browser, **LAPTOP)
    sign_in(page, live_server, "analyst")
    found = []
    for path in OFFICIAL_PAGES:
        page.goto(live_server + path)
        found += [dict(v, page=path) for v in violations(page, axe_source)]

    # Chart downloads: buttons added by static/charts.js under each chart.
    page.goto(live_server + "/quan-ly/bang-dieu-khien/?period=2026-H2")
    figure = page.locator('figure[data-name="chi-so-thanh-phan"]')
    with page.expect_download() as svg_info:
        figure.get_by_role("button", name="Tải biểu đồ (SVG)").click()
    assert svg_info.value.suggested_filename == "chi-so-thanh-phan.svg"
    svg = ElementTree.parse(svg_info.value.path()).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and float(svg.get("width")) > 500
    with page.expect_download() as png_info:
        figure.get_by_role("button", name="Tải biểu đồ (PNG)").click()
    assert png_info.value.suggested_filename == "chi-so-thanh-phan.png"
    png = Path(png_info.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    # The chart fills its card: wider than half the laptop's screen.
    assert page.locator('figure[data-name="dien-bien"] svg').bounding_box()["width"] > 640
    context.close()
    assert found == [], json.dumps(found, ensure_ascii=False, indent=1)


def test_the_check_finds_what_it_should(app, browser, axe_source):  # noqa: F811
    """The harness itself: a form field without a label and grey-on-grey text are caught."""
    context, page = new_page(browser, **PHONE)
    page.set_content('<html lang="vi"><head><title>t</title></head><body><main>'
                     '<p style="color:#bbb;background:#ccc">Chữ mờ</p><input type="text"></main></body></html>')
    found = {v["id"] for v in violations(page, axe_source)}
    context.close()
    assert {"label", "color-contrast"} <= found, found

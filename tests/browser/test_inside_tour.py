"""A real browser visits Math, Learning dynamics and Lab (the "Inside the network" section) on
the notebook's run, checks a number on each, and takes their screenshots."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_tour import go

pytestmark = pytest.mark.browser


def test_inside_the_network_tour(page, cold_app_url):
    # A server of its own: the shared one's run store is counted by the sweep tour.
    app_url = cold_app_url
    # Home first (see test_tour: a fresh server's first session opened elsewhere gets a modal).
    page.goto(app_url)
    page.get_by_text("Where to go").first.wait_for()
    page.locator(".st-key-home_train button").click()
    page.get_by_text("Dev accuracy", exact=True).first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)

    go(page, "Math", "Forward propagation")
    page.get_by_text(
        re.compile(r"After this one step .* the loss on this image goes from")
    ).first.wait_for()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').nth(10).wait_for()
    loss = page.get_by_text(re.compile(r"loss for this image: \d+\.\d{4}")).first.inner_text()
    assert re.search(r"\d+\.\d{4}", loss)
    # what the page writes holds as written: -log(p) = L, and "from a to b (down c)"
    tex = page.locator('annotation[encoding="application/x-tex"]').all_text_contents()
    p, written_loss = re.search(r"-\\log\(([\d.]+)\) = ([\d.]+)", "".join(tex)).groups()
    assert f"{-math.log(float(p)):.4f}" == written_loss, (p, written_loss)
    step = page.get_by_text(re.compile(r"After this one step")).first.inner_text()
    a, b, c = re.search(r"from ([\d.]+) to ([\d.]+) \((?:down|up) ([\d.]+)\)", step).groups()
    assert abs(Decimal(a) - Decimal(b)) == Decimal(c), step
    page.locator(".katex").nth(12).wait_for()  # st.latex renders with KaTeX
    assert page.locator(".katex-error").count() == 0
    query = parse_qs(urlsplit(page.url).query)
    assert query["at"] == ["500"] and query["image"] == ["0"], page.url
    screenshot(page, "math")

    go(page, "Learning dynamics", "When was each digit learned?")
    page.get_by_text(re.compile(r"\d reaches 80% at iteration [\d,]+")).first.wait_for()
    page.locator(".st-key-map .main-svg").first.wait_for()
    # Click a point of the PCA map (the chart keyed "map"): its image is shown beside the map.
    # The point's pixel position comes from the chart's own axes (plotly's l2p), not from
    # guessing; the chart is scrolled into the viewport first (a mouse click does not scroll).
    page.locator(".st-key-map").scroll_into_view_if_needed()
    where = page.evaluate(
        """() => {
            const gd = document.querySelector('.st-key-map .js-plotly-plot');
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, t = gd._fullData[0];
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.l2p(t.x[0]), box.top + ya._offset + ya.l2p(t.y[0])];
        }"""
    )
    page.mouse.move(*where)
    page.mouse.click(*where)
    page.get_by_text("Open it on the Math page").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    title = page.evaluate("() => document.querySelector('.st-key-map_image .gtitle')?.textContent")
    assert re.fullmatch(r"dev image \d+: digit \d, said \d", title or ""), title
    page.mouse.move(0, 0)
    screenshot(page, "dynamics")
    # ... and its link opens that image on the Math page at the same iteration
    index = re.match(r"dev image (\d+)", title).group(1)
    page.get_by_text("Open it on the Math page").first.click()
    page.get_by_text(f"dev image {index} (true digit").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["image"] == [index] and query["at"] == ["500"], page.url

    go(page, "Lab", "Switch hidden units off")
    # a link with units off and a corruption, as someone would share it
    parts = urlsplit(page.url)
    settings = {k: v for k, v in parse_qs(parts.query).items() if k not in ("corrupt", "level")}
    link = {**settings, "off": ["1,4,7"], "corrupt": ["rotate"], "level": ["30"]}
    page.goto(f"{parts.scheme}://{parts.netloc}/lab?{urlencode(link, doseq=True)}")
    page.get_by_text(re.compile(r"Dev accuracy [\d.]+% → [\d.]+%")).first.wait_for()
    page.get_by_text(re.compile(r"rotate at 30: dev accuracy")).first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    page.locator('[data-testid="stPlotlyChart"] .main-svg').nth(3).wait_for()
    query = parse_qs(urlsplit(page.url).query)
    assert query["off"] == ["1,4,7"] and query["corrupt"] == ["rotate"], page.url
    screenshot(page, "lab")

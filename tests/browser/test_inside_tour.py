"""A real browser visits Math, Learning dynamics and Lab (the "Inside the network" section) on
the notebook's run, checks a number on each, and takes their screenshots."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_tour import go

pytestmark = pytest.mark.browser


def test_inside_the_network_tour(page, app_url):
    # Home first (see test_tour: a fresh server's first session opened elsewhere gets a modal).
    page.goto(app_url)
    page.get_by_text("Where to go").first.wait_for()
    page.locator(".st-key-home_train button").click()
    page.get_by_text("Dev accuracy").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)

    go(page, "Math", "Forward propagation")
    page.get_by_text(
        re.compile(r"After this one step .* the loss on this image goes from")
    ).first.wait_for()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').nth(10).wait_for()
    loss = page.get_by_text(re.compile(r"loss for this image: \d+\.\d{4}")).first.inner_text()
    assert re.search(r"\d+\.\d{4}", loss)
    assert page.locator(".katex").count() >= 13  # st.latex renders with KaTeX
    query = parse_qs(urlsplit(page.url).query)
    assert query["at"] == ["500"] and query["image"] == ["0"], page.url
    screenshot(page, "math")

    go(page, "Learning dynamics", "When was each digit learned?")
    page.get_by_text(re.compile(r"\d passes 80% at iteration [\d,]+")).first.wait_for()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').nth(3).wait_for()
    screenshot(page, "dynamics")

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

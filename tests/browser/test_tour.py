"""A real browser tour: train with the notebook's settings, visit every screen, click a
confusion-matrix cell, and reopen the run by permalink in a fresh browser context.

Screenshots of every page go to <repo>/screenshots/<page>.png (looked at by a person, not diffed).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def go(page, title: str, expect: str) -> None:
    """Click a page in the sidebar navigation and wait for a text of that page."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).first.click()
    page.get_by_text(expect).first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)


def click_cell(page, chart, true: int, pred: int, k: int = 10) -> None:
    """Click the centre of confusion-matrix cell (true, pred): the plot area is the chart's
    .nsewdrag rectangle; rows go down from 0 at the top, columns right from 0."""
    box = chart.locator(".nsewdrag").first.bounding_box()
    x = box["x"] + (pred + 0.5) / k * box["width"]
    y = box["y"] + (true + 0.5) / k * box["height"]
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def test_tour(page, app_url, browser):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("watch a neural network learn").first.wait_for()
    assert_no_exception(page)

    # Home: one click trains the notebook's network and shows the headline numbers.
    page.locator(".st-key-home_train button").click()
    page.get_by_text("Dev accuracy", exact=True).first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    dev_accuracy = metric(page, "Dev accuracy")
    assert re.fullmatch(r"\d+\.\d%", dev_accuracy), dev_accuracy
    assert float(dev_accuracy[:-1]) > 70
    train_accuracy = metric(page, "Train accuracy")
    screenshot(page, "home")

    # Train: the same run, now served from the cache, with its curves and a permalink.
    go(page, "Train", "served from the run cache")
    assert metric(page, "Dev accuracy") == dev_accuracy
    # the curves (their chart library is fetched the first time a page draws a chart: Home's
    # short run drew none, see ui.session.CHART_FIRST_SECONDS)
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    code = page.locator('[data-testid="stCode"]').filter(has_text="hidden=").first
    code.wait_for()  # drawn after the metrics: wait for its text, not for the element
    permalink = code.inner_text().strip()
    query = parse_qs(urlsplit(permalink).query)
    assert (
        query["hidden"] == ["10"] and query["alpha"] == ["0.1"] and query["iterations"] == ["500"]
    )
    screenshot(page, "train")

    go(page, "Data", "Images per digit")
    screenshot(page, "data")

    go(page, "Weights", "What each hidden unit looks for")
    screenshot(page, "weights")

    go(page, "Evaluate", "Confusion matrix")
    screenshot(page, "evaluate")
    # The most confused pair, as the page lists it: "true 4 read as 9: 12 images (…)".
    first_pair = page.get_by_text(re.compile(r"true \d read as \d: \d+ images")).first.inner_text()
    t, p, n = map(int, re.search(r"true (\d) read as (\d): (\d+) images", first_pair).groups())
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    click_cell(page, chart, t, p)

    # Mistakes: exactly that pair, in the URL and on the page.
    page.get_by_text(f"{n} mistakes").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["true"] == [str(t)] and query["pred"] == [str(p)], page.url
    assert urlsplit(page.url).path.endswith("/mistakes")
    page.get_by_text(f"true {t} predicted as {p}").first.wait_for()
    if n >= 2:
        # Click the second image of the gallery: it becomes the one shown large.
        title = "() => document.querySelector('.st-key-big .gtitle')?.textContent"
        before = page.evaluate(title)
        assert before and before.startswith("dev image")
        tiles = page.locator('.st-key-gallery [class*="st-key-gallery_pick_"] button:visible')
        tiles.nth(1).click()
        page.wait_for_function(f"(before) => ({title})() && ({title})() !== before", arg=before)
        wait_for_app(page)
        assert_no_exception(page)
        page.mouse.move(0, 0)  # no hover label in the screenshot
    screenshot(page, "mistakes")

    # A permalink opened in a fresh browser (no session, no cookies) shows the same numbers.
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = fresh.new_page()
        other.set_default_timeout(60_000)
        other.goto(permalink)
        other.get_by_text("Dev accuracy", exact=True).first.wait_for()
        wait_for_app(other)
        assert_no_exception(other)
        assert metric(other, "Dev accuracy") == dev_accuracy
        assert metric(other, "Train accuracy") == train_accuracy
    finally:
        fresh.close()


def test_training_grows_live_and_stop_keeps_the_partial_run(page, app_url):
    """A long run shows its progress and curves while it trains; Stop ends it, the partial run is
    kept as "stopped", and Train continues it from there."""
    # Start on Home: the first session of a fresh server opened directly on another page gets a
    # spurious "Page not found" modal (streamlit/streamlit#9992) that blocks clicks.
    page.goto(app_url)
    page.get_by_text("Where to go").first.wait_for()
    go(page, "Train", "Learning rate alpha")
    page.locator(".st-key-w_iterations input").fill("4000")
    page.locator(".st-key-w_iterations input").press("Enter")
    page.wait_for_url(re.compile(r"iterations=4000"))
    wait_for_app(page)
    page.locator(".st-key-train button").click()
    # progress, and the live chart (first drawn 2 s in, then every >= 25 iterations and 0.8 s)
    page.get_by_text(re.compile(r"iteration 1,\d{3} of 4,000")).first.wait_for()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    screenshot(page, "train_live")
    page.locator(".st-key-stop button").first.click()
    warning = page.get_by_text(re.compile(r"stopped at iteration [\d,]+ of 4,000", re.I)).first
    warning.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    stopped_at = int(
        re.search(r"iteration ([\d,]+)", warning.inner_text()).group(1).replace(",", "")
    )
    assert 0 < stopped_at < 4000

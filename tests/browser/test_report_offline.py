"""The run report, downloaded from Evaluate, opens in Chromium with the network off and draws
every chart: plotly's JavaScript and the images are inside the one file."""

import re

import pytest

from tests.browser.conftest import SCREENSHOTS, assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_the_report_downloads_and_opens_offline(page, browser, cold_app_url, tmp_path):
    # a server of its own: the run trained here must not show up in the other tours' run counts
    page.goto(f"{cold_app_url}/evaluate?data=sample&hidden=10&alpha=0.1&iterations=40&seed=0")
    page.get_by_role("tab", name="Take it with you").wait_for()
    wait_for_app(page)
    page.get_by_role("tab", name="Take it with you").click()  # drawn only when opened
    page.get_by_role("button", name=re.compile("Run report")).wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    screenshot(page, "evaluate-downloads")
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile("Run report")).click()
    download = info.value
    assert download.suggested_filename == "nnmath-h10-a0.1-i40-s0-report.html"
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    context = browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
    try:
        blocked, errors = [], []
        context.route(
            re.compile(r"^(?!file:|data:).*"),
            lambda route: (blocked.append(route.request.url), route.abort()),
        )
        report = context.new_page()
        report.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        report.on("pageerror", lambda e: errors.append(str(e)))
        report.goto(path.as_uri())
        for div in ("training-curves", "confusion-matrix", "per-digit", "hidden-units"):
            report.locator(f"#{div} .main-svg").first.wait_for()
        assert report.locator(".plotly .main-svg").count() >= 8  # two layers per chart
        assert report.locator("#training-curves .scatterlayer .trace").count() == 3
        assert report.locator(
            "#confusion-matrix .heatmaplayer image, #confusion-matrix .hm"
        ).count()
        images = report.locator("figure.digit img")
        assert images.count() == 24
        assert report.evaluate(
            "() => [...document.images].every(i => i.complete && i.naturalWidth === 84)"
        )
        assert report.get_by_text("40 iterations").first.is_visible()
        assert blocked == [] and errors == []
        SCREENSHOTS.mkdir(exist_ok=True)
        report.screenshot(path=str(SCREENSHOTS / "report-offline.png"), full_page=True)
    finally:
        context.close()

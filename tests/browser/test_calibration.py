"""The Confidence section of Evaluate in a real browser: reliability diagrams before and after
temperature scaling, the threshold slider, and its link to the confident mistakes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import SCREENSHOTS, assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser

RUN = "data=sample&hidden=10&alpha=0.1&iterations=500&seed=0"


def test_confidence_section_and_confident_mistakes(page, cold_app_url):
    # A server of its own: the run trained here must not appear in the shared server's store,
    # whose run counts other browser tests check.
    page.goto(f"{cold_app_url}/evaluate?{RUN}")  # a permalink: the run is trained, then shown
    page.get_by_role("tab", name="Confidence").wait_for()
    wait_for_app(page)
    page.get_by_role("tab", name="Confidence").click()  # drawn only when opened
    page.get_by_text("Can you trust the percentages?").wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    diagrams = page.locator('[data-testid="stHorizontalBlock"]').filter(
        has_text="After temperature scaling"
    )
    diagrams.last.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(exist_ok=True)
    diagrams.last.screenshot(path=str(SCREENSHOTS / "calibration.png"))
    page.get_by_text("fitted on half A (applied to half B)").first.wait_for()
    assert page.get_by_text("fitted on half A (applied to half B)").count() == 1
    screenshot(page, "evaluate_confidence")  # the whole page, for a person to look at

    link = page.get_by_role("link", name="confident mistakes (confidence ≥ 90%)")
    label = link.inner_text()
    count = int(label.split("See the ")[1].split(" confident")[0].replace(",", ""))
    link.click()
    page.get_by_text("Confidence at least").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["min_conf"] == ["0.90"] and "true" not in query and "pred" not in query
    if count:
        page.get_by_text(f"{count:,} mistakes").first.wait_for()
    else:
        page.get_by_text("No mistakes with confidence ≥ 90%").first.wait_for()

"""A permalink is often the first page a fresh server ever serves (a shared link to a hosted demo
that just woke up). It must open that page with its run, and no "Page not found" dialog."""

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser


def test_permalink_as_the_first_visit_of_a_fresh_server(page, cold_app_url):
    page.goto(f"{cold_app_url}/evaluate?data=sample&hidden=10&alpha=0.1&iterations=30&seed=0")
    page.get_by_text("Most confused pairs").wait_for()
    page.get_by_text("30 iterations").first.wait_for()
    wait_for_app(page)
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator('[role="dialog"]').count() == 0
    assert_no_exception(page)
    # The router ran: the sidebar lists our pages, with Evaluate as the current one.
    # (Streamlit's legacy pages/ mode would list the files instead: "streamlit app", "evaluate", ...)
    nav = page.locator('[data-testid="stSidebarNav"]')
    for title in ("Home", "Mistakes", "Sweep"):
        assert nav.get_by_text(title, exact=True).count() == 1, nav.inner_text()
    assert nav.get_by_text("streamlit app").count() == 0

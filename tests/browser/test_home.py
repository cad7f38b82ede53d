"""The served app's home page renders in Chromium: the smoke test of the foundation."""

import urllib.request

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_health_endpoint_answers(app_url):
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=10) as response:
        assert response.status == 200
        assert response.read().decode().strip() == "ok"


def test_home_renders_with_every_page_in_the_sidebar(page, app_url):
    page.goto(app_url)
    page.get_by_text("watch a neural network learn handwritten digits").first.wait_for()
    page.get_by_text("MNIST sample").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    links = [t.strip() for t in nav.locator("a").all_inner_texts()]
    for title in ("Data", "Train", "Evaluate", "Mistakes", "Weights", "Runs", "Sweep", "Compare"):
        assert sum(title in link for link in links) == 1, (title, links)
    screenshot(page, "home")

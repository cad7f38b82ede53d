"""Issue 21 in Chromium: the tab's icon comes from this server (nothing fetched from the internet
on load), and a glossary link opens on its term with every formula
typesets."""

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import SCREENSHOTS, assert_no_exception, screenshot, wait_for_app
from views.glossary import TERMS

pytestmark = pytest.mark.browser


def test_the_favicon_is_served_by_the_app_and_nothing_leaves_the_machine(page, app_url):
    outside = []
    page.on(
        "request",
        lambda r: (
            urlparse(r.url).hostname not in (None, "127.0.0.1", "localhost")
            and outside.append(r.url)
        ),
    )
    page.goto(app_url)
    page.get_by_text("watch a neural network learn handwritten digits").first.wait_for()
    wait_for_app(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('link[rel~=icon]')]"
        ".some(l => l.href.includes('/media/'))"
    )
    icons = page.eval_on_selector_all("link[rel~=icon]", "ls => ls.map(l => l.href)")
    assert icons and all(urlparse(h).hostname == urlparse(app_url).hostname for h in icons), icons
    response = page.request.get(icons[-1])
    assert response.ok and response.headers["content-type"] == "image/png"
    assert not outside, outside


def test_a_glossary_link_opens_on_its_term_with_its_formula(page, app_url):
    page.goto(f"{app_url}/glossary#ece")
    heading = page.locator("#ece")
    heading.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    page.wait_for_function(
        "() => { const r = document.querySelector('#ece').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }"
    )
    assert TERMS["ece"].name in heading.inner_text()
    formulas = [t for t in TERMS.values() if t.formula != "no formula"]
    page.locator(".katex").nth(len(formulas) - 1).wait_for()  # one per formula, typeset
    assert page.locator(".katex-error").count() == 0  # every formula typesets
    screenshot(page, "glossary")


def test_the_coach_links_the_next_step_after_a_short_run(page, cold_app_url):
    # a server of its own: on the shared one another test may have cached this run longer
    app_url = cold_app_url
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/train?data=sample&hidden=10&alpha=0.1&iterations=60&seed=0")
    page.get_by_text("What happened:").first.wait_for()
    wait_for_app(page)
    box = page.locator(".st-key-coach")
    assert "still rising at the end" in box.inner_text()
    box.screenshot(path=str(SCREENSHOTS / "coach.png"))
    box.get_by_role("button", name="Continue to 120 iterations").click()
    page.get_by_text("Press Train to continue from there").first.wait_for()
    assert "iterations=120" in page.url
    assert_no_exception(page)


def test_homes_coach_links_train_with_the_next_settings(page, cold_app_url):
    app_url = cold_app_url  # as above: no longer run of these settings cached by another test
    page.goto(app_url)
    wait_for_app(page)
    query = "data=sample&hidden=10&alpha=0.1&iterations=60&seed=0"
    page.goto(f"{app_url}/train?{query}")  # Home shows a cached run: have it trained
    page.get_by_text("What happened:").first.wait_for()
    page.goto(f"{app_url}/?{query}")
    page.get_by_text("What happened:").first.wait_for()
    wait_for_app(page)
    page.locator(".st-key-coach").get_by_text("Continue to 120 iterations").click()
    # a link from a session opened by a link: Train continues the run at once, as a permalink does
    page.get_by_text("Trained 120 iterations").first.wait_for()
    assert "/train?" in page.url and "iterations=120" in page.url
    assert_no_exception(page)

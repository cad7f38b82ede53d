"""A teacher's link in a real browser: locked controls are disabled, hidden ones absent, and with
?embed=true (st.context.is_embedded) the page is compact: no sidebar, no links."""

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser

EXERCISE = (
    "/train?data=sample&hidden=32&alpha=0.1&iterations=40&seed=0"
    "&lock=hidden,seed,iterations&hide=advanced"
)


def test_a_teachers_link_leaves_only_alpha_to_change(page, app_url):
    page.goto(app_url + EXERCISE)
    page.get_by_text(
        "Dev accuracy", exact=True
    ).wait_for()  # trained, or served if the other test ran first
    wait_for_app(page)
    assert_no_exception(page)
    page.get_by_text("Set for this exercise: hidden units 32, iterations 40, seed 0.").wait_for()
    assert page.get_by_role("spinbutton", name="Hidden units").is_disabled()
    assert page.get_by_role("spinbutton", name="Seed").is_disabled()
    assert page.get_by_text("Advanced: initialisation").count() == 0
    assert page.get_by_role("slider").is_enabled()  # alpha
    assert page.locator('[data-testid="stSidebarNav"]').count() == 1
    assert (
        "lock=hidden%2Citerations%2Cseed" in page.url or "lock=hidden,iterations,seed" in page.url
    )


def test_embedded_the_exercise_is_compact(page, app_url):
    page.goto(app_url + EXERCISE + "&embed=true")
    page.get_by_text(
        "Dev accuracy", exact=True
    ).wait_for()  # trained, or served if the other test ran first
    wait_for_app(page)
    assert_no_exception(page)
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.get_by_text("Link to this run").count() == 0
    assert page.get_by_text("Pick the settings, press Train").count() == 0
    assert page.get_by_role("spinbutton", name="Hidden units").is_disabled()
    screenshot(page, "train_exercise_embedded")

"""Links to other pages are read whole on a phone (390x844): their labels wrap onto a second
line instead of being cut at the screen's edge (Home's "Where to go", where each link says what
the page answers). Screenshot: <repo>/screenshots/phone_home_links.png."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE, assert_no_exception, new_page, screenshot, wait_for_app
from tests.browser.test_phone import cut_off

pytestmark = pytest.mark.browser


def test_every_page_link_on_home_is_whole_on_a_phone(browser, looks_app_url):
    with new_page(browser, **PHONE) as page:
        page.goto(looks_app_url)
        page.get_by_text("Where to go").wait_for()
        wait_for_app(page)
        assert_no_exception(page)
        links = page.locator('[data-testid="stMain"] [data-testid="stPageLink"]')
        assert links.count() >= 18  # the lessons link and one per page
        clipped = [links.nth(i).inner_text() for i in range(links.count()) if cut_off(links.nth(i))]
        assert not clipped, clipped
        screenshot(page, "phone_home_links")

"""Text is read whole on a phone (390x844): links to other pages wrap onto a second line instead
of being cut at the screen's edge (Home's "Where to go", where each link says what the page
answers), and chart titles fit inside their charts (Math's bars, Sweep's grid, Compare's
confusion change and galleries), their details on a line of their own; the Race's legend sits
above its curves, not over them.
Screenshots: <repo>/screenshots/phone_home_links.png, phone_math.png, phone_compare.png,
phone_race.png."""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    NOTEBOOK,
    PHONE,
    new_page,
    screenshot,
    wait_for_charts,
)
from tests.browser.test_phone import cut_off, open_page
from ui.navigation import PAGES

pytestmark = pytest.mark.browser


def clipped_titles(page) -> list[str]:
    """Chart titles and subtitles that run past the left or right edge of their chart."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].flatMap(c => {
             const box = c.getBoundingClientRect();
             return [...c.querySelectorAll('.gtitle, .gtitle-subtitle')].filter(t => {
               const r = t.getBoundingClientRect();
               return r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1);
             }).map(t => t.textContent.trim());
           })"""
    )


def test_every_page_link_on_home_is_whole_on_a_phone(browser, looks_app_url):
    with new_page(browser, **PHONE) as page:
        open_page(page, looks_app_url, "Where to go")
        # the links arrive after the heading: wait for the last one (Teacher's) before counting
        page.get_by_text(PAGES[-1].question).wait_for()
        links = page.locator('[data-testid="stMain"] [data-testid="stPageLink"]')
        assert links.count() >= 18  # the lessons link and one per page
        clipped = [links.nth(i).inner_text() for i in range(links.count()) if cut_off(links.nth(i))]
        assert not clipped, clipped
        screenshot(page, "phone_home_links")


def test_chart_titles_fit_their_charts_on_a_phone(browser, looks_app_url):
    with new_page(browser, **PHONE) as page:
        open_page(page, f"{looks_app_url}/math?{NOTEBOOK}", "Backward propagation")
        page.locator(".gtitle", has_text="Z1 per hidden unit").first.wait_for()
        wait_for_charts(page)
        assert not clipped_titles(page), clipped_titles(page)
        screenshot(page, "phone_math")
        # the grid holds the notebook's run: its title names the best cell
        open_page(page, f"{looks_app_url}/sweep?{NOTEBOOK}", "The grid at a glance")
        page.locator(".gtitle-subtitle", has_text="best").wait_for()
        wait_for_charts(page)
        assert not clipped_titles(page), clipped_titles(page)
        # a second run, then the two side by side
        open_page(page, f"{looks_app_url}/train?hidden=12&iterations=50", "Dev accuracy")
        open_page(page, f"{looks_app_url}/compare", "What B fixed, what B broke")
        page.locator(".gtitle-subtitle", has_text="blue = better").wait_for()
        wait_for_charts(page)
        assert not clipped_titles(page), clipped_titles(page)
        screenshot(page, "phone_compare")


def test_the_race_legend_is_clear_of_the_curves_on_a_phone(browser, looks_app_url):
    with new_page(browser, **PHONE) as page:
        open_page(page, f"{looks_app_url}/race?iterations=60", "finished first")
        chart = page.locator(".st-key-race_curves")
        chart.locator(".legend").wait_for()
        legend = chart.locator(".legend").bounding_box()
        plot = chart.locator(".nsewdrag").first.bounding_box()  # the loss panel's plot area
        assert legend["y"] + legend["height"] <= plot["y"] + 1, (legend, plot)
        screenshot(page, "phone_race")

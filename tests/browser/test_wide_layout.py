"""A desktop's width used, a phone's kept (1280x900 and 390x844): Compare's two galleries (what B
fixed, what B broke) sit side by side on a desktop and fill their width, one under the other on a
phone; with 64 hidden units Weights' W2 ends where the tiles beside it end; Evaluate's per-digit
table is as wide as the bars above it.

Screenshots: <repo>/screenshots/{desktop,phone}_compare_galleries.png,
{desktop,phone}_weights_64_beside.png, {desktop,phone}_evaluate_per_digit.png (looked at by a
person, not diffed).
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import NOTEBOOK, new_page, screenshot
from tests.browser.test_phone import SCREENS, open_page

pytestmark = pytest.mark.browser


def box(page, selector: str) -> dict:
    """The bounding box of the first element matching ``selector``."""
    return page.locator(selector).first.bounding_box()


def mosaic_box(page, key: str) -> dict:
    """Where the mosaic of the chart under ``.st-key-<key>`` (a heatmap, its first trace) is
    drawn: x and width on the screen. A square-pixel mosaic (scaleanchor) in a wide chart keeps
    the plot area's width and widens the axis range around it, so the plot area says nothing."""
    return page.evaluate(
        """(key) => { const c = document.querySelector(`.st-key-${key} .js-plotly-plot`);
                      const xa = c._fullLayout.xaxis, n = c._fullData[0].z[0].length;
                      const left = c.getBoundingClientRect().left + xa._offset;
                      const a = left + xa.l2p(-0.5), b = left + xa.l2p(n - 0.5);
                      return { x: Math.min(a, b), width: Math.abs(b - a) }; }""",
        key,
    )


@pytest.mark.parametrize("screen", list(SCREENS))
def test_compare_galleries_fill_the_width(browser, looks_app_url, screen):
    wide = SCREENS[screen]["viewport"]["width"]
    with new_page(browser, **SCREENS[screen]) as page:
        # two runs of the sample to compare (cached if another test trained them)
        open_page(page, f"{looks_app_url}/train?hidden=12&iterations=50", "Dev accuracy")
        open_page(page, f"{looks_app_url}/train?{NOTEBOOK}", "Dev accuracy")
        open_page(page, f"{looks_app_url}/compare", "What B fixed, what B broke")
        for key in ("cmp_fixed", "cmp_broke"):  # may still be arriving after the text
            page.locator(f".st-key-{key} .nsewdrag").wait_for()
        fixed, broke = (
            box(page, f".st-key-{k} .js-plotly-plot") for k in ("cmp_fixed", "cmp_broke")
        )
        plots = [mosaic_box(page, k) for k in ("cmp_fixed", "cmp_broke")]
        screenshot(page, f"{screen}_compare_galleries")
    problems = []
    if screen == "desktop":
        if not (abs(fixed["y"] - broke["y"]) < 2 and fixed["x"] + fixed["width"] <= broke["x"]):
            problems.append(f"the galleries are not side by side: {fixed}, {broke}")
    elif broke["y"] < fixed["y"] + fixed["height"]:
        problems.append(f"on a phone the galleries are not one under the other: {fixed}, {broke}")
    for name, chart, plot in zip(("fixed", "broken"), (fixed, broke), plots):
        # the tiles span most of their chart: no strip down the middle of it
        if plot["width"] < 0.8 * chart["width"]:
            problems.append(
                f"{name}: tiles {plot['width']:.0f} px wide in a {chart['width']:.0f} px chart"
            )
        if plot["x"] + plot["width"] > wide:
            problems.append(f"{name}: the tiles run past the screen's edge: {plot}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_weights_w2_ends_with_the_tiles_at_64_units(browser, looks_app_url, screen):
    """With 64 hidden units W2 beside the tiles (a desktop) ends about where they end; on a
    phone, under them, it is as tall, and the tiles keep their size (test_phone checks it)."""
    url = f"{looks_app_url}/weights?{NOTEBOOK}".replace("hidden=10", "hidden=64")
    with new_page(browser, **SCREENS[screen]) as page:
        open_page(page, url, "What each hidden unit looks for")
        page.locator(".st-key-w2 .nsewdrag").wait_for()  # may arrive after the text
        tiles, w2 = (box(page, f".st-key-{k} .js-plotly-plot") for k in ("w1", "w2"))
        screenshot(page, f"{screen}_weights_64_beside")
    if screen == "desktop":
        assert abs(w2["x"] - (tiles["x"] + tiles["width"])) < 100, (tiles, w2)  # beside
        gap = tiles["y"] + tiles["height"] - (w2["y"] + w2["height"])
        assert abs(gap) < 0.1 * tiles["height"], f"the tiles end {gap:.0f} px below W2"
    else:
        assert w2["y"] >= tiles["y"] + tiles["height"], (tiles, w2)  # under them
        assert abs(w2["height"] - tiles["height"]) < 2, (tiles, w2)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_evaluate_per_digit_table_as_wide_as_its_bars(browser, looks_app_url, screen):
    """The per-digit table spans the width of the bars above it (at its content's 312 px it sat
    under their left end on a desktop, apart from them); test_phone checks that every column
    shows on a phone."""
    with new_page(browser, **SCREENS[screen]) as page:
        open_page(page, f"{looks_app_url}/evaluate?{NOTEBOOK}", "Per digit: precision, recall")
        # the Results tab's only table (a dataframe has no key class); it may arrive after the text
        table = page.locator('[data-testid="stDataFrame"]:visible').first
        table.wait_for()
        bars, grid = box(page, ".st-key-prf .js-plotly-plot"), table.bounding_box()
        screenshot(page, f"{screen}_evaluate_per_digit")
    assert abs(grid["x"] - bars["x"]) < 2 and abs(grid["width"] - bars["width"]) < 2, (bars, grid)

"""A phone in the hand (390x844, touch): one tap on a confusion cell opens Mistakes, the Mistakes
gallery is at most 4 tiles a row with captions that do not run together, one tap picks a tile, the
"Why" link is whole, and on Draw a finger stroke's answer shows without scrolling. On a phone and on
a desktop (1280 wide): the confusion matrix is wide enough to tap, and the charts that were crowded
on a phone (Runs, Weights, Why) keep their titles, legends and labels apart, with the Runs table's
toolbar over nothing; Evaluate's per-digit table shows every column, Weights' hidden-unit tiles
are big enough to read with their colour bar clear of them (10 and 64 units), and Lab's
robustness panels keep each axis title on one line within its panel.

Screenshots go to <repo>/screenshots/phone_*.png and desktop_*.png (looked at by a person, not
diffed).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import (
    NOTEBOOK,
    PHONE,
    SCREENSHOTS,
    assert_no_exception,
    new_page,
    screenshot,
    wait_for_app,
    wait_for_charts,
)
from tests.browser.test_looks import crowded_chart_text, toolbar_covers

pytestmark = pytest.mark.browser


def open_page(page, url: str, expect: str) -> None:
    page.goto(url)
    page.get_by_text(expect).first.wait_for()
    wait_for_app(page)
    wait_for_charts(page)
    assert_no_exception(page)


def boxes(locator) -> list[dict]:
    return [locator.nth(i).bounding_box() for i in range(locator.count())]


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def cut_off(locator) -> bool:
    """True when the element's text is clipped: the element or a part of it is wider than its
    box (an ellipsis, hidden overflow), or it runs past the right edge of the screen."""
    return locator.evaluate(
        """e => [e, ...e.querySelectorAll('*')].some(x => x.scrollWidth > x.clientWidth + 1)
                || e.getBoundingClientRect().right > window.innerWidth"""
    )


def test_phone_confusion_cell_gallery_and_why_link(browser, looks_app_url):
    with new_page(browser, **PHONE) as page:
        open_page(page, f"{looks_app_url}/evaluate?{NOTEBOOK}", "Confusion matrix")
        screenshot(page, "phone_evaluate")
        pair = page.get_by_text(re.compile(r"true \d read as \d: \d+ images")).first.inner_text()
        t, p, n = map(int, re.search(r"true (\d) read as (\d): (\d+) images", pair).groups())

        # One tap on that cell of the matrix (no hover first: a finger has none).
        chart = page.locator(".st-key-cm")
        chart.scroll_into_view_if_needed()
        area = chart.locator(".nsewdrag").first.bounding_box()
        page.touchscreen.tap(
            area["x"] + (p + 0.5) / 10 * area["width"], area["y"] + (t + 0.5) / 10 * area["height"]
        )
        page.wait_for_url(re.compile(r"/mistakes\?"))
        page.get_by_text(f"{n} mistakes").first.wait_for()
        wait_for_app(page)
        assert_no_exception(page)
        query = parse_qs(urlsplit(page.url).query)
        assert query["true"] == [str(t)] and query["pred"] == [str(p)], page.url

        # The gallery: at most 4 tiles a row, every caption whole and apart from the others.
        tiles = page.locator('.st-key-gallery [class*="st-key-gallery_tile_"]')
        tiles.nth(min(n, 30) - 1).wait_for()  # tiles may still be arriving after the text
        assert tiles.count() == min(n, 30)
        rows: dict[int, int] = {}
        for box in boxes(tiles):
            rows[round(box["y"])] = rows.get(round(box["y"]), 0) + 1
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert max(rows.values()) <= 4, rows
        assert max(rows.values()) == min(n, 4), rows
        captions = page.locator('.st-key-gallery [class*="st-key-gallery_pick_"] button:visible')
        caption_boxes = boxes(captions)
        for i, a in enumerate(caption_boxes):
            assert not cut_off(captions.nth(i)), captions.nth(i).inner_text()
            for b in caption_boxes[i + 1 :]:
                assert not overlaps(a, b), (a, b)
        assert re.fullmatch(rf"{t}→{p}\s*\d+%", captions.first.inner_text().strip())

        # One tap on the second tile's caption shows it large.
        if n >= 2:
            title = "() => document.querySelector('.st-key-big .gtitle')?.textContent"
            before = page.evaluate(title)
            captions.nth(1).tap()
            page.wait_for_function(f"(b) => ({title})() && ({title})() !== b", arg=before)
            wait_for_app(page)
            assert_no_exception(page)

        # The "Why" link is whole on the screen.
        why = page.locator('[data-testid="stPageLink"]').filter(
            has_text=re.compile(r"Why \d, not \d\?")
        )
        why.first.scroll_into_view_if_needed()
        assert not cut_off(why.first), why.first.inner_text()
        screenshot(page, "phone_mistakes")


def finger_stroke(page, canvas, points) -> None:
    """A one-finger stroke through ``points`` (pad coordinates), as touch events."""
    box = canvas.bounding_box()
    cdp = page.context.new_cdp_session(page)
    at = [{"x": box["x"] + x, "y": box["y"] + y} for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at[0]]})
    for a, b in zip(at, at[1:]):
        for k in range(1, 7):
            step = {
                "x": a["x"] + (b["x"] - a["x"]) * k / 6,
                "y": a["y"] + (b["y"] - a["y"]) * k / 6,
            }
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [step]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


SEVEN = [(70, 60), (120, 58), (170, 57), (215, 60), (190, 110), (165, 160), (145, 210), (130, 240)]


def test_phone_draw_answer_in_view_after_a_finger_stroke(browser, looks_app_url):
    with new_page(browser, **PHONE) as page:
        open_page(page, f"{looks_app_url}/draw?{NOTEBOOK}", "Draw a digit on the pad")
        pad = page.locator("canvas.upper-canvas").first
        pad.scroll_into_view_if_needed()
        finger_stroke(page, pad, SEVEN)
        answer = page.get_by_text(re.compile(r"It reads \d \(\d+%\)")).first
        answer.wait_for()
        wait_for_app(page)
        assert_no_exception(page)
        # in view where the finger left the page: no scrolling needed to read it
        box = answer.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844, box
        SCREENSHOTS.mkdir(exist_ok=True)  # what the phone shows, unscrolled
        page.screenshot(path=str(SCREENSHOTS / "phone_draw_fold.png"))
        screenshot(page, "phone_draw")


SCREENS = {"phone": PHONE, "desktop": dict(viewport={"width": 1280, "height": 900})}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_charts_roomy_and_apart_on_a_phone_and_a_desktop(browser, looks_app_url, screen):
    wide = SCREENS[screen]["viewport"]["width"]
    with new_page(browser, **SCREENS[screen]) as page:
        # Evaluate (it also trains the run the other pages show): square cells, a finger wide
        # on a phone (the matrix was 212 px wide there, beside a colour bar)
        open_page(page, f"{looks_app_url}/evaluate?{NOTEBOOK}", "Confusion matrix")
        plot = page.locator(".st-key-cm .nsewdrag").first
        plot.wait_for()
        box = plot.bounding_box()
        problems = []
        if box["width"] < (0.7 * wide if screen == "phone" else 300):
            problems.append(
                f"the confusion matrix is {box['width']:.0f} px wide on a {wide} px screen"
            )
        if abs(box["width"] - box["height"]) > 2:
            problems.append(f"the confusion matrix is not square: {box}")
        screenshot(page, f"{screen}_evaluate")

        # Runs: the parallel coordinates' labels (drawn after the chart's frame, the last one
        # "dev accuracy"), and the table's toolbar, which covered the search box
        open_page(page, f"{looks_app_url}/runs?{NOTEBOOK}", "cached run(s)")
        page.locator(".st-key-runs_parcoords .axis-title", has_text="accuracy").wait_for()
        problems += crowded_chart_text(page)
        table = page.locator('[data-testid="stDataFrame"]').first
        problems += [f"the table's toolbar covers {c}" for c in toolbar_covers(page, table)]
        screenshot(page, f"{screen}_runs")

        # Weights: the two histograms' axis titles
        open_page(page, f"{looks_app_url}/weights?{NOTEBOOK}", "Weights at the start and now")
        page.locator(".st-key-hist .g-x2title").wait_for()
        problems += crowded_chart_text(page)
        screenshot(page, f"{screen}_weights")

        # Why: the before/after legend and the chart's title
        open_page(page, f"{looks_app_url}/why?{NOTEBOOK}", "What would make it answer")
        page.locator(".st-key-cf_probs .legend").wait_for()
        problems += crowded_chart_text(page)
        screenshot(page, f"{screen}_why")
    assert not problems, "\n".join(problems)


def table_scrolls_sideways(table) -> bool:
    """True when a table (st.dataframe) is wider than its box: a column is hidden until the
    reader scrolls sideways, or it runs past the right edge of the screen."""
    return table.evaluate(
        """t => { const s = t.querySelector('.dvn-scroller');
                  return s.scrollWidth > s.clientWidth + 1
                         || t.getBoundingClientRect().right > window.innerWidth; }"""
    )


def mosaic_tile_px(page, key: str) -> float:
    """On-screen width (CSS px) of one 28x28 tile of the mosaic chart under ``.st-key-<key>``:
    the plot area's width over the mosaic pixels its x axis spans (views.figures.mosaic)."""
    return page.evaluate(
        """(key) => { const c = document.querySelector(`.st-key-${key} .js-plotly-plot`);
                      const [a, b] = c._fullLayout.xaxis.range;
                      const w = c.querySelector('.nsewdrag').getBoundingClientRect().width;
                      return w * 28 / Math.abs(b - a); }""",
        key,
    )


def colorbar_over_plot(page, key: str) -> bool:
    """True when the colour bar of the chart under ``.st-key-<key>`` meets its plot area."""
    return page.evaluate(
        """(key) => { const c = document.querySelector(`.st-key-${key} .js-plotly-plot`);
                      const a = c.querySelector('.colorbar').getBoundingClientRect();
                      const b = c.querySelector('.nsewdrag').getBoundingClientRect();
                      return a.left < b.right && b.left < a.right
                             && a.top < b.bottom && b.top < a.bottom; }""",
        key,
    )


def axis_titles(page, key: str) -> list[dict]:
    """Each x axis title of the chart under ``.st-key-<key>``: its text, its number of lines,
    and whether it is wider than its subplot's plot area."""
    return page.evaluate(
        """(key) => { const c = document.querySelector(`.st-key-${key} .js-plotly-plot`);
          return [...c.querySelectorAll('.infolayer [class^="g-x"][class$="title"] text')]
            .map(t => { const axis = t.getAttribute('class').split(' ')[0].replace('title', '');
                        const plot = c.querySelector(`.${axis}y .nsewdrag, .${axis}y2 .nsewdrag,`
                          + ` .${axis}y3 .nsewdrag, .${axis}y4 .nsewdrag`);
                        const w = t.getBoundingClientRect().width;
                        return { text: t.textContent, lines: Math.max(1,
                                   t.querySelectorAll('tspan.line').length),
                                 wider: !!plot && w > plot.getBoundingClientRect().width + 1 }; });
        }""",
        key,
    )


@pytest.mark.parametrize("screen", list(SCREENS))
def test_evaluate_table_weights_tiles_and_lab_titles_fit(browser, looks_app_url, screen):
    """Evaluate's per-digit table shows every column without scrolling sideways; Weights' hidden
    unit tiles are big enough to read (they were ~24 px on a phone, ten a row), with the default
    run and with 64 hidden units, and their colour bar beside or below them, never over them;
    Lab's robustness panels keep each axis title on one line within its panel."""
    problems = []
    with new_page(browser, **SCREENS[screen]) as page:
        open_page(page, f"{looks_app_url}/evaluate?{NOTEBOOK}", "Per digit: precision, recall")
        table = page.locator('[data-testid="stDataFrame"]:visible').first
        table.scroll_into_view_if_needed()
        if table_scrolls_sideways(table):
            problems.append("the per-digit table scrolls sideways (a column is cut off)")
        screenshot(page, f"{screen}_evaluate_table")

        for hidden in (10, 64):
            url = f"{looks_app_url}/weights?{NOTEBOOK}".replace("hidden=10", f"hidden={hidden}")
            open_page(page, url, "What each hidden unit looks for")
            page.locator(".st-key-w1 .colorbar").wait_for()
            tile = mosaic_tile_px(page, "w1")
            if tile < 48:
                problems.append(f"hidden {hidden}: a hidden unit's tile is {tile:.0f} px wide")
            if colorbar_over_plot(page, "w1"):
                problems.append(f"hidden {hidden}: the colour bar is over the tiles")
            screenshot(page, f"{screen}_weights_units_{hidden}")

        open_page(page, f"{looks_app_url}/lab?{NOTEBOOK}", "Robustness: corrupted dev images")
        page.locator(".st-key-robust .g-x4title").wait_for()
        titles = axis_titles(page, "robust")
        assert len(titles) == 4, titles
        problems += [
            f"lab: axis title {t['text']!r} on {t['lines']} lines" for t in titles if t["lines"] > 1
        ]
        problems += [
            f"lab: axis title {t['text']!r} wider than its panel" for t in titles if t["wider"]
        ]
        problems += crowded_chart_text(page, ".st-key-robust")
        screenshot(page, f"{screen}_lab")
    assert not problems, "\n".join(problems)

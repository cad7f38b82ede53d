"""Draw a digit with the mouse on the real pad, see the network read it, then ask Why.

The pad (streamlit-drawable-canvas 0.13, a components-v2 element, rendered in the page itself,
not in an iframe) is a Fabric.js canvas: its upper canvas takes the mouse. Screenshots go to
<repo>/screenshots/draw.png and why.png.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser

# A 7 in pad coordinates (0..280): the top bar, then the diagonal down to the left.
SEVEN = [(70, 60), (120, 58), (170, 57), (215, 60), (190, 110), (165, 160), (145, 210), (130, 240)]


def stroke(page, canvas, points) -> None:
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=6)
    page.mouse.up()


def test_draw_a_stroke_and_see_a_prediction_then_why(page, cold_app_url):
    """On a server of its own: the run it trains must not show up in other tests' run counts."""
    app_url = cold_app_url
    # Tall enough for the whole page: the screenshot helper would otherwise resize the viewport,
    # and the pad redraws itself empty on a resize (the stroke is still what the app received).
    page.set_viewport_size({"width": 1400, "height": 1600})
    page.goto(f"{app_url}/draw?iterations=500")
    page.get_by_text("Draw a digit on the pad").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    pad = page.locator("canvas.upper-canvas").first
    assert pad.bounding_box()["width"] == 280

    stroke(page, pad, SEVEN)
    reads = page.get_by_text(re.compile(r"It reads \d \(\d+%\)")).first
    reads.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    # below the answer: it may still be arriving when the answer shows, so wait for it
    page.get_by_text("What the network sees: your drawing").first.wait_for()
    # the stroke is still on the pad after the rerun it caused (a moved pad remounts empty)
    ink = page.locator("canvas.dc-canvas.lower-canvas").first.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
                  return n; }"""
    )
    assert ink > 1000, ink
    screenshot(page, "draw")

    page.get_by_role("link", name=re.compile(r"^Why \d\?")).click()
    page.get_by_text("Completeness: the pixels' shares").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    assert "image=drawn" in page.url
    sentence = page.get_by_text("Completeness: the pixels' shares").first.inner_text()
    assert float(re.search(r"difference (\d[-+.e\d]*)", sentence).group(1)) < 1e-9, sentence
    # the sum as written adds up (or the sentence says what its written parts make)
    a, sign, b, total = re.search(
        r"pixels \+ bias = (\S+) ([+−]) (\S+) = \S+ = z\d − z\d = (\S+) ", sentence
    ).groups()
    written = Decimal(a) + (Decimal(b) if sign == "+" else -Decimal(b))
    assert written == Decimal(total) or f"add up to {written})" in sentence, sentence
    page.get_by_text(re.compile(r"What would make it answer \d\?")).first.wait_for()
    screenshot(page, "why")

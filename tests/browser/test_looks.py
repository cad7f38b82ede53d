"""Every page on a phone (390x844, touch) in the visitor's light and dark system theme: the app
follows the theme, chart text stands out from the page, no chart toolbar covers a legend, no
chart's title, legend and axis titles run into each other, a table's toolbar covers nothing, and
axe-core (run in the page, bundled by axe-playwright-python) finds no serious or critical
violation in what this project draws.

Screenshots: <repo>/screenshots/{light,dark}_<page>.png, the whole page as a phone shows it.
The violations that only Streamlit's own widgets cause are listed in STREAMLIT_OWN (and, with
their upstream issues, in docs/teaching.md, "Phones, dark mode, accessibility") and filtered
exactly: rule and element.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    NOTEBOOK,
    PHONE,
    assert_no_exception,
    new_page,
    screenshot,
    wait_for_app,
    wait_for_charts,
)
from ui.navigation import PAGES

pytestmark = pytest.mark.browser

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# (axe rule, CSS selector of Streamlit's own element the violating node is in, why). Each is
# Streamlit's markup or theme, not something this project can change from Python; see
# docs/teaching.md ("Phones, dark mode, accessibility") for the upstream issues.
STREAMLIT_OWN = (
    # The sidebar navigation's <ul> holds the section headers as <div>s, and its <li>s sit in them.
    ("list", '[data-testid="stSidebarNav"]', "section headers inside the page list"),
    ("listitem", '[data-testid="stSidebarNav"]', "section headers inside the page list"),
    # A code block or a display formula wider than a phone scrolls sideways without a tabindex
    # (Chromium lets the keyboard scroll it anyway; axe-core asks for the attribute).
    ("scrollable-region-focusable", '[data-testid="stCode"]', "st.code scrolls sideways"),
    ("scrollable-region-focusable", ".katex-display", "a wide formula scrolls sideways"),
    # A slider's value is drawn in the primary colour; in the dark theme no red reaches 4.5:1 on
    # the dark page and also carries white button text at 4.5:1.
    ("color-contrast", '[data-testid="stSliderThumbValue"]', "slider value in the primary red"),
    # The selected option of st.segmented_control is written in the primary red on a pale (light
    # theme) or dark (dark theme) tint of it, below 4.5:1 in both.
    (
        "color-contrast",
        'button[data-variant="segmented_control"][aria-checked="true"]',
        "selected segment in the primary red",
    ),
)

# Contrast of two CSS colours (WCAG 2 relative luminance), computed in the page: any colour
# syntax is read back through a 1x1 canvas; a transparent colour (fill "none") gives null.
CONTRAST_JS = """
window.__contrast = (a, b) => {
  const ctx = document.createElement('canvas').getContext('2d');
  const rgb = (c) => {
    ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = '#000'; ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return d[3] === 0 ? null : [d[0], d[1], d[2]];
  };
  const lum = (m) => m.map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((s, v, i) => s + [0.2126, 0.7152, 0.0722][i] * v, 0);
  const [p, q] = [rgb(a), rgb(b)];
  if (!p || !q || a === 'none') return null;
  const [x, y] = [lum(p), lum(q)].sort((u, v) => v - u);
  return (x + 0.05) / (y + 0.05);
};
"""


def page_background(page) -> str:
    return page.evaluate(
        """() => getComputedStyle(document.querySelector('[data-testid="stApp"]'))
                 .backgroundColor"""
    )


def weakest_chart_text(page) -> tuple[float, str] | None:
    """The lowest contrast of a chart's axis, legend or title text against the page background
    (WCAG asks 3:1 of graphics and large text), with that text; None without charts."""
    page.evaluate(CONTRAST_JS)
    return page.evaluate(
        """(bg) => {
          const sel = '.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, '
                    + '.legendtext, .gtitle, .colorbar text';
          let worst = null;
          for (const t of document.querySelectorAll('[data-testid="stPlotlyChart"] ' + sel)) {
            if (!t.textContent.trim()) continue;
            const c = window.__contrast(getComputedStyle(t).fill, bg);
            if (c !== null && (!worst || c < worst[0])) worst = [c, t.textContent.trim()];
          }
          return worst;
        }""",
        page_background(page),
    )


def toolbar_over_legend(page) -> list[str]:
    """Charts whose plotly toolbar (modebar) box meets their legend's box."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].flatMap(c => {
          const bar = c.querySelector('.modebar'), legend = c.querySelector('.legend');
          if (!bar || !legend) return [];
          const a = bar.getBoundingClientRect(), b = legend.getBoundingClientRect();
          const meet = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
          return meet ? [c.className] : [];
        })"""
    )


def crowded_chart_text(page, within: str = "") -> list[str]:
    """Pairs of chart text that run into each other, in the plotly charts under the CSS selector
    ``within`` (all of the page's by default): a chart's title, its legend, its axis titles, and a
    parallel-coordinates chart's labels and the numbers that end its axes (an axis's two ends
    may not meet each other: they never do)."""
    return page.evaluate(
        """(within) => {
          const SEL = '.gtitle, .legend, .infolayer g[class^="g-"][class$="title"] text, '
                    + '.axis-title, .axis-extent-top-text, .axis-extent-bottom-text';
          const end = (e) => e.matches('.axis-extent-top-text, .axis-extent-bottom-text');
          const name = (e) => e.classList.contains('legend') ? 'the legend'
                              : JSON.stringify(e.textContent.trim());
          const out = [];
          for (const chart of document.querySelectorAll(
                 within + ' [data-testid="stPlotlyChart"]')) {
            const key = chart.closest('[class*="st-key-"]')?.className.match(/st-key-\\S+/)?.[0];
            const items = [...chart.querySelectorAll(SEL)]
              .filter(e => e.classList.contains('legend') || e.textContent.trim())
              .map(e => [e, e.getBoundingClientRect()])
              .filter(([, r]) => r.width > 0 && r.height > 0);
            items.forEach(([p, a], i) => items.slice(i + 1).forEach(([q, b]) => {
              if (p.contains(q) || q.contains(p) || (end(p) && end(q))) return;
              if (a.left < b.right - 1 && b.left < a.right - 1
                  && a.top < b.bottom - 1 && b.top < a.bottom - 1)
                out.push(`${key || 'a chart'}: ${name(p)} runs into ${name(q)}`);
            }));
          }
          return out;
        }""",
        within,
    )


def toolbar_covers(page, table) -> list[str]:
    """What a table's toolbar (search, download, full screen) covers once it shows: a mouse over
    the table, or on a phone a tap on it. Streamlit draws it above the table's top edge."""
    table.scroll_into_view_if_needed()
    table.hover()
    page.wait_for_function(  # it fades in and slides to its place: wait until it is there
        """(t) => { const b = t.closest('[data-testid="stElementContainer"]')
                     .querySelector('[data-testid="stElementToolbar"]');
                     return !!b && getComputedStyle(b).opacity === '1'; }""",
        arg=table.element_handle(),
    )
    return table.evaluate(
        """(t) => {
          const own = t.closest('[data-testid="stElementContainer"]');
          const a = own.querySelector('[data-testid="stElementToolbar"]').getBoundingClientRect();
          return [...document.querySelectorAll(
                    '[data-testid="stMain"] [data-testid="stElementContainer"]')]
            .filter(e => e !== own && e.offsetHeight > 0 && !e.querySelector('[data-testid="stSpace"]'))
            .filter(e => { const b = e.getBoundingClientRect();
                           return a.left < b.right && b.left < a.right
                                  && a.top < b.bottom && b.top < a.bottom; })
            .map(e => e.firstElementChild?.getAttribute('data-testid') + ' '
                      + JSON.stringify(e.innerText.trim().slice(0, 40)));
        }"""
    )


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, less STREAMLIT_OWN."""
    from axe_playwright_python.sync_playwright import Axe

    # The WCAG 2.x A and AA rules (axe-core's best-practice rules, e.g. heading order, are left
    # out: they are never serious, and running them costs time on every page).
    options = {"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    found = Axe().run(page, options=options).response["violations"]
    out = []
    for violation in found:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            target = node["target"][0]
            own = [sel for rule, sel, _ in STREAMLIT_OWN if rule == violation["id"]]
            if own and page.evaluate(
                "([t, sels]) => { const e = document.querySelector(t);"
                " return !!e && sels.some(s => e.closest(s)); }",
                [target, own],
            ):
                continue
            out.append(f"{violation['id']} ({violation['impact']}): {node['html'][:160]}")
    return out


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_on_a_phone_in_the_system_theme(browser, looks_app_url, scheme):
    problems: list[str] = []
    with new_page(browser, **PHONE, color_scheme=scheme) as page:
        for spec in PAGES:
            name = spec.url_path or "home"
            page.goto(f"{looks_app_url}/{spec.url_path}?{NOTEBOOK}")
            page.locator("h1").first.wait_for()
            wait_for_app(page)
            wait_for_charts(page)
            assert_no_exception(page)

            # the page follows the system theme
            page.evaluate(CONTRAST_JS)
            bg = page_background(page)
            white = page.evaluate("(bg) => window.__contrast(bg, 'rgb(255, 255, 255)')", bg)
            assert (white > 10) if scheme == "dark" else (white < 1.1), (name, bg)
            worst = weakest_chart_text(page)
            if worst is not None and worst[0] < 3:
                problems.append(f"{name}: chart text {worst[1]!r} at {worst[0]:.2f}:1 on {bg}")
            problems += [
                f"{name}: toolbar over the legend of {c}" for c in toolbar_over_legend(page)
            ]
            problems += [f"{name}: {c}" for c in crowded_chart_text(page)]
            problems += [f"{name}: {v}" for v in serious_violations(page)]
            screenshot(page, f"{scheme}_{name}")
            # last: a mouse over each table shows its toolbar (axe and the screenshot see the
            # page as it opens)
            tables = page.locator('[data-testid="stDataFrame"]:visible')
            for i in range(tables.count()):
                problems += [
                    f"{name}: the toolbar of table {i + 1} covers {c}"
                    for c in toolbar_covers(page, tables.nth(i))
                ]
            page.mouse.move(0, 0)
    assert not problems, "\n".join(problems)

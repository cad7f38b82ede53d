"""The app's pages and the router.

:data:`PAGES` is one table: :func:`route` builds ``st.navigation`` from it (streamlit_app.py calls
it), and tests check it against the files in pages/ (each listed once, titles and URLs unique).

Why :func:`ensure_routed` exists: until some script run of the server has called
``st.navigation``, Streamlit treats an app with a ``pages/`` folder the legacy way, so the first
visit of a fresh server on a page URL (``/evaluate?...``, a shared permalink) runs that page file
on its own, without our router. Every page therefore starts by checking that the router is running
it; if not, it hands the run to the router (whose ``st.navigation`` call ends the legacy mode and
runs this same page) and stops. Only public API: ``st.navigation``, ``st.Page``, ``st.stop``.
"""

from __future__ import annotations

import contextvars
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import streamlit as st

REPO = Path(__file__).resolve().parents[1]
ROUTER = REPO / "streamlit_app.py"
# The browser tab's icon: the sample's first 7 on a dark square, 64x64 (made once with PIL).
FAVICON = REPO / "ui" / "assets" / "favicon.png"
# Set while the router runs a page, in this script run's context only (not shared by sessions).
_ROUTED: contextvars.ContextVar[bool] = contextvars.ContextVar("nnmath_routed", default=False)


class PageSpec(NamedTuple):
    source: str  # "home" (the function in streamlit_app.py) or a path relative to the repo
    title: str
    icon: str
    url_path: str  # "" for the default page
    section: str  # sidebar section header
    question: str  # what the page answers, shown on Home


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "home",
        "Home",
        ":material/home:",
        "",
        "Train and inspect",
        "What is this, and what does the notebook's network reach?",
    ),
    PageSpec(
        "pages/0_lessons.py",
        "Lessons",
        ":material/school:",
        "lessons",
        "Train and inspect",
        "New here? Learn the notebook step by step: guess, run, compute by hand.",
    ),
    PageSpec(
        "pages/1_data.py",
        "Data",
        ":material/dataset:",
        "data",
        "Train and inspect",
        "Which digits am I training on, and how many of each?",
    ),
    PageSpec(
        "pages/2_train.py",
        "Train",
        ":material/model_training:",
        "train",
        "Train and inspect",
        "How do loss and accuracy evolve with these settings?",
    ),
    PageSpec(
        "pages/3_evaluate.py",
        "Evaluate",
        ":material/grid_on:",
        "evaluate",
        "Train and inspect",
        "Which digits get confused, and how sure is the network?",
    ),
    PageSpec(
        "pages/4_mistakes.py",
        "Mistakes",
        ":material/error:",
        "mistakes",
        "Train and inspect",
        "Which images fail, and how confidently?",
    ),
    PageSpec(
        "pages/5_weights.py",
        "Weights",
        ":material/psychology:",
        "weights",
        "Train and inspect",
        "What do the hidden units look for?",
    ),
    PageSpec(
        "pages/6_runs.py",
        "Runs",
        ":material/history:",
        "runs",
        "Compare",
        "Which runs are cached on this server?",
    ),
    PageSpec(
        "pages/7_sweep.py",
        "Sweep",
        ":material/tune:",
        "sweep",
        "Compare",
        "How do the results change across a grid of settings?",
    ),
    PageSpec(
        "pages/8_compare.py",
        "Compare",
        ":material/compare_arrows:",
        "compare",
        "Compare",
        "Is run B better than run A, and which images did it fix or break?",
    ),
    PageSpec(
        "pages/14_race.py",
        "Race",
        ":material/sports_score:",
        "race",
        "Compare",
        "Which optimizer learns fastest: GD, momentum or Adam?",
    ),
    PageSpec(
        "pages/9_draw.py",
        "Draw",
        ":material/draw:",
        "draw",
        "Inside the network",
        "What does the network read in a digit I draw?",
    ),
    PageSpec(
        "pages/10_why.py",
        "Why",
        ":material/help:",
        "why",
        "Inside the network",
        "Exactly which pixels make it answer this, and what would change its mind?",
    ),
    PageSpec(
        "pages/11_math.py",
        "Math",
        ":material/functions:",
        "math",
        "Inside the network",
        "What does each equation compute for one image, with its real numbers?",
    ),
    PageSpec(
        "pages/12_dynamics.py",
        "Learning dynamics",
        ":material/timeline:",
        "dynamics",
        "Inside the network",
        "When was each digit learned, and which hidden units died?",
    ),
    PageSpec(
        "pages/13_lab.py",
        "Lab",
        ":material/science:",
        "lab",
        "Inside the network",
        "What if some hidden units were off, or the images were noisy, rotated or shifted?",
    ),
    PageSpec(
        "pages/20_glossary.py",
        "Glossary",
        ":material/menu_book:",
        "glossary",
        "Help",
        "What does a word on these pages mean, and what is its formula?",
    ),
    PageSpec(
        "pages/30_class.py",
        "Class",
        ":material/groups:",
        "class",
        "A class",
        "How do I join my class, or create one for my students?",
    ),
    PageSpec(
        "pages/31_teacher.py",
        "Teacher",
        ":material/co_present:",
        "teacher",
        "A class",
        "What did each of my students answer and train?",
    ),
)


def spec(source: str) -> PageSpec:
    for p in PAGES:
        if p.source == source:
            return p
    raise KeyError(source)


# Streamlit draws a page link's label on one line and clips it at its box: on a phone most of a
# "Where to go" line or a "Why 7? See exactly which pixels..." link was cut off mid-word. Let the
# labels of links in the page wrap instead (the sidebar's own list keeps its one-line style).
_WRAP_PAGE_LINKS = """<style>
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] span,
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] p { white-space: normal; }
</style>"""


def route(home: Callable[[], None], position: str = "sidebar") -> None:
    """Build the navigation from :data:`PAGES` and run the page the URL names (``home`` is the
    Home page's function; ``position`` "hidden" for an embedded exercise: no page list)."""
    sections: dict[str, list] = {}
    for p in PAGES:
        if p.source == "home":
            page = st.Page(home, title=p.title, icon=p.icon, default=True)
        else:
            page = st.Page(REPO / p.source, title=p.title, icon=p.icon, url_path=p.url_path)
        sections.setdefault(p.section, []).append(page)
    selected = st.navigation(sections, position=position)
    st.html(_WRAP_PAGE_LINKS)  # style only: Streamlit adds it without an element in the page
    token = _ROUTED.set(True)
    try:
        selected.run()
    finally:
        _ROUTED.reset(token)


def ensure_routed() -> None:
    """Call first on every page: when Streamlit started this page without the router (see the
    module docstring), run the router instead — it runs this same page, in this same script run,
    so a click is not lost — and end the outer run."""
    if _ROUTED.get():
        return
    runpy.run_path(str(ROUTER), run_name="__main__")
    st.stop()

"""The app's pages, in order: one table that the router (streamlit_app.py) builds st.navigation
from and that tests check against the files in pages/ (each listed once, titles and URLs unique).
"""

from __future__ import annotations

from typing import NamedTuple


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
        "How do two or more runs differ?",
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
)


def spec(source: str) -> PageSpec:
    for p in PAGES:
        if p.source == source:
            return p
    raise KeyError(source)

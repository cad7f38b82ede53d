"""Issue 27, items 4 and 6: no value of any URL parameter raises on any page.

Hypothesis draws values for every parameter a page reads (the settings on every page, the
teacher's lock/hide/embed, and each page's own: README's Permalinks tables) and opens the page
in a fresh AppTest session: zero exceptions. The reproductions of the issue (a seed beyond 64
bits, 1e300 as seed or batch, dtypes numpy chokes on, 5,000 digits, negative or zero iterations,
locks on every name) are explicit examples run on every page.

The server's limits are lowered (hidden <= 16, iterations <= 60), so a value that is valid trains
a small run, and CI stays fast: a fixed number of examples per page, derandomized.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from engine.config import SETTING_PARAMS
from ui.navigation import PAGES

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")

#: Parameters every page reads (init_state: the settings; teacher: the exercise and the layout;
#: ui.classroom: a student's id).
COMMON = (*SETTING_PARAMS, "lock", "hide", "embed", "student")
#: Each page's own parameters (docs/guide.md's Permalinks table, and the pages' code), by URL
#: path. A new page must be listed here (test_every_page_has_its_parameters_listed).
OWN = {
    "": (),
    "lessons": ("lesson", "step"),
    "data": (),
    "train": (),
    "evaluate": (),
    "mistakes": ("true", "pred", "min_conf"),
    "weights": (),
    "runs": (),
    "sweep": ("metric", "seeds", "search", "n", "alpha_range", "hidden_range", "search_seed"),
    "compare": ("a", "b"),
    "race": ("race",),
    "draw": (),
    "why": ("image", "target", "versus"),
    "math": ("source", "image", "at"),
    "dynamics": ("at",),
    "lab": ("off", "scale", "corrupt", "level"),
    "glossary": (),
    "class": ("class", "join"),
    "teacher": ("class", "key"),
}

#: What a hostile (or careless) visitor types: numbers of every size and kind, names the app
#: knows, unicode, control characters, very long strings, empty.
VALUES = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "",
            "0",
            "-0",
            "1e300",
            "-1e300",
            "nan",
            "inf",
            "-inf",
            "18446744073709551616",
            "1_0",
            "(1000000000,)f8",
            "9" * 5000,
            "x" * 5000,
            "all",
            "none",
            "full",
            "true",
            "drawn",
            "sample",
            "relu",
            "float64",
            "he",
            "3:0.5",
            "1,4,7",
            "rotate",
            "dev",
            "upload-0123456789abcdef",
            "../../etc/passwd",
            "٣",
            "\x00",
            "%s%n",
        ]
    ),
    st.text(max_size=30),
)


def _page(spec) -> str:
    return "streamlit_app.py" if spec.source == "home" else spec.source


def test_every_page_has_its_parameters_listed():
    assert set(OWN) == {p.url_path for p in PAGES}


def _open(source: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    if source != "streamlit_app.py":
        at.switch_page(source)
    at.run()
    return at


def _queries(spec):
    names = (*COMMON, *OWN[spec.url_path])
    return st.dictionaries(st.sampled_from(names), VALUES, max_size=4)


#: The reproductions of the issue, replayed on every page (several bad values per link: each
#: parameter is read on its own, and three links per page keep the suite short).
REPRODUCTIONS = [
    {"seed": "18446744073709551616", "batch": "1e300", "dtype": "1_0", "iterations": "-5"},
    {"seed": "1e300", "dtype": "(1000000000,)f8", "iterations": "0", "lock": "all"},
    {"dtype": "9" * 5000, "hidden": "1e300", "alpha": "nan", "lock": "activation,model,x"},
]


@pytest.fixture
def small_server(monkeypatch):
    """A server whose limits keep any valid run small (and the test fast)."""
    monkeypatch.setenv("NNMATH_MAX_HIDDEN", "16")
    monkeypatch.setenv("NNMATH_MAX_ITERATIONS", "60")


@pytest.mark.parametrize("spec", PAGES, ids=lambda p: p.url_path or "home")
def test_the_issues_links_raise_on_no_page(spec, small_server):
    for query in REPRODUCTIONS:
        at = _open(_page(spec), query)
        assert not at.exception, (query, [e.value for e in at.exception])


@pytest.mark.parametrize("spec", PAGES, ids=lambda p: p.url_path or "home")
def test_no_url_value_raises_on_any_page(spec, small_server):
    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(query=_queries(spec))
    @example(query={})
    def check(query):
        at = _open(_page(spec), query)
        assert not at.exception, (query, [e.value for e in at.exception])

    check()

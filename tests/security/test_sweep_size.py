"""Issue 27, item 3: seeds ``0-100000`` typed in the Sweep page planned 1.6 million combinations
on every rerun (``0-10000000`` exhausted memory). Now the grid is counted from the text, by
arithmetic, and refused beyond the server's limit before any list is built."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from engine import sweep

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def test_ranges_are_counted_not_expanded():
    assert sweep.count_values("0-100000", "seed") == 100_001
    assert sweep.count_values("0-1000000000000", "seed") == 10**12 + 1  # would not fit in memory
    assert sweep.count_values("0-5, 3-8, 8, 20, 20", "seed") == 10  # overlaps counted once
    assert sweep.count_values("0.1 0.1 0.2", "alpha") == 2


def test_a_grid_over_the_limit_is_refused_before_anything_is_expanded(monkeypatch):
    def expander(items):
        raise AssertionError("the grid was expanded before it was counted")

    monkeypatch.setattr(sweep, "_expand", expander)
    texts = {"hidden": "10, 32", "alpha": "0.1, 0.5", "seed": "0-10000000"}
    with pytest.raises(ValueError) as refused:
        sweep.parse_grid(texts, max_runs=100)
    assert str(refused.value) == (
        "this grid has 2 hidden × 2 alpha × 10,000,001 seed = 40,000,004 runs; a sweep on this "
        "server may have at most 100 (NNMATH_MAX_SWEEP_RUNS): use fewer values or a shorter range"
    )
    with pytest.raises(ValueError, match="seed has 1,000,000,000,001 values, more than the 64"):
        sweep.parse_values("0-1000000000000", "seed", max_values=64)


def test_a_grid_within_the_limit_is_expanded_as_typed():
    axes = sweep.parse_grid({"hidden": "10", "alpha": "0.5 0.1", "seed": "3-4, 0"}, max_runs=6)
    assert axes == {"hidden": (10,), "alpha": (0.5, 0.1), "seed": (3, 4, 0)}


def test_absurd_text_is_refused_with_a_message():
    with pytest.raises(ValueError, match="must be short numbers"):
        sweep.count_values("1" * 300, "seed")
    with pytest.raises(ValueError, match="must fit in 500 characters"):
        sweep.count_values("1, " * 400, "seed")


items = st.lists(
    st.one_of(
        st.integers(-30, 30).map(lambda v: ("value", v)),
        st.tuples(st.integers(-30, 30), st.integers(0, 15)).map(
            lambda t: ("range", t[0], t[0] + t[1])
        ),
    ),
    min_size=1,
    max_size=8,
)


@given(items)
def test_the_count_is_the_number_of_distinct_values(parts):
    assert sweep._count(parts) == len(sweep._expand(parts))


def test_the_page_refuses_a_huge_seed_range_at_once():
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/7_sweep.py").run()
    at.text_input(key="sweep_hidden").set_value("10, 32, 64, 128").run()
    at.text_input(key="sweep_alpha").set_value("0.05, 0.1, 0.2, 0.5").run()
    at.text_input(key="sweep_seeds").set_value("0-10000000").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "this grid has 4 hidden × 4 alpha × 10,000,001 seed = 160,000,016 runs; a sweep on "
        "this server may have at most 100 (NNMATH_MAX_SWEEP_RUNS): use fewer values or a "
        "shorter range"
    ]
    assert not at.button  # nothing planned, nothing to launch

"""URL state: settings <-> query parameters, pure functions (no Streamlit)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config import ALPHAS, NOTEBOOK, Settings, format_alpha, parse_filter, query_string


def test_notebook_defaults_give_the_short_url():
    assert NOTEBOOK.to_query() == {
        "data": "sample",
        "hidden": "10",
        "alpha": "0.1",
        "iterations": "500",
        "seed": "0",
    }


def test_advanced_settings_appear_only_when_not_default():
    s = Settings(init="he", dtype="float64", batch_size=128)
    q = s.to_query()
    assert q["init"] == "he" and q["dtype"] == "float64" and q["batch"] == "128"
    assert Settings.from_query(q) == (s, [])


@given(
    data=st.sampled_from(["sample", "upload-0123456789abcdef", "digit-recognizer/train.csv"]),
    hidden=st.integers(1, 512),
    alpha=st.one_of(st.sampled_from(ALPHAS), st.floats(1e-6, 100, allow_nan=False)),
    iterations=st.integers(1, 20000),
    seed=st.integers(0, 2**31),
    init=st.sampled_from(["uniform", "he"]),
    dtype=st.sampled_from(["float32", "float64"]),
    batch=st.sampled_from([None, 32, 1000]),
)
def test_query_round_trip(data, hidden, alpha, iterations, seed, init, dtype, batch):
    s = Settings(
        data=data,
        hidden=hidden,
        alpha=alpha,
        iterations=iterations,
        seed=seed,
        init=init,
        dtype=dtype,
        batch_size=batch,
    )
    assert Settings.from_query(s.to_query()) == (s, [])
    # through a real URL too (what a browser sends back)
    url = "http://host/train" + query_string(s, true=3, pred=None)
    params = dict(parse_qsl(urlsplit(url).query))
    assert Settings.from_query(params)[0] == s
    assert parse_filter(params, "true") == 3 and parse_filter(params, "pred") is None


def test_absent_parameters_keep_the_base_and_bad_ones_are_reported():
    base = Settings(hidden=32, alpha=0.5)
    s, problems = Settings.from_query(
        {"iterations": "100", "seed": "x", "hidden": ["7", "9"]}, base=base
    )
    assert s == Settings(hidden=9, alpha=0.5, iterations=100)
    assert len(problems) == 1 and "seed" in problems[0]


@pytest.mark.parametrize(
    "query, message",
    [
        (
            {"alpha": "0"},
            "alpha='0' is not used: alpha must be in (0, 1000000]; kept 0.1",
        ),
        ({"alpha": "-0.1"}, "alpha must be in (0, 1000000]"),
        ({"alpha": "nan"}, "alpha must be in (0, 1000000]"),
        ({"hidden": "0"}, "hidden must be an integer between 1 and 512; kept 10"),
        ({"iterations": "0"}, "iterations must be an integer between 1 and 20000; kept 500"),
        ({"init": "zeros"}, "init must be one of ['uniform', 'he']"),
        (
            {"batch": "-5"},
            "batch must be an integer between 1 and 1000000 (or full for full batch)",
        ),
        ({"seed": "18446744073709551616"}, "seed must be an integer between 0 and 4294967295"),
        ({"seed": "1e300"}, "seed='1e300' is not used"),
        ({"batch": "1e300"}, "batch='1e300' is not used"),
        ({"dtype": "1_0"}, "dtype='1_0' is not used: dtype must be one of"),
        ({"dtype": "(1000000000,)f8"}, "dtype='(1000000000,)f8' is not used"),
        ({"dtype": "9" * 5000}, "(5,000 characters) is not used"),
        ({"iterations": "9" * 5000}, "(5,000 characters) is not used"),
        ({"hidden": "inf"}, "hidden='inf' is not used"),
        ({"seed": "٣"}, None),  # a unicode digit is a digit to int(): 3
    ],
)
def test_bad_values_are_not_used_and_the_message_states_the_rule(query, message):
    s, problems = Settings.from_query(query, base=Settings(hidden=10))
    if message is None:
        assert problems == [] and s.seed == 3
        return
    assert len(problems) == 1 and message in problems[0], problems
    assert s == NOTEBOOK  # the base value kept
    assert s.problems() == []


def test_server_limits_narrow_the_url_and_the_problems():
    s, problems = Settings.from_query({"hidden": "300", "iterations": "6000"}, max_hidden=256)
    assert s.hidden == 10 and s.iterations == 6000
    assert "hidden must be an integer between 1 and 256; kept 10" in problems[0]
    assert Settings(hidden=300).problems(max_hidden=256) == [
        "hidden must be an integer between 1 and 256, got 300"
    ]
    assert Settings(iterations=0).problems() == [
        "iterations must be an integer between 1 and 20000, got 0"
    ]
    assert NOTEBOOK.problems() == []


def test_every_training_setting_is_bounded_on_both_sides():
    """A setting added to TrainConfig without bounds fails here (and in validated())."""
    from dataclasses import fields

    from nnmath import SETTING_BOUNDS, TrainConfig

    assert set(SETTING_BOUNDS) == {f.name for f in fields(TrainConfig)}
    for name, rule in SETTING_BOUNDS.items():
        assert rule.choices or (rule.low is not None and rule.high is not None), name


def test_alpha_text_is_short_and_exact():
    for a in (0.1, 0.001, 1e-05, 2.0, 0.30000000000000004):
        assert float(format_alpha(a)) == a
    assert format_alpha(0.1) == "0.1" and format_alpha(2.0) == "2"


@pytest.mark.parametrize(
    "raw, expected",
    [("3", 3), ("0", 0), ("9", 9), ("10", None), ("-1", None), ("x", None), (None, None)],
)
def test_filter_digits(raw, expected):
    assert parse_filter({} if raw is None else {"true": raw}, "true") == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, 0.0),
        ("0.9", 0.9),
        ("0.856", 0.86),
        ("1", 1.0),
        ("0", 0.0),
        ("1.5", 0.0),
        ("-0.1", 0.0),
        ("high", 0.0),
        (["0.2", "0.7"], 0.7),
    ],
)
def test_min_conf_from_the_url(raw, expected):
    from engine.config import parse_min_conf

    assert parse_min_conf({} if raw is None else {"min_conf": raw}) == expected


def test_min_conf_in_the_url_has_two_decimals_and_zero_is_left_out():
    from engine.config import format_min_conf, parse_min_conf

    assert format_min_conf(0.0) is None and format_min_conf(0.9) == "0.90"
    assert parse_min_conf({"min_conf": format_min_conf(0.37)}) == 0.37

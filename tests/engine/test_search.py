"""Random search: reproducible draws from ranges, alpha log-uniform, every input bounded."""

import math

import numpy as np
import pytest

from engine.search import MAX_DRAWS, Search, parse_search


def test_the_same_text_and_seed_draw_the_same_settings():
    s = parse_search("12", "0.01-1", "10-128", "7")
    assert s == Search(12, 0.01, 1.0, 10, 128, 7)
    assert s.draws() == parse_search(12, "0.01 - 1", "10-128", 7).draws()
    assert s.draws() != parse_search(12, "0.01-1", "10-128", 8).draws()
    q = s.to_query()
    assert parse_search(q["n"], q["alpha_range"], q["hidden_range"], q["search_seed"]) == s


def test_alpha_is_log_uniform_and_hidden_uniform_within_the_ranges():
    draws = Search(MAX_DRAWS, 0.001, 10.0, 8, 16, 0).draws()
    many = [d for seed in range(40) for d in Search(MAX_DRAWS, 0.001, 10.0, 8, 16, seed).draws()]
    alphas = np.array([d["alpha"] for d in many])
    hidden = np.array([d["hidden"] for d in many])
    assert len(draws) == MAX_DRAWS
    assert alphas.min() >= 0.001 * (1 - 5e-3) and alphas.max() <= 10 * (1 + 5e-3)
    # log-uniform over four decades: about a quarter of the draws in each decade
    decades = np.histogram(np.log10(alphas), bins=[-3, -2, -1, 0, 1])[0] / alphas.size
    np.testing.assert_allclose(decades, 0.25, atol=0.04)
    assert set(hidden) == set(range(8, 17))
    assert all(d["alpha"] == float(f"{d['alpha']:.3g}") for d in draws)
    assert math.isclose(np.mean(hidden), 12, abs_tol=0.3)


@pytest.mark.parametrize(
    "args, message",
    [
        (("0", "0.01-1", "10-20", 0), "1 to 64"),
        ((MAX_DRAWS + 1, "0.01-1", "10-20", 0), "1 to 64"),
        (("1e300", "0.01-1", "10-20", 0), "whole number"),
        ((5, "1-0.01", "10-20", 0), "low <= high"),
        ((5, "0-1", "10-20", 0), "0.0001 <= low"),
        ((5, "0.01-1", "10-2000", 0), "<= 512"),
        ((5, "0.01-1", "10.5-20", 0), "whole numbers"),
        ((5, "0.01", "10-20", 0), "range low-high"),
        ((5, "0.01-1" * 100, "10-20", 0), "range such as"),
        ((5, "0.01-1", "10-20", -1), "search seed must be 0"),
        ((5, "0.01-1", "10-20", 2**64), "search seed must be 0"),
    ],
)
def test_bad_searches_are_refused_with_the_rule(args, message):
    with pytest.raises(ValueError, match=message):
        parse_search(*args)

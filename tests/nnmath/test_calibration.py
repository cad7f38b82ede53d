"""Calibration: reliability bins, ECE/MCE, NLL, Brier, temperature scaling and risk-coverage,
against numbers worked by hand and against brute force."""

import math

import numpy as np
import pytest

from nnmath import (
    brier,
    fit_temperature,
    nll,
    reliability,
    risk_coverage,
    softmax_t,
    temperature_nll,
)
from nnmath.calibration import T_BOUNDS, bin_index

# Five images, two classes. confidence = max p, predicted = argmax (row 4 ties: class 0 wins).
#   row  p            y  conf  right  bin (B=5: k/5 < c <= (k+1)/5)
#   0    [0.9, 0.1]   0  0.9   yes    4
#   1    [0.7, 0.3]   1  0.7   no     3
#   2    [0.6, 0.4]   0  0.6   yes    2  (0.6 is the upper edge of bin 2)
#   3    [0.2, 0.8]   1  0.8   yes    3  (upper edge of bin 3)
#   4    [0.5, 0.5]   1  0.5   no     2
HAND_P = np.array([[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
HAND_Y = np.array([0, 1, 0, 1, 1])


def test_reliability_by_hand():
    r = reliability(HAND_P, HAND_Y, bins=5)
    np.testing.assert_array_equal(r.counts, [0, 0, 2, 2, 1])
    np.testing.assert_allclose(r.accuracy[2:], [1 / 2, 1 / 2, 1])
    np.testing.assert_allclose(r.confidence[2:], [(0.6 + 0.5) / 2, (0.7 + 0.8) / 2, 0.9])
    assert np.isnan(r.accuracy[:2]).all() and np.isnan(r.confidence[:2]).all()  # empty bins
    # gaps |acc - conf|: 0.05, 0.25, 0.1; ECE = (2*0.05 + 2*0.25 + 1*0.1) / 5 = 0.14
    assert r.ece == pytest.approx(0.14, abs=1e-12)
    assert r.mce == pytest.approx(0.25, abs=1e-12)
    np.testing.assert_allclose(r.gap[2:], [-0.05, -0.25, 0.1], atol=1e-12)
    assert r.n == 5
    np.testing.assert_allclose(r.edges, [0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_nll_and_brier_by_hand():
    assert nll(HAND_P, HAND_Y) == pytest.approx(
        -(math.log(0.9) + math.log(0.3) + math.log(0.6) + math.log(0.8) + math.log(0.5)) / 5
    )
    # per row sum_k (p_k - onehot_k)^2: 0.02, 0.98, 0.32, 0.08, 0.5 -> mean 1.9 / 5
    assert brier(HAND_P, HAND_Y) == pytest.approx(0.38)


def test_risk_coverage_by_hand():
    rc = risk_coverage(HAND_P, HAND_Y)
    # by confidence: 0.9 right, 0.8 right, 0.7 wrong, 0.6 right, 0.5 wrong
    np.testing.assert_allclose(rc.thresholds, [0.9, 0.8, 0.7, 0.6, 0.5])
    np.testing.assert_array_equal(rc.answered, [1, 2, 3, 4, 5])
    np.testing.assert_allclose(rc.coverage, [0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(rc.accuracy, [1, 1, 2 / 3, 3 / 4, 3 / 5])
    # AURC = mean of the risks 0, 0, 1/3, 1/4, 2/5
    assert rc.aurc == pytest.approx((1 / 3 + 1 / 4 + 2 / 5) / 5)
    s = rc.at(0.7)  # answers 0.9, 0.8 and 0.7: two right
    assert (s.answered, s.abstained, s.right) == (3, 2, 2)
    assert s.coverage == pytest.approx(0.6) and s.accuracy == pytest.approx(2 / 3)
    nothing = rc.at(0.95)
    assert nothing.answered == 0 and nothing.abstained == 5 and math.isnan(nothing.accuracy)
    assert rc.at(0).answered == 5


def test_risk_coverage_answers_equal_confidences_together():
    P = np.array([[0.8, 0.2], [0.8, 0.2], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 1, 0, 0])  # at 0.8: one right one wrong; at 0.6: both right
    rc = risk_coverage(P, y)
    np.testing.assert_allclose(rc.thresholds, [0.8, 0.6])
    np.testing.assert_allclose(rc.coverage, [0.5, 1.0])
    np.testing.assert_allclose(rc.accuracy, [0.5, 0.75])
    # step curve: risk 0.5 over coverage 0..0.5, risk 0.25 over 0.5..1
    assert rc.aurc == pytest.approx(0.5 * 0.5 + 0.25 * 0.5)


def test_bins_put_edges_in_the_bin_below_and_zero_in_bin_0():
    B = 15
    edges = np.arange(B + 1) / B
    np.testing.assert_array_equal(bin_index(edges, B), [0, *range(B)])
    np.testing.assert_array_equal(bin_index(edges[1:] - 1e-12, B), range(B))
    np.testing.assert_array_equal(bin_index(edges[:-1] + 1e-12, B), range(B))


def test_one_class_only():
    one = np.ones((3, 1))  # a single column: always certain and right
    r = reliability(one, [0, 0, 0], bins=10)
    assert r.counts[-1] == 3 and r.counts[:-1].sum() == 0
    assert r.ece == 0 and r.mce == 0 and nll(one, [0, 0, 0]) == 0 and brier(one, [0, 0, 0]) == 0
    # every label the same digit: only that digit's column matters
    P = np.full((4, 10), 0.05)
    P[:, 3] = 0.55
    r = reliability(P, [3, 3, 3, 3], bins=10)
    assert r.counts[5] == 4 and r.accuracy[5] == 1
    assert r.ece == pytest.approx(0.45) and r.mce == pytest.approx(0.45)
    assert fit_temperature(np.log(P), [3, 3, 3, 3]) == T_BOUNDS[0]  # sharper is always better


def test_all_correct_and_certain_probabilities_of_exactly_0_and_1():
    P = np.eye(10)[[1, 4, 7, 7]]
    y = np.array([1, 4, 7, 7])
    r = reliability(P, y)
    assert r.counts[-1] == 4 and r.ece == 0 and r.mce == 0
    assert nll(P, y) == 0 and brier(P, y) == 0
    rc = risk_coverage(P, y)
    assert rc.aurc == 0 and rc.thresholds.tolist() == [1.0]
    # the last image certain and wrong: its p_y is exactly 0, so the NLL is infinite, and its
    # Brier term is the maximum 2 (mean 2 / 4); the one bin has accuracy 3/4 at confidence 1
    wrong = np.array([1, 4, 7, 0])
    assert nll(P, wrong) == math.inf
    assert brier(P, wrong) == pytest.approx(2 / 4)
    assert reliability(P, wrong).ece == pytest.approx(1 / 4)


def test_float32_input_is_computed_in_float64():
    rng = np.random.default_rng(0)
    Z = rng.normal(0, 3, (50, 10)).astype(np.float32)
    P32 = softmax_t(Z).astype(np.float32)
    y = rng.integers(0, 10, 50)
    P64 = P32.astype(np.float64)
    assert reliability(P32, y).ece == reliability(P64, y).ece
    assert nll(P32, y) == nll(P64, y) and brier(P32, y) == brier(P64, y)
    assert fit_temperature(Z, y) == fit_temperature(Z.astype(np.float64), y)
    assert isinstance(nll(P32, y), float)


def test_temperature_has_the_closed_form_of_the_binary_case():
    # every image has logits (a, 0); a share q of them are class 0. The NLL is least when
    # sigmoid(a / T) = q, i.e. T = a / logit(q).
    a, q = 4.0, 0.75
    Z = np.tile([a, 0.0], (8, 1))
    y = np.array([0] * 6 + [1] * 2)
    t_fit = fit_temperature(Z, y)
    assert t_fit == pytest.approx(a / math.log(q / (1 - q)), rel=1e-9)
    np.testing.assert_allclose(softmax_t(Z, t_fit)[0], [q, 1 - q])


def brute_force_temperature(Z, y):
    """Two grids, no calculus: 2,001 temperatures over [0.05, 20], then 2,001 around the best."""
    grid = np.geomspace(0.05, 20, 2001)
    best = int(np.argmin([temperature_nll(Z, y, t) for t in grid]))
    fine = np.geomspace(grid[max(best - 2, 0)], grid[min(best + 2, 2000)], 2001)
    return float(fine[np.argmin([temperature_nll(Z, y, t) for t in fine])])


@pytest.mark.parametrize("true_t", [0.4, 1.0, 2.5])
def test_fit_temperature_matches_a_fine_grid(true_t):
    rng = np.random.default_rng(7)
    Z = rng.normal(0, 4, (300, 10))
    # labels drawn from softmax(Z / true_t): the best T is near true_t
    y = np.array([rng.choice(10, p=p) for p in softmax_t(Z, true_t)])
    t_fit = fit_temperature(Z, y)
    assert t_fit == pytest.approx(brute_force_temperature(Z, y), rel=1e-4)
    assert temperature_nll(Z, y, t_fit) <= temperature_nll(Z, y, t_fit * (1 + 1e-3))
    assert temperature_nll(Z, y, t_fit) <= temperature_nll(Z, y, t_fit * (1 - 1e-3))
    assert t_fit == pytest.approx(true_t, rel=0.3)
    # scaling the logits by c scales the temperature by c
    assert fit_temperature(3 * Z, y) == pytest.approx(3 * t_fit, rel=1e-9)


def test_fit_temperature_returns_the_bound_when_the_nll_keeps_falling():
    Z = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    assert fit_temperature(Z, [0, 1]) == T_BOUNDS[0]  # all right: sharper is always better
    assert fit_temperature(Z, [2, 2]) == T_BOUNDS[1]  # true logit below the others: flatten
    assert fit_temperature(Z, [2, 2], bounds=(0.5, 5)) == 5


def test_temperature_nll_matches_nll_of_the_probabilities():
    rng = np.random.default_rng(1)
    Z = rng.normal(0, 2, (20, 10))
    y = rng.integers(0, 10, 20)
    for t in (0.5, 1.0, 3.0):
        assert temperature_nll(Z, y, t) == pytest.approx(nll(softmax_t(Z, t), y), rel=1e-12)
    # a logit gap too large for exp: the probability is 0.0, the NLL from logits stays finite
    far = np.array([[0.0, 2000.0]])
    assert nll(softmax_t(far), [0]) == math.inf
    assert temperature_nll(far, [0]) == pytest.approx(2000.0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: reliability(np.ones(3), [0, 0, 0]), "probs must have shape (m, classes)"),
        (lambda: reliability(np.zeros((0, 10)), []), "probs must have shape (m, classes)"),
        (lambda: reliability([[0.5, 0.6]], [0]), "probs rows must sum to 1"),
        (lambda: reliability([[1.5, -0.5]], [0]), "probs must lie in [0, 1]"),
        (lambda: nll([[np.nan, 1.0]], [0]), "probs must be finite"),
        (lambda: brier([[0.5, 0.5]], [2]), "y must hold labels 0..1, got 2 at index 0"),
        (lambda: brier([[0.5, 0.5]], [0, 1]), "y must have one label per row"),
        (lambda: nll([[0.5, 0.5]], [0.5]), "y must hold integer labels"),
        (lambda: reliability([[1.0]], [0], bins=0), "bins must be >= 1, got 0"),
        (lambda: fit_temperature([[1.0, np.inf]], [0]), "logits must be finite"),
        (lambda: fit_temperature([[1.0, 0.0]], [0], bounds=(2, 1)), "bounds must be 0 < low"),
        (lambda: softmax_t([[1.0, 0.0]], 0), "T must be > 0, got 0"),
        (lambda: risk_coverage([[1.0, 0.0]], [0]).at(1.5), "threshold must be in [0, 1]"),
    ],
)
def test_errors_name_the_parameter_the_rule_and_the_value(call, message):
    with pytest.raises(ValueError) as e:
        call()
    assert message in str(e.value)

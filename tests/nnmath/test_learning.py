"""Learns like the notebook: 4,000 training / 1,000 dev digits of the embedded MNIST sample."""

import pytest

from nnmath import gradient_descent


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_notebook_settings_reach_80_percent_dev_accuracy(split5k, seed):
    X, y, X_dev, y_dev = split5k
    r = gradient_descent(
        X, y, hidden=10, alpha=0.1, iterations=500, seed=seed, X_dev=X_dev, y_dev=y_dev
    )
    assert r.status == "finished"
    assert r.dev_accuracy >= 0.80, r.dev_accuracy
    assert r.history.loss[-1] < r.history.loss[0] / 3


def test_he_init_and_float64_learn_too(split5k):
    X, y, X_dev, y_dev = split5k
    r = gradient_descent(X, y, iterations=200, init="he", dtype="float64", X_dev=X_dev, y_dev=y_dev)
    assert r.params.W1.dtype.name == "float64"
    assert r.dev_accuracy >= 0.80, r.dev_accuracy

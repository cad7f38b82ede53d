"""Progress.checkpoint: the run so far, from which continue_training gives the unbroken run."""

from __future__ import annotations

import numpy as np
import pytest

import nnmath
from nnmath.persist import load_result, save_result


def _data(m=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(m, 784), dtype=np.uint8)
    X[:, :40] = 0  # dead pixel columns, as in MNIST (the block loop leaves them out)
    y = rng.integers(0, 10, size=m)
    return X[:250], y[:250], X[250:], y[250:]


def same_bits(a, b):
    """Every array of the two runs equal bit for bit (elapsed aside)."""
    assert a.iterations == b.iterations and a.status == b.status
    for name in nnmath.train.PARAM_NAMES:
        np.testing.assert_array_equal(getattr(a.params, name), getattr(b.params, name))
        np.testing.assert_array_equal(a.snapshots[name], b.snapshots[name])
    np.testing.assert_array_equal(a.snapshot_iterations, b.snapshot_iterations)
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name))
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        assert getattr(a, name) == getattr(b, name)


@pytest.mark.parametrize("at", [7, 20, 33])  # between snapshots, on one, after one
@pytest.mark.parametrize("batch_size", [None, 64])
def test_continuing_a_checkpoint_gives_the_unbroken_run(tmp_path, at, batch_size):
    X, y, Xd, yd = _data()
    kw = dict(hidden=12, alpha=0.2, seed=3, batch_size=batch_size, snapshot_every=10)
    unbroken = nnmath.gradient_descent(X, y, iterations=50, X_dev=Xd, y_dev=yd, **kw)
    taken = {}

    def callback(p):
        if p.iteration == at:
            taken["partial"] = p.checkpoint()

    nnmath.gradient_descent(
        X, y, iterations=50, X_dev=Xd, y_dev=yd, callback=callback, callback_every=1, **kw
    )
    partial = taken["partial"]
    assert partial.status == "partial" and partial.iterations == at
    assert len(partial.history) == at and np.isnan(partial.loss)
    # snapshots at multiples of snapshot_every only, up to `at`: as the unbroken run has them
    assert partial.snapshot_iterations.tolist() == list(range(0, at + 1, 10))
    if at == 20:
        np.testing.assert_array_equal(partial.params.W1, unbroken.snapshot(20).W1)
    path = tmp_path / "partial.npz"
    save_result(partial, path)  # a checkpoint survives the file format
    again = nnmath.continue_training(
        load_result(path), X, y, iterations=50 - at, X_dev=Xd, y_dev=yd
    )
    same_bits(again, unbroken)


def test_a_checkpoint_of_a_continued_run_keeps_the_earlier_history():
    X, y, Xd, yd = _data(seed=1)
    kw = dict(hidden=8, snapshot_every=10)
    first = nnmath.gradient_descent(X, y, iterations=15, X_dev=Xd, y_dev=yd, **kw)
    taken = {}

    def callback(p):
        if p.iteration == 27:
            taken["partial"] = p.checkpoint()

    nnmath.continue_training(
        first, X, y, iterations=25, X_dev=Xd, y_dev=yd, callback=callback, callback_every=1
    )
    partial = taken["partial"]
    assert partial.iterations == 27 and len(partial.history) == 27
    # the first run's own final snapshot (15) stays, as it does in the continued run
    assert partial.snapshot_iterations.tolist() == [0, 10, 15, 20]
    unbroken_from_first = nnmath.continue_training(first, X, y, iterations=25, X_dev=Xd, y_dev=yd)
    same_bits(
        nnmath.continue_training(partial, X, y, iterations=13, X_dev=Xd, y_dev=yd),
        unbroken_from_first,
    )

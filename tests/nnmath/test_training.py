"""Training: deterministic, resumable, stoppable, honest about divergence, checks its input."""

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnmath
from nnmath import (
    History,
    continue_training,
    forward_propagation,
    gradient_descent,
    init_params,
    one_hot,
    scale_pixels,
)
from nnmath.train import PARAM_NAMES

REPO = Path(__file__).resolve().parents[2]


def fingerprint(result):
    """sha256 over every number of a result except elapsed seconds."""
    h = hashlib.sha256()
    for a in result.params.arrays().values():
        h.update(a.tobytes())
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        h.update(getattr(result.history, name).tobytes())
    for name in sorted(result.snapshots):
        h.update(result.snapshots[name].tobytes())
    return h.hexdigest()


def assert_same_run(a, b):
    for name, array in a.params.arrays().items():
        np.testing.assert_array_equal(array, getattr(b.params, name), err_msg=name)
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        np.testing.assert_array_equal(
            getattr(a.history, name), getattr(b.history, name), err_msg=name
        )
    assert (a.iterations, a.loss, a.train_accuracy) == (b.iterations, b.loss, b.train_accuracy)
    assert a.dev_accuracy == b.dev_accuracy or (
        np.isnan(a.dev_accuracy) and np.isnan(b.dev_accuracy)
    )


def test_result_holds_history_snapshots_and_final_metrics(small):
    X, y, X_dev, y_dev = small
    r = gradient_descent(X, y, iterations=120, X_dev=X_dev, y_dev=y_dev, snapshot_every=50)
    assert r.status == "finished" and r.iterations == 120 and r.diverged_at is None
    assert isinstance(r.history, History) and len(r.history) == 120
    for name, values in r.history.arrays().items():
        assert values.shape == (120,) and np.isfinite(values).all(), name
    assert np.all(np.diff(r.history.elapsed) >= 0)
    assert r.history.loss[-1] < r.history.loss[0]
    assert r.snapshot_iterations.tolist() == [0, 50, 100, 120]
    assert r.snapshots["W1"].shape == (4, 784, 10) and r.snapshots["b2"].shape == (4, 10)
    np.testing.assert_array_equal(r.snapshot(120).W1, r.params.W1)
    np.testing.assert_array_equal(r.snapshot(0).W1, nnmath.init_params(10, 0).W1)
    # row i of the history is the forward pass of the params after i updates
    Z2 = forward_propagation(r.snapshot(100), scale_pixels(X)).Z2
    assert nnmath.cross_entropy(Z2, one_hot(y)) == pytest.approx(r.history.loss[100], rel=1e-5)
    assert 0 < r.train_accuracy <= 1 and 0 < r.dev_accuracy <= 1
    assert r.config.hidden == 10 and r.config.alpha == 0.1 and r.config.dtype == "float32"


def test_no_dev_set_gives_nan_dev_metrics(small):
    X, y, _, _ = small
    r = gradient_descent(X[:200], y[:200], iterations=5)
    assert np.isnan(r.history.dev_accuracy).all() and np.isnan(r.dev_accuracy)


def test_same_settings_give_identical_numbers_in_process(small):
    X, y, X_dev, y_dev = small
    a = gradient_descent(X, y, iterations=30, X_dev=X_dev, y_dev=y_dev, seed=4)
    b = gradient_descent(X.copy(), y.copy(), iterations=30, X_dev=X_dev, y_dev=y_dev, seed=4)
    assert fingerprint(a) == fingerprint(b)
    c = gradient_descent(X, y, iterations=30, X_dev=X_dev, y_dev=y_dev, seed=5)
    assert fingerprint(a) != fingerprint(c)


SUBPROCESS = textwrap.dedent("""
    import json, sys
    import numpy as np
    from threadpoolctl import threadpool_limits
    sys.path.insert(0, {repo!r})
    from nnmath import gradient_descent
    sys.path.insert(0, {here!r})
    from test_training import fingerprint
    d = np.load({data!r})
    with threadpool_limits(limits={threads}, user_api="blas"):
        r = gradient_descent(d["X"], d["y"], iterations=25, X_dev=d["Xd"], y_dev=d["yd"],
                             seed=4, hidden={hidden}, batch_size={batch})
    print(json.dumps(fingerprint(r)))
""")


@pytest.mark.parametrize(
    "threads, hidden, batch", [(1, 10, None), (2, 10, None), (1, 64, 300), (2, 64, None)]
)
def test_identical_numbers_in_a_new_process(small, tmp_path, threads, hidden, batch):
    """Bit for bit in a fresh interpreter with the same number of BLAS threads.

    (OpenBLAS itself rounds differently with 1 and 2 threads, so the thread count must be
    chosen from the settings alone, never from the machine's load, for cached runs to be exact.)
    """
    X, y, X_dev, y_dev = small
    np.savez(tmp_path / "d.npz", X=X, y=y, Xd=X_dev, yd=y_dev)
    with threadpool_limits(limits=threads, user_api="blas"):
        here = gradient_descent(
            X, y, iterations=25, X_dev=X_dev, y_dev=y_dev, seed=4, hidden=hidden, batch_size=batch
        )
    code = SUBPROCESS.format(
        repo=str(REPO),
        here=str(Path(__file__).parent),
        data=str(tmp_path / "d.npz"),
        threads=threads,
        hidden=hidden,
        batch=batch,
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == fingerprint(here)


def test_300_then_200_more_equals_500(small):
    X, y, X_dev, y_dev = small
    whole = gradient_descent(X, y, iterations=500, X_dev=X_dev, y_dev=y_dev, seed=1)
    first = gradient_descent(X, y, iterations=300, X_dev=X_dev, y_dev=y_dev, seed=1)
    rest = continue_training(first, X, y, iterations=200, X_dev=X_dev, y_dev=y_dev)
    assert_same_run(whole, rest)
    assert rest.snapshot_iterations.tolist() == whole.snapshot_iterations.tolist()
    for name in whole.snapshots:
        np.testing.assert_array_equal(whole.snapshots[name], rest.snapshots[name])
    assert rest.history.elapsed[-1] >= first.history.elapsed[-1]
    # and the first part is untouched
    assert first.iterations == 300 and len(first.history) == 300


def test_mini_batches_resume_exactly(small):
    X, y, _, _ = small
    whole = gradient_descent(X, y, iterations=40, batch_size=96, seed=2)
    part = continue_training(
        gradient_descent(X, y, iterations=17, batch_size=96, seed=2), X, y, iterations=23
    )
    assert_same_run(whole, part)
    # mini-batches make a different run from full batches, and learn
    full = gradient_descent(X, y, iterations=40, seed=2)
    assert not np.array_equal(full.params.W1, whole.params.W1)
    assert whole.loss < whole.history.loss[0]


def test_truncated_is_the_shorter_run(small):
    X, y, X_dev, y_dev = small
    long = gradient_descent(X, y, iterations=150, X_dev=X_dev, y_dev=y_dev, snapshot_every=50)
    short = gradient_descent(X, y, iterations=100, X_dev=X_dev, y_dev=y_dev, snapshot_every=50)
    cut = long.truncated(100)
    assert_same_run(short, cut)
    assert cut.snapshot_iterations.tolist() == [0, 50, 100]
    assert cut.dev_loss == pytest.approx(short.dev_loss)
    with pytest.raises(ValueError, match="snapshot iteration"):
        long.truncated(75)
    assert long.truncated(150) is long


def test_too_large_alpha_diverges_and_says_lower_alpha(small):
    X, y, _, _ = small
    r = gradient_descent(X, y, alpha=1e4, iterations=100)
    assert r.status == "diverged"
    assert r.diverged_at is not None and r.iterations == r.diverged_at - 1
    assert "lower alpha" in r.message and f"iteration {r.diverged_at}" in r.message
    assert r.params.is_finite() and np.isfinite(r.loss)
    assert len(r.history) == r.iterations and np.isfinite(r.history.loss).all()
    assert r.snapshot_iterations[-1] == r.iterations
    # the kept params are the last good ones: those of the run cut one step before
    np.testing.assert_array_equal(
        r.params.W1, gradient_descent(X, y, alpha=1e4, iterations=r.iterations).params.W1
    )
    # continuing a diverged run changes nothing (the long run stops there too)
    assert continue_training(r, X, y, iterations=10) is r


def test_callback_sees_progress_and_can_stop(small):
    X, y, X_dev, y_dev = small
    seen = []

    def callback(progress):
        seen.append((progress.iteration, progress.total, len(progress.history)))
        assert progress.params.W1.shape == (784, 10)
        assert np.isfinite(progress.loss) and 0 <= progress.dev_accuracy <= 1
        return progress.iteration >= 30

    r = gradient_descent(
        X, y, iterations=100, X_dev=X_dev, y_dev=y_dev, callback=callback, callback_every=10
    )
    assert seen == [(10, 100, 10), (20, 100, 20), (30, 100, 30)]
    assert r.status == "stopped" and r.iterations == 30 and len(r.history) == 30
    assert "stopped" in r.message and "30" in r.message
    # a stopped run continues as if it had never stopped
    assert_same_run(
        continue_training(r, X, y, iterations=20, X_dev=X_dev, y_dev=y_dev),
        gradient_descent(X, y, iterations=50, X_dev=X_dev, y_dev=y_dev),
    )


def test_training_does_not_touch_the_callers_arrays_or_print(small, capsys):
    X, y, X_dev, y_dev = small
    X = X.copy()
    before = X.copy()
    X_float = X[:300] / 255.0
    gradient_descent(X, y, iterations=3, X_dev=X_dev, y_dev=y_dev)
    r = gradient_descent(X_float, y[:300], iterations=3, dtype="float64")
    np.testing.assert_array_equal(X, before)
    assert r.params.W1.dtype == np.float64
    assert capsys.readouterr() == ("", "")


def test_uint8_and_float_inputs_train_alike(small):
    # uint8 blocks skip the all-zero pixel columns and carry the 1/255 on W1; float blocks are
    # read as they are. Same math, so float32 agrees to rounding and float64 to ~1e-12.
    X, y, _, _ = small
    X = X[:300].copy()
    dead = np.flatnonzero(~X.any(axis=0))
    assert 50 < len(dead) < 784  # real digits: an empty border
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        a = gradient_descent(X, y[:300], iterations=20, dtype=dtype)
        b = gradient_descent(scale_pixels(X, dtype), y[:300], iterations=20, dtype=dtype)
        for name in PARAM_NAMES:
            np.testing.assert_allclose(
                getattr(a.params, name), getattr(b.params, name), rtol=tol, atol=tol
            )
        np.testing.assert_allclose(a.history.loss, b.history.loss, rtol=tol)
        np.testing.assert_array_equal(a.history.train_accuracy, b.history.train_accuracy)


def test_dead_pixels_keep_their_starting_weights(small):
    # A pixel that is 0 in every training image gets a gradient of exactly 0.
    X, y, _, _ = small
    X = X[:300]
    dead = np.flatnonzero(~X.any(axis=0))
    r = gradient_descent(X, y[:300], iterations=10)
    start = init_params(10, 0)
    np.testing.assert_array_equal(r.params.W1[dead], start.W1[dead])
    assert not np.array_equal(r.params.W1[X.any(axis=0)], start.W1[X.any(axis=0)])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden": 0}, "hidden must be an integer between 1 and 10000, got 0"),
        ({"alpha": -0.1}, "alpha must be in (0, 1000000], got -0.1"),
        ({"alpha": 0}, "alpha must be in (0, 1000000], got 0"),
        ({"alpha": 1e300}, "alpha must be in (0, 1000000], got 1e+300"),
        ({"iterations": -1}, "iterations must be an integer between 0 and 10000000, got -1"),
        ({"seed": -3}, "seed must be an integer between 0 and 4294967295, got -3"),
        ({"seed": 2**64}, "seed must be an integer between 0 and 4294967295, got 1844674407"),
        ({"batch_size": 0}, "batch_size must be an integer between 1 and 1000000 (or None), got 0"),
        ({"init": "xavier"}, "init must be one of ['uniform', 'he'], got 'xavier'"),
        ({"dtype": "float16"}, "dtype must be one of ['float32', 'float64'], got 'float16'"),
        ({"activation": "gelu"}, "activation must be one of"),
        ({"snapshot_every": 0}, "snapshot_every must be an integer between 1 and 1000000, got 0"),
        ({"dtype": "1_0"}, "dtype must be one of ['float32', 'float64'], got '1_0'"),
        ({"dtype": "(1000000000,)f8"}, "dtype must be one of ['float32', 'float64'], got"),
        ({"dtype": "9" * 5000}, "(5,000 characters)"),
        ({"callback_every": 0}, "callback_every must be >= 1, got 0"),
    ],
)
def test_bad_settings_name_parameter_rule_and_value(small, kwargs, message):
    X, y, _, _ = small
    with pytest.raises(ValueError) as error:
        gradient_descent(X[:20], y[:20], **{"iterations": 1, **kwargs})
    assert message in str(error.value)


def test_bad_data_names_the_problem(small):
    X, y, X_dev, y_dev = small
    X, y = X[:20], y[:20]
    with pytest.raises(ValueError, match=r"X must have shape \(m, 784\).*got shape \(20, 783\)"):
        gradient_descent(X[:, :783], y, iterations=1)
    with pytest.raises(
        ValueError,
        match=r"y must have one label per image: shape \(20,\), got "
        r"shape \(19,\)",
    ):
        gradient_descent(X, y[:19], iterations=1)
    bad = y.copy()
    bad[5] = 10
    with pytest.raises(ValueError, match="y must hold labels 0..9, got 10 at index 5"):
        gradient_descent(X, bad, iterations=1)
    bad[5] = -1
    with pytest.raises(ValueError, match="y must hold labels 0..9, got -1 at index 5"):
        gradient_descent(X, bad, iterations=1)
    Xf = X / 255.0
    Xf[3, 100] = np.nan
    with pytest.raises(ValueError, match="X must not contain NaN, got NaN in row 3"):
        gradient_descent(Xf, y, iterations=1)
    with pytest.raises(ValueError, match=r"X float pixels must be in \[0, 1\]"):
        gradient_descent(X.astype(np.float32), y, iterations=1)
    with pytest.raises(ValueError, match="X_dev must have shape"):
        gradient_descent(X, y, iterations=1, X_dev=X_dev[:, :10], y_dev=y_dev)
    with pytest.raises(ValueError, match="X_dev and y_dev must be given together"):
        gradient_descent(X, y, iterations=1, X_dev=X_dev)
    r = gradient_descent(X, y, iterations=1)
    with pytest.raises(ValueError, match="training set of 20 rows, got 19 rows"):
        continue_training(r, X[:19], y[:19], iterations=1)


def test_zero_iterations_is_the_initial_network(small):
    X, y, _, _ = small
    r = gradient_descent(X[:50], y[:50], iterations=0, seed=7)
    assert r.iterations == 0 and len(r.history) == 0 and r.snapshot_iterations.tolist() == [0]
    np.testing.assert_array_equal(r.params.W1, nnmath.init_params(10, 7).W1)
    assert np.isfinite(r.loss)


@pytest.mark.parametrize("batch", [None, 700])
def test_worker_threads_do_not_change_the_numbers(small, batch):
    """Blocks are added in block order whichever thread computed them."""
    X, y, X_dev, y_dev = small
    one = gradient_descent(
        X, y, iterations=8, hidden=16, X_dev=X_dev, y_dev=y_dev, batch_size=batch
    )
    two = gradient_descent(
        X, y, iterations=8, hidden=16, X_dev=X_dev, y_dev=y_dev, batch_size=batch, workers=2
    )
    assert fingerprint(one) == fingerprint(two)
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        gradient_descent(X, y, iterations=1, workers=0)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_blocks_come_back_in_order_and_errors_are_raised(workers):
    from nnmath._threads import Blocks

    def square_but_3(k):
        if k == 3:
            raise ArithmeticError("no 3")
        return k * k

    with Blocks(workers, np.float32, 16) as blocks:
        assert list(blocks.map(lambda k: k * k, range(9))) == [k * k for k in range(9)]
        with pytest.raises(ArithmeticError, match="no 3"):
            list(blocks.map(square_but_3, range(9)))
        assert list(blocks.map(lambda k: -k, range(4))) == [0, -1, -2, -3]  # still usable


def test_float64_training_matches_an_independent_oracle(small):
    """The block loop's rewrites (row blocks, all-zero pixel columns left out, 1/255 on W1, dW1
    as (dZ1.T @ X).T, 2 workers) against the notebook's layout written out plainly: samples as
    columns, one full-batch matrix per step, every derivative by hand, float64."""
    X, y, _, _ = small
    m = X.shape[0]
    r = gradient_descent(X, y, iterations=5, dtype="float64", workers=2)

    A0 = X.T / 255.0  # (784, m)
    Y = np.eye(10)[y].T  # (10, m)
    start = init_params(10, 0, dtype="float64")
    W1, b1 = start.W1.T.copy(), start.b1[:, None]  # (h, 784), (h, 1)
    W2, b2 = start.W2.T.copy(), start.b2[:, None]  # (10, h), (10, 1)
    for _ in range(5):
        Z1 = W1 @ A0 + b1
        A1 = np.maximum(Z1, 0)
        Z2 = W2 @ A1 + b2
        E = np.exp(Z2 - Z2.max(axis=0))
        A2 = E / E.sum(axis=0)
        dZ2 = (A2 - Y) / m
        dZ1 = (W2.T @ dZ2) * (Z1 > 0)
        W2, b2 = W2 - 0.1 * dZ2 @ A1.T, b2 - 0.1 * dZ2.sum(axis=1, keepdims=True)
        W1, b1 = W1 - 0.1 * dZ1 @ A0.T, b1 - 0.1 * dZ1.sum(axis=1, keepdims=True)
    for ours, oracle in ((r.params.W1, W1.T), (r.params.b1, b1[:, 0]), (r.params.W2, W2.T)):
        np.testing.assert_allclose(ours, oracle, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(r.params.b2, b2[:, 0], rtol=1e-5, atol=1e-9)

"""save_result / load_result: arrays in .npz, metadata as JSON, no pickle, damage detected."""

import io
import zipfile

import numpy as np
import pytest

from nnmath import continue_training, gradient_descent, load_result, save_result


@pytest.fixture
def run(small):
    X, y, X_dev, y_dev = small
    return gradient_descent(
        X[:300],
        y[:300],
        iterations=60,
        X_dev=X_dev,
        y_dev=y_dev,
        snapshot_every=25,
        batch_size=100,
        init="he",
    )


def test_round_trip_keeps_every_number(run, tmp_path):
    path = tmp_path / "run.npz"
    save_result(run, path)
    back = load_result(path)
    assert back.config == run.config
    for name, a in run.params.arrays().items():
        np.testing.assert_array_equal(getattr(back.params, name), a)
    for name, a in run.history.arrays().items():
        np.testing.assert_array_equal(getattr(back.history, name), a)
    np.testing.assert_array_equal(back.snapshot_iterations, run.snapshot_iterations)
    for name, a in run.snapshots.items():
        np.testing.assert_array_equal(back.snapshots[name], a)
    for name in (
        "iterations",
        "status",
        "diverged_at",
        "message",
        "loss",
        "train_accuracy",
        "dev_accuracy",
        "dev_loss",
        "n_train",
    ):
        assert getattr(back, name) == getattr(run, name), name


def test_a_loaded_run_continues_exactly(run, small, tmp_path):
    X, y, X_dev, y_dev = small
    buffer = io.BytesIO()
    save_result(run, buffer)
    buffer.seek(0)
    loaded = load_result(buffer)
    a = continue_training(loaded, X[:300], y[:300], iterations=15, X_dev=X_dev, y_dev=y_dev)
    b = continue_training(run, X[:300], y[:300], iterations=15, X_dev=X_dev, y_dev=y_dev)
    np.testing.assert_array_equal(a.params.W1, b.params.W1)
    np.testing.assert_array_equal(a.history.loss, b.history.loss)


def test_damaged_files_raise_value_error_naming_the_file(run, tmp_path):
    path = tmp_path / "run.npz"
    save_result(run, path)
    data = path.read_bytes()
    broken = tmp_path / "truncated.npz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.npz"):
        load_result(broken)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.npz"):
        load_result(garbage)
    with pytest.raises(ValueError, match="missing.npz"):
        load_result(tmp_path / "missing.npz")


def test_wrong_contents_raise_value_error(run, tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz"):
        load_result(other)
    # an object array would need pickle: refused, not executed
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        load_result(pickled)
    # arrays of the wrong shape are caught
    path = tmp_path / "run.npz"
    save_result(run, path)
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["params/W1"] = arrays["params/W1"][:100]
    tampered = tmp_path / "tampered.npz"
    np.savez(tampered, **arrays)
    with pytest.raises(ValueError, match=r"tampered.npz.*W1 must have shape \(784, 10\)"):
        load_result(tampered)
    assert zipfile.is_zipfile(path)

"""nnmath/predict.py, the standalone predictor: copied alone into a folder and run in a process
that cannot import this project, it must give exactly nnmath.make_predictions' digits."""

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnmath
from nnmath import gradient_descent, make_predictions, save_model

SCRIPT = Path(nnmath.__file__).with_name("predict.py")
HEADER = ",".join(f"pixel{j}" for j in range(784))


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """A folder holding only predict.py, and an environment in which the project is invisible."""
    folder = tmp_path_factory.mktemp("alone")
    shutil.copy(SCRIPT, folder / "predict.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    check = subprocess.run(
        [sys.executable, "-c", "import nnmath"], cwd=folder, env=env, capture_output=True
    )
    assert check.returncode != 0 and b"No module named 'nnmath'" in check.stderr
    return folder, env


def run(alone, *args):
    folder, env = alone
    return subprocess.run(
        [sys.executable, "predict.py", *map(str, args)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def trained(split5k):
    X, y, X_dev, y_dev = split5k
    return gradient_descent(X[:2000], y[:2000], iterations=40, hidden=16, alpha=0.2)


def write_csv(path, X, labels=None):
    rows = X.astype(int) if labels is None else np.column_stack([labels, X]).astype(int)
    header = HEADER if labels is None else "label," + HEADER
    buffer = io.StringIO()
    np.savetxt(buffer, rows, fmt="%d", delimiter=",", header=header, comments="")
    path.write_text(buffer.getvalue())


def read_submission(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "ImageId,Label"
    ids, labels = zip(*(map(int, line.split(",")) for line in lines[1:]), strict=True)
    assert list(ids) == list(range(1, len(lines)))
    return np.array(labels)


def test_the_same_digits_as_make_predictions(alone, trained, split5k, tmp_path):
    X = split5k[2][:900]
    write_csv(tmp_path / "test.csv", X)
    save_model(tmp_path / "model.npz", trained.params)
    out = tmp_path / "submission.csv"
    result = run(alone, tmp_path / "model.npz", tmp_path / "test.csv", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "wrote 900 predictions (16 hidden units)" in result.stdout
    np.testing.assert_array_equal(read_submission(out), make_predictions(X, trained.params))


def test_more_rows_than_one_block_and_a_label_column(alone, trained, split5k, tmp_path):
    X_train, y_train, X_dev, _ = split5k
    X = np.concatenate([X_train, X_dev])[:4500]  # 4,096 + 404: two blocks, as predict_proba
    write_csv(tmp_path / "train.csv", X, labels=np.concatenate([y_train, split5k[3]])[:4500])
    save_model(tmp_path / "model.npz", trained.params)
    result = run(alone, tmp_path / "model.npz", tmp_path / "train.csv", "-o", tmp_path / "s.csv")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(
        read_submission(tmp_path / "s.csv"), make_predictions(X, trained.params)
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
def test_other_activations_and_float64(alone, split5k, tmp_path, activation):
    X_train, y_train, X_dev, _ = split5k
    r = gradient_descent(
        X_train[:1000], y_train[:1000], iterations=20, hidden=8, activation=activation,
        dtype="float64",
    )  # fmt: skip
    save_model(tmp_path / "model.npz", r.params, {"activation": activation})
    write_csv(tmp_path / "test.csv", X_dev)
    result = run(alone, tmp_path / "model.npz", tmp_path / "test.csv", "-o", tmp_path / "s.csv")
    assert result.returncode == 0, result.stderr
    expected = make_predictions(X_dev, r.params, activation=activation)
    np.testing.assert_array_equal(read_submission(tmp_path / "s.csv"), expected)


def test_the_notebooks_layout(alone, trained, split5k, tmp_path):
    p = trained.params
    np.savez(tmp_path / "nb.npz", W1=p.W1.T, b1=p.b1[:, None], W2=p.W2.T, b2=p.b2[:, None])
    X = split5k[2][:300]
    write_csv(tmp_path / "test.csv", X)
    result = run(alone, tmp_path / "nb.npz", tmp_path / "test.csv", "-o", tmp_path / "s.csv")
    assert result.returncode == 0, result.stderr
    loaded = nnmath.load_model(tmp_path / "nb.npz").params
    np.testing.assert_array_equal(read_submission(tmp_path / "s.csv"), make_predictions(X, loaded))


def test_a_line_with_a_missing_column_is_named(alone, trained, split5k, tmp_path):
    write_csv(tmp_path / "test.csv", split5k[2][:5])
    lines = (tmp_path / "test.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # line 4 loses pixel783
    (tmp_path / "test.csv").write_text("\n".join(lines) + "\n")
    save_model(tmp_path / "model.npz", trained.params)
    result = run(alone, tmp_path / "model.npz", tmp_path / "test.csv")
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "test.csv, line 4: expected 784 values like the header, found 783 "
        "(column pixel783 is missing)"
    )


def test_a_bad_pixel_is_named_by_line_and_column(alone, trained, split5k, tmp_path):
    write_csv(tmp_path / "test.csv", split5k[2][:5])
    lines = (tmp_path / "test.csv").read_text().splitlines()
    cells = lines[2].split(",")
    cells[100] = "256"
    lines[2] = ",".join(cells)
    (tmp_path / "test.csv").write_text("\n".join(lines) + "\n")
    save_model(tmp_path / "model.npz", trained.params)
    result = run(alone, tmp_path / "model.npz", tmp_path / "test.csv")
    assert result.returncode == 1
    assert "test.csv, line 3, column pixel100: expected a whole number 0..255, found '256'" in (
        result.stderr
    )


def test_a_header_of_the_wrong_width(alone, trained, tmp_path):
    (tmp_path / "test.csv").write_text("pixel0,pixel1\n0,0\n")
    save_model(tmp_path / "model.npz", trained.params)
    result = run(alone, tmp_path / "model.npz", tmp_path / "test.csv")
    assert result.returncode == 1
    assert "test.csv, line 1: expected 784 columns (pixel0..pixel783) or 785" in result.stderr


def test_a_pickled_model_is_not_loaded(alone, tmp_path, split5k):
    np.save(tmp_path / "bad.npy", np.array([object()]), allow_pickle=True)
    write_csv(tmp_path / "test.csv", split5k[2][:2])
    result = run(alone, tmp_path / "bad.npy", tmp_path / "test.csv")
    assert result.returncode == 1 and "not a model .npz file" in result.stderr


def test_nan_weights_are_refused(alone, trained, split5k, tmp_path):
    arrays = dict(trained.params.arrays())
    arrays["b2"] = np.full(10, np.nan, np.float32)
    np.savez(tmp_path / "m.npz", **arrays)
    write_csv(tmp_path / "test.csv", split5k[2][:2])
    result = run(alone, tmp_path / "m.npz", tmp_path / "test.csv")
    assert result.returncode == 1 and "array b2 must hold finite" in result.stderr


def test_imports_only_numpy_and_the_standard_library():
    import ast

    tree = ast.parse(SCRIPT.read_text())
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules <= {"__future__", "argparse", "json", "sys", "numpy"}


def test_a_single_npy_array_is_not_a_model(alone, tmp_path, split5k):
    np.save(tmp_path / "W1.npy", np.zeros((784, 10), np.float32))
    write_csv(tmp_path / "test.csv", split5k[2][:2])
    result = run(alone, tmp_path / "W1.npy", tmp_path / "test.csv")
    assert result.returncode == 1
    assert "not a model .npz file (one array, not W1 b1 W2 b2)" in result.stderr

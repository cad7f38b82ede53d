"""data.submission and `python -m data submission`: Kaggle's ImageId,Label file from a model."""

import numpy as np
import pytest

import nnmath
from data import DataError, load_dataset
from data.__main__ import main
from data.submission import check_submission, make_submission, submission_csv
from tests.data.helpers import csv_text, digits


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    images, labels = digits(200, seed=3)
    r = nnmath.gradient_descent(images.reshape(200, -1), labels, iterations=15, hidden=6)
    path = tmp_path_factory.mktemp("m") / "model.npz"
    nnmath.save_model(path, r.params)
    return path, r.params


def test_submission_file_is_kaggles_format(model_file, tmp_path, capsys):
    path, params = model_file
    images, _ = digits(37, seed=9)
    (tmp_path / "test.csv").write_text(csv_text(images))
    out = tmp_path / "submission.csv"
    assert main(["submission", str(path), str(tmp_path / "test.csv"), "-o", str(out)]) == 0
    assert "wrote 37 predictions" in capsys.readouterr().out
    text = out.read_text()
    assert check_submission(text, 37) == 37
    lines = text.splitlines()
    assert lines[0] == "ImageId,Label" and lines[1].startswith("1,") and lines[-1].startswith("37,")
    expected = nnmath.make_predictions(images.reshape(37, -1), params)
    assert [int(line.split(",")[1]) for line in lines[1:]] == expected.tolist()


def test_labels_in_the_file_are_ignored(model_file, tmp_path):
    path, params = model_file
    images, labels = digits(12, seed=4)
    (tmp_path / "train.csv").write_text(csv_text(images, labels))
    text, n = make_submission(path, tmp_path / "train.csv")
    assert n == 12
    assert text == submission_csv(nnmath.make_predictions(images.reshape(12, -1), params))


def test_a_test_csv_with_a_missing_column(model_file, tmp_path, capsys):
    path, _ = model_file
    images, _ = digits(5)
    lines = csv_text(images).splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # line 4: 783 values
    (tmp_path / "test.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"test\.csv, line 4: expected 784 values"):
        load_dataset(tmp_path / "test.csv", part="test")
    assert main(["submission", str(path), str(tmp_path / "test.csv")]) == 1
    assert capsys.readouterr().err.startswith("error: test.csv, line 4: expected 784 values")


def test_a_bad_cell_names_line_and_column(model_file, tmp_path):
    path, _ = model_file
    images, _ = digits(5)
    lines = csv_text(images).splitlines()
    cells = lines[2].split(",")
    cells[10] = "x"
    lines[2] = ",".join(cells)
    (tmp_path / "test.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"test\.csv, line 3.*pixel10"):
        make_submission(path, tmp_path / "test.csv")


def test_a_bad_model_file_is_a_data_error(tmp_path, capsys):
    (tmp_path / "model.npz").write_bytes(b"not a zip")
    images, _ = digits(3)
    (tmp_path / "test.csv").write_text(csv_text(images))
    assert main(["submission", str(tmp_path / "model.npz"), str(tmp_path / "test.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: model.npz: not a usable model file: expected an .npz")


@pytest.mark.parametrize(
    "text, message",
    [
        ("ImageId,Label\n1,3\n2,10\n", "line 3: expected '2,<digit 0..9>'"),
        ("ImageId,Label\n2,3\n", "line 2: expected '1,<digit 0..9>'"),
        ("id,label\n1,3\n", "line 1: expected the header"),
        ("ImageId,Label\n1,3\n", "expected 2 rows, found 1"),
    ],
)
def test_check_submission_refuses(text, message):
    with pytest.raises(DataError, match=message):
        check_submission(text, 2)


def test_predictions_keep_the_float64_notebook_layout(tmp_path):
    images, labels = digits(50)
    X = images.reshape(50, -1)
    p = nnmath.gradient_descent(X, labels, iterations=5, hidden=4, dtype="float64").params
    np.savez(tmp_path / "nb.npz", W1=p.W1.T, b1=p.b1[:, None], W2=p.W2.T, b2=p.b2[:, None])
    (tmp_path / "test.csv").write_text(csv_text(images))
    text, _ = make_submission(tmp_path / "nb.npz", tmp_path / "test.csv")
    assert text == submission_csv(nnmath.make_predictions(X, p))

"""Kaggle's submission file from a model and the competition's test.csv.

``ImageId,Label``, one line per test image in file order, ids from 1 (28,000 lines for
digit-recognizer). The digits are nnmath.make_predictions' — the same as nnmath/predict.py's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import nnmath

from .errors import DataError
from .loading import load_dataset

HEADER = "ImageId,Label"
KAGGLE_TEST_ROWS = 28_000


def load_model(source, name: str | None = None) -> nnmath.Model:
    """nnmath.load_model, its ValueError turned into a DataError naming the file."""
    try:
        return nnmath.load_model(source)
    except ValueError as error:
        message = str(error) if name is None else str(error).replace(str(source), name, 1)
        raise DataError(message) from error


def predictions(model: nnmath.Model, dataset) -> np.ndarray:
    """Digits (n,) for every image of ``dataset`` (labels, if any, are not looked at)."""
    return nnmath.make_predictions(dataset.X, model.params, activation=model.activation)


def submission_csv(labels) -> str:
    """The submission text: header ``ImageId,Label`` then ``i,digit`` for i = 1..n."""
    lines = [HEADER] + [f"{i},{int(d)}" for i, d in enumerate(labels, start=1)]
    return "\n".join(lines) + "\n"


def check_submission(text: str, n: int | None = None) -> int:
    """Rows of a submission text; DataError naming the line when it is not Kaggle's format."""
    lines = text.splitlines()
    if not lines or lines[0] != HEADER:
        raise DataError(f"submission, line 1: expected the header {HEADER!r}")
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split(",")
        if len(parts) != 2 or parts[0] != str(number - 1) or parts[1] not in "0123456789":
            raise DataError(f"submission, line {number}: expected '{number - 1},<digit 0..9>'")
    rows = len(lines) - 1
    if n is not None and rows != n:
        raise DataError(f"submission: expected {n:,} rows, found {rows:,}")
    return rows


def make_submission(model_path, test_csv) -> tuple[str, int]:
    """(submission text, number of images) for a model file and a test.csv (or any dataset
    source that load_dataset reads). DataError for either file, naming line and column."""
    model = load_model(model_path, Path(model_path).name)
    dataset = load_dataset(test_csv, part="test")
    labels = predictions(model, dataset)
    return submission_csv(labels), len(labels)

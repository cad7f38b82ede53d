"""Predict digits with a model file from nnmath, using only NumPy and the standard library.

Copy this file next to a model and run:

    python predict.py model.npz test.csv -o submission.csv

``test.csv`` is Kaggle's digit-recognizer test set: a header ``pixel0,...,pixel783`` then one image
per line, pixels 0..255 (a leading ``label`` column, as in train.csv, is ignored). The output is
Kaggle's submission format: ``ImageId,Label`` with ids from 1.

The model is an .npz with W1 (784, h), b1 (h,), W2 (h, 10), b2 (10,) and optional JSON text
``meta`` (as nnmath.save_model writes it), or the notebook's W1 (h, 784), b1 (h, 1), W2 (10, h),
b2 (10, 1). It is loaded with allow_pickle=False: a model file can hold numbers, never code.

The arithmetic is nnmath's (make_predictions) step by step, so the predictions are the same:
pixels cast to the weights' dtype then multiplied by 1/255 in that dtype, blocks of 4,096 rows,
Z1 = X @ W1 + b1, A1 = g(Z1), Z2 = A1 @ W2 + b2, softmax by rows, argmax.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

PIXELS = 784
CLASSES = 10
BLOCK_ROWS = 4096  # nnmath.predict_proba's block_rows
PARAM_NAMES = ("W1", "b1", "W2", "b2")


class PredictError(ValueError):
    """A model or CSV that cannot be used; the message names the file, line, column or array."""


# ---- the model -------------------------------------------------------------------------------


def load_model(path):
    """(W1, b1, W2, b2, activation) in nnmath's layout from an .npz model file."""
    try:
        npz = np.load(path, allow_pickle=False)
        if not hasattr(npz, "files"):  # a single .npy array
            raise PredictError(f"{path}: not a model .npz file (one array, not W1 b1 W2 b2)")
        with npz:
            missing = [k for k in PARAM_NAMES if k not in npz.files]
            if missing:
                raise PredictError(f"{path}: missing array {', '.join(missing)}")
            arrays = {k: npz[k] for k in PARAM_NAMES}
            meta = json.loads(str(npz["meta"])) if "meta" in npz.files else {}
    except PredictError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise PredictError(f"{path}: not a model .npz file ({error})") from error
    if not isinstance(meta, dict):
        raise PredictError(f"{path}: array meta must be a JSON object")
    return _params(path, arrays, meta)


def _params(path, arrays, meta):
    """The four arrays checked, in nnmath's layout and one dtype, and the activation."""
    for k, a in arrays.items():
        if a.dtype.name not in ("float32", "float64") or not np.isfinite(a).all():
            raise PredictError(f"{path}: array {k} must hold finite float32/float64 numbers")
    W1, b1, W2, b2 = (arrays[k] for k in PARAM_NAMES)
    if W1.ndim == 2 and W1.shape[1] == PIXELS and b1.ndim == 2:  # the notebook's layout
        W1, b1, W2, b2 = W1.T, b1[:, 0], W2.T, b2[:, 0]
    h = W1.shape[1] if W1.ndim == 2 else -1
    shapes = {"W1": (PIXELS, h), "b1": (h,), "W2": (h, CLASSES), "b2": (CLASSES,)}
    for k, a in zip(PARAM_NAMES, (W1, b1, W2, b2), strict=True):
        if a.shape != shapes[k]:
            raise PredictError(f"{path}: array {k} must have shape {shapes[k]}, got {a.shape}")
    dtype = np.result_type(W1, b1, W2, b2)  # one dtype for all, as nnmath.load_model
    W1, b1, W2, b2 = (np.ascontiguousarray(a, dtype=dtype) for a in (W1, b1, W2, b2))
    activation = meta.get("activation", "relu")
    if activation not in ACTIVATIONS:
        raise PredictError(f"{path}: unknown activation {activation!r}")
    return W1, b1, W2, b2, activation


# ---- the network: nnmath/activations.py and network.py, the forward pass only ----------------


def _sigmoid(Z):
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))


ACTIVATIONS = {
    "relu": lambda Z: np.maximum(Z, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "identity": lambda Z: Z,
}


def _row_max(Z):
    return np.ascontiguousarray(Z.T).max(axis=0)[:, None]  # (m, 1)


def _row_sum(Z):
    return np.ascontiguousarray(Z.T).sum(axis=0)[:, None]  # (m, 1)


def softmax(Z):
    E = np.exp(Z - _row_max(Z))  # (m, 10)
    return E / _row_sum(E)  # (m, 10), rows sum to 1


def predict(X, W1, b1, W2, b2, activation="relu"):
    """Digits (m,) for uint8 images X (m, 784)."""
    g = ACTIVATIONS[activation]
    dtype = W1.dtype
    A2 = np.empty((X.shape[0], CLASSES), dtype)  # (m, 10)
    for start in range(0, X.shape[0], BLOCK_ROWS):
        rows = X[start : start + BLOCK_ROWS]
        Xb = np.empty(rows.shape, dtype)  # (block, 784)
        np.copyto(Xb, rows, casting="unsafe")
        np.multiply(Xb, dtype.type(1 / 255), out=Xb)  # pixels 0..255 -> [0, 1]
        Z1 = Xb @ W1 + b1  # (block, h)
        A1 = g(Z1)  # (block, h)
        Z2 = A1 @ W2 + b2  # (block, 10)
        A2[start : start + BLOCK_ROWS] = softmax(Z2)
    return np.argmax(A2, axis=1)


# ---- the CSV files ---------------------------------------------------------------------------


def read_images(path):
    """uint8 (m, 784) from a Kaggle-style CSV; PredictError naming the line and column."""
    with open(path, encoding="utf-8-sig") as f:
        lines = f.read().splitlines()
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first == len(lines):
        raise PredictError(f"{path}: the file is empty, expected a header pixel0..pixel783")
    cells = [c.strip().strip('"') for c in lines[first].split(",")]
    header = not all(c.lstrip("-").replace(".", "", 1).isdigit() for c in cells)
    names = cells if header else [f"{j + 1}" for j in range(len(cells))]
    if len(cells) not in (PIXELS, PIXELS + 1):
        raise PredictError(
            f"{path}, line {first + 1}: expected {PIXELS} columns (pixel0..pixel783) or "
            f"{PIXELS + 1} (label first), found {len(cells)}"
        )
    ncols = len(cells)
    skip = ncols - PIXELS  # a leading label column
    body = range(first + 1 if header else first, len(lines))
    rows = []
    numbers = []
    for i in body:
        line = lines[i]
        if not line.strip():
            continue
        found = line.count(",") + 1
        if found != ncols:
            raise PredictError(
                f"{path}, line {i + 1}: expected {ncols} values like the header, found {found}"
                + (f" (column {names[found]} is missing)" if found < ncols else "")
            )
        rows.append(line)
        numbers.append(i + 1)
    if not rows:
        raise PredictError(f"{path}: no images after the header")
    try:
        table = np.loadtxt(rows, delimiter=",", dtype=np.int64, ndmin=2)[:, skip:]
        bad = np.argwhere((table < 0) | (table > 255))
    except ValueError:
        table, bad = None, None
    if table is None or bad.size:
        _raise_bad_cell(path, rows, numbers, names, skip)
    return table.astype(np.uint8)


def _raise_bad_cell(path, rows, numbers, names, skip):
    for line, number in zip(rows, numbers, strict=True):
        for j, cell in enumerate(line.split(",")[skip:], start=skip):
            cell = cell.strip().strip('"')
            if not cell.isdigit() or int(cell) > 255:
                raise PredictError(
                    f"{path}, line {number}, column {names[j]}: expected a whole number "
                    f"0..255, found {cell[:40]!r}"
                )
    raise PredictError(f"{path}: could not read the pixels")  # pragma: no cover


def submission_text(labels):
    """Kaggle's format: a header ImageId,Label, then one line per image, ids from 1."""
    lines = ["ImageId,Label"] + [f"{i},{int(d)}" for i, d in enumerate(labels, start=1)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python predict.py",
        description="Predict digits for Kaggle's test.csv with a model file from nnmath.",
    )
    parser.add_argument("model", help="model .npz (from nnmath, or the notebook's W1 b1 W2 b2)")
    parser.add_argument("test_csv", help="Kaggle's test.csv: header pixel0..pixel783")
    parser.add_argument("-o", "--output", default="submission.csv", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        W1, b1, W2, b2, activation = load_model(args.model)
        X = read_images(args.test_csv)
    except (PredictError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    labels = predict(X, W1, b1, W2, b2, activation)
    with open(args.output, "w", newline="") as f:
        f.write(submission_text(labels))
    print(f"wrote {len(labels):,} predictions ({W1.shape[1]} hidden units) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

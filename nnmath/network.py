"""The two-layer network: the notebook's functions, one equation per line.

Notation and shapes are in the package docstring (``help(nnmath)``). Every function returns new
arrays; none writes into its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import INITS, N_CLASSES, N_PIXELS, check_choice, check_images, check_int, dtype_name
from ._threads import (
    Blocks,
    column_groups,
    one_blas_thread,
    others_turn,
    resolve_workers,
    small_products,
)
from .activations import ACTIVATIONS, col_sum, log_softmax, row_max, row_sum, softmax

# OpenBLAS's AVX-512 kernels (SkylakeX and later, _threads.SMALL_PRODUCT_KERNELS) take a product
# of at most SMALL_PRODUCT multiply-adds down a "small matrix" path that, for a narrow hidden
# layer, is far faster than their general one (the bench's tricks table; the Haswell kernel gets
# slower, so other kernels keep whole products). There, X @ W1 and dZ1.T @ X are taken in pieces
# of rows that fit the path: Z1 piece by piece is the same product, row by row; dW1 is the sum of
# the pieces' products, added in piece order. The pieces go to BLAS as one stack (a 3-d matmul),
# so numpy loops over them in C without taking the GIL back between pieces: a Python loop over
# them made two worker threads wait on each other.
SMALL_PRODUCT = 1_000_000
MIN_PIECE_ROWS = 32  # narrower pieces cost more in calls than the path saves
# Z1 = X @ W1 can go down either of two small-matrix kernels, the same sums to rounding. As
# numpy asks for it, a piece of X times W1 runs on one that works in whole AVX-512 registers of
# columns (16 floats, 8 doubles): 10 hidden units in float32 cost as much as 16. Asked as
# W1.T @ piece.T, it runs on the kernel OpenBLAS uses when its first matrix is read transposed
# ("TN"), whose cost grows with each unit: 30% less at 10 units (the bench's tricks table), more
# at 15 and 16. The TN kernel takes outputs of at most SMALL_TN_OUTPUT numbers (rows x units)
# and sums of at least MIN_TN_SUM terms (OpenBLAS's [sd]gemm_small_kernel_permit_skylakex.c), so
# its pieces are narrower; they still beat the whole product up to ~75 units (10% at 64).
SMALL_TN_OUTPUT = 1200
MIN_TN_SUM = 32
MIN_TN_ROWS = 16  # narrower TN pieces lose to the whole product (measured at 256 units)
TN_SPARE_COLUMNS = 3  # over piece @ W1: TN when whole registers leave this many columns unused
REGISTER_BYTES = 64  # AVX-512
# OpenBLAS's Haswell kernel (which AMD Zen runs too, _threads.COLUMN_GROUP_KERNELS) works through
# the columns of dZ1 in dZ1.T @ X in groups of COLUMN_GROUP; a last group of 2 or 3 columns goes
# down slower edge code than a whole group does. So there, in float32, dZ1 gets zero columns up
# to a whole group, and the zero rows of the product are dropped: at 10 hidden units 12 columns
# cost ~17% less than 10 (the bench's tricks table). A last group of 1 runs fast enough as it is,
# and float64's kernel gains nothing. Sums of the same terms, rounded in another order.
COLUMN_GROUP = 4


def _piece_rows(X, h) -> int | None:
    """Rows of X per piece for a product with h columns, or None to take it whole."""
    if not small_products():
        return None
    rows = _power_of_two(SMALL_PRODUCT // (h * X.shape[1]))  # of the most rows that fit the path
    return rows if MIN_PIECE_ROWS <= rows < X.shape[0] else None


def _power_of_two(fit: int) -> int:
    """The largest power of two <= fit (0 for 0): pieces of a power-of-two number of rows run
    ~4% faster than pieces of the most rows that fit."""
    return 1 << (fit.bit_length() - 1) if fit else 0


def _tn_rows(X, h) -> int | None:
    """Rows of X per piece for X @ W (h columns) asked as W.T @ piece.T, or None not to."""
    if not small_products() or X.shape[1] < MIN_TN_SUM:
        return None
    lanes = REGISTER_BYTES // X.dtype.itemsize  # columns per register
    if -h % lanes < TN_SPARE_COLUMNS and _piece_rows(X, h) is not None:
        return None  # piece @ W1 does as well
    rows = _power_of_two(min(SMALL_PRODUCT // (h * X.shape[1]), SMALL_TN_OUTPUT // h))
    return rows if MIN_TN_ROWS <= rows < X.shape[0] else None


# The (m, 10) arrays of a pass (Z2, A2, dZ2), and the (m, hidden) ones (Z1, A1, dA1, dZ1) of a
# hidden layer whose X @ W1 goes in pieces, are stored column by column (Fortran
# order): the softmax's and the loss's reductions over the classes of each sample, and the bias
# adds, then run down contiguous columns, several times faster than numpy's row by row case over
# 10 columns (the bench's tricks table). A layer too wide for pieces (from ~76 units at 784
# pixels) has its whole X @ W1 faster written row by row, so there Z1 and the arrays derived from
# it stay row-major. Shapes, values and indexing are the same either way.
def columns(m, n, dtype) -> np.ndarray:
    """An empty (m, n) array stored column by column."""
    return np.empty((m, n), dtype, order="F")


def matmul(A, B) -> np.ndarray:
    """A @ B, (m, k) @ (k, n) -> (m, n), stored column by column."""
    return np.matmul(A, B, out=columns(A.shape[0], B.shape[1], np.result_type(A, B)))


def times(X, W) -> np.ndarray:
    """X @ W, (m, k) @ (k, h) -> (m, h), in pieces of rows where the BLAS prefers them (then
    stored column by column)."""
    m, k = X.shape
    h = W.shape[1]
    rows = _tn_rows(X, h)
    if rows is not None:
        n, q = m // rows * rows, m // rows  # rows in whole pieces, pieces
        out = columns(m, h, np.result_type(X, W))  # (m, h): out.T is (h, m) row by row
        WT = np.ascontiguousarray(W.T)  # (h, k): a transposed view would pick another kernel
        # out.T[:, :n] seen as q pieces of (h, rows): Z1.T piece by piece, landing in out
        pieces = out.T[:, :n].reshape(h, q, rows).transpose(1, 0, 2)  # (q, h, rows)
        with others_turn():
            np.matmul(WT, X[:n].reshape(q, rows, k).transpose(0, 2, 1), out=pieces)
            if n < m:
                np.matmul(WT, X[n:].T, out=out.T[:, n:])
        return out
    rows = _piece_rows(X, h)
    if rows is None:
        with others_turn():
            return X @ W
    n, q = m // rows * rows, m // rows  # rows in whole pieces, pieces
    out = columns(m, h, np.result_type(X, W))  # (m, h)
    # out[:n] seen as q pieces of (rows, h): a view, so the stack's results land in out
    pieces = out.T[:, :n].reshape(h, q, rows).transpose(1, 2, 0)  # (q, rows, h)
    with others_turn():
        np.matmul(X[:n].reshape(q, rows, k), W, out=pieces)
        if n < m:
            np.matmul(X[n:], W, out=out[n:])
    return out


def transposed_times(D, X) -> np.ndarray:
    """D.T @ X, (m, h) and (m, k) -> (h, k): a sum over the m rows, added up piece by piece
    where the BLAS prefers pieces, with D's columns made up to whole groups where it prefers
    those (COLUMN_GROUP)."""
    (m, h), k = D.shape, X.shape[1]
    rows = _piece_rows(X, h)
    DT = D.T  # (h, m): row by row when D is stored column by column
    if rows is None:
        if h % COLUMN_GROUP > 1 and np.result_type(D, X) == np.float32 and column_groups():
            padded = np.zeros((h + COLUMN_GROUP - h % COLUMN_GROUP, m), D.dtype)
            padded[:h] = DT  # (whole groups, m): D's columns, then zero ones
            DT = padded
        with others_turn():
            return (DT @ X)[:h]  # (h, k)
    n, q = m // rows * rows, m // rows
    pieces = DT[:, :n].reshape(h, q, rows).transpose(1, 0, 2)  # (q, h, rows)
    with others_turn():
        total = np.matmul(pieces, X[:n].reshape(q, rows, k)).sum(axis=0)  # (h, k)
        if n < m:
            total += DT[:, n:] @ X[n:]
    return total


@dataclass(frozen=True)
class Params:
    """Weights and biases. Library code never writes into these arrays."""

    W1: np.ndarray  # (784, hidden)
    b1: np.ndarray  # (hidden,)
    W2: np.ndarray  # (hidden, 10)
    b2: np.ndarray  # (10,)

    @property
    def hidden(self) -> int:
        return self.W1.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.W1.dtype

    def arrays(self) -> dict[str, np.ndarray]:
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def is_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in self.arrays().values())


class Cache(NamedTuple):
    """What forward propagation computed and backward propagation needs."""

    Z1: np.ndarray  # (m, hidden)  hidden pre-activations
    A1: np.ndarray  # (m, hidden)  hidden activations g(Z1)
    Z2: np.ndarray  # (m, 10)      logits
    A2: np.ndarray  # (m, 10)      class probabilities, rows sum to 1


@dataclass(frozen=True)
class Grads:
    """Gradients of the mean cross-entropy, same shapes as Params."""

    dW1: np.ndarray  # (784, hidden)
    db1: np.ndarray  # (hidden,)
    dW2: np.ndarray  # (hidden, 10)
    db2: np.ndarray  # (10,)

    def __add__(self, other: Grads) -> Grads:
        return Grads(
            self.dW1 + other.dW1, self.db1 + other.db1, self.dW2 + other.dW2, self.db2 + other.db2
        )


def init_params(hidden=10, seed=0, *, init="uniform", dtype=np.float32) -> Params:
    """Random starting parameters.

    "uniform" (the notebook's): every parameter uniform in [-0.5, 0.5), i.e. rand(...) - 0.5,
    drawn in float64 from ``np.random.default_rng(seed)`` then cast, so float32 and float64 runs
    start from the same numbers. Weights are drawn in the notebook's (out, in) layout and
    transposed, so W1 here is exactly the notebook's W1.T for the same generator.
    "he": weights normal with std sqrt(2 / fan_in), biases zero (a better start for ReLU).
    ``seed`` may also be a ``np.random.Generator``.
    """
    hidden = check_int("hidden", hidden, 1)
    check_choice("init", init, INITS)
    dtype = np.dtype(dtype_name(dtype))
    if not isinstance(seed, np.random.Generator):
        seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    if init == "uniform":
        W1 = (rng.random((hidden, N_PIXELS)) - 0.5).T  # (784, hidden)
        b1 = rng.random(hidden) - 0.5  # (hidden,)
        W2 = (rng.random((N_CLASSES, hidden)) - 0.5).T  # (hidden, 10)
        b2 = rng.random(N_CLASSES) - 0.5  # (10,)
    else:
        W1 = rng.normal(0, np.sqrt(2 / N_PIXELS), (hidden, N_PIXELS)).T  # (784, hidden)
        b1 = np.zeros(hidden)  # (hidden,)
        W2 = rng.normal(0, np.sqrt(2 / hidden), (N_CLASSES, hidden)).T  # (hidden, 10)
        b2 = np.zeros(N_CLASSES)  # (10,)
    return Params(*(np.ascontiguousarray(a, dtype=dtype) for a in (W1, b1, W2, b2)))


def scale_pixels(X, dtype=np.float32, *, out=None) -> np.ndarray:
    """uint8 pixels 0..255 -> floats in [0, 1] (times 1/255); float input is only cast.

    ``out`` (same shape, ``dtype``) receives the result instead of a new array.
    """
    dtype = np.dtype(dtype)
    if out is None:
        out = np.empty(X.shape, dtype)
    np.copyto(out, X, casting="unsafe")
    if X.dtype == np.uint8:
        np.multiply(out, dtype.type(1 / 255), out=out)
    return out


def forward_propagation(params: Params, X, *, activation="relu", keep=None) -> Cache:
    """X (m, 784) floats in [0, 1] -> Cache(Z1, A1, Z2, A2).

    ``keep`` (m, hidden): inverted dropout's mask, 0 for a dropped unit and 1 / (1 - p) for a
    kept one, multiplied into A1 (training only; the same mask goes to backward_propagation).
    """
    g = ACTIVATIONS[activation].function
    Z1 = times(X, params.W1)  # (m, hidden)   X @ W1 ...
    Z1 += params.b1  # ... + b1 (Z1 is a new array: added in place)
    A1 = g(Z1)  # (m, hidden)
    if keep is not None:
        A1 = A1 * keep  # (m, hidden)  dropped units 0, kept ones scaled by 1 / (1 - p)
    Z2 = matmul(A1, params.W2)  # (m, 10)      A1 @ W2 ...
    Z2 += params.b2  # ... + b2
    A2 = softmax(Z2)  # (m, 10)
    return Cache(Z1, A1, Z2, A2)


def backward_propagation(
    params: Params, cache: Cache, X, Y, *, m=None, activation="relu", keep=None
) -> Grads:
    """Gradients of the mean cross-entropy over ``m`` samples (default: the rows of X).

    Passing the full batch size as ``m`` for one block of rows gives that block's share of the
    full-batch gradient, so block gradients add up to it. ``keep``: forward_propagation's
    dropout mask (dA1 is multiplied by it: a dropped unit passes no gradient back).
    """
    g_deriv = ACTIVATIONS[activation].derivative
    m = X.shape[0] if m is None else m
    Z1, A1, Z2, A2 = cache
    dZ2 = A2 - Y  # (m, 10)       dL/dZ2 for softmax + cross-entropy ...
    dZ2 /= m  # ... (A2 - Y) / m, divided in place
    dW2 = A1.T @ dZ2  # (hidden, 10)
    db2 = col_sum(dZ2)  # (10,)         summed over samples (rows) only
    dA1 = np.matmul(dZ2, params.W2.T, out=np.empty_like(Z1))  # (m, hidden)  dZ2 @ W2.T
    if keep is not None:
        dA1 *= keep  # (m, hidden)  through the dropout mask
    dZ1 = np.multiply(dA1, g_deriv(Z1), out=dA1)  # (m, hidden)  dA1 * g'(Z1), in place
    # X.T @ dZ1 computed as the transpose of dZ1.T @ X: the same sums over samples, which
    # OpenBLAS's SkylakeX kernel runs ~20% faster at 10 hidden units (the bench's tricks table)
    dW1 = transposed_times(dZ1, X).T  # (784, hidden)
    db1 = col_sum(dZ1)  # (hidden,)     summed over samples (rows) only
    return Grads(dW1, db1, dW2, db2)


def update_params(params: Params, grads: Grads, alpha) -> Params:
    """One gradient-descent step: a new Params, the old one untouched."""
    return Params(
        W1=params.W1 - alpha * grads.dW1,
        b1=params.b1 - alpha * grads.db1,
        W2=params.W2 - alpha * grads.dW2,
        b2=params.b2 - alpha * grads.db2,
    )


def one_hot(y, classes=N_CLASSES, dtype=np.float32) -> np.ndarray:
    """Labels (m,) -> (m, classes) with a single 1 per row."""
    y = np.asarray(y)
    Y = columns(y.shape[0], classes, dtype)  # (m, 10), stored column by column as A2 is
    Y.fill(0)
    Y[np.arange(y.shape[0]), y] = 1
    return Y


def cross_entropy(Z2, Y, *, m=None, A2=None) -> float:
    """Mean cross-entropy -sum(Y * log softmax(Z2)) / m, from the logits (log-sum-exp) so that
    no probability that underflows to 0 turns the loss into inf.

    Given A2 = softmax(Z2) as well, each row's log-sum-exp comes from it: the largest
    probability is exp(max Z2 - LSE), so LSE = max Z2 - log(max A2), a log of a number >= 1/10,
    never of 0 (the same number to float rounding, without a second exp over the logits).
    """
    m = Z2.shape[0] if m is None else m
    if A2 is None:
        return -float(np.sum(Y * log_softmax(Z2), dtype=np.float64)) / m
    # -log softmax(Z2) = LSE - Z2 = (max Z2 - Z2) - log(max A2), the shift taken first so that
    # huge logits cancel exactly, as in log_softmax
    neg_log_p = (row_max(Z2) - Z2) - np.log(row_max(A2))  # (m, 10)
    return float(np.sum(Y * neg_log_p, dtype=np.float64)) / m


def get_predictions(A2) -> np.ndarray:
    """Most probable class of each row: (m, 10) -> (m,) int."""
    return np.argmax(A2, axis=1)


def count_correct(A2, y) -> int:
    """How many rows get_predictions(A2) gets right, without an argmax per row (numpy's slow case
    over 10 columns): a row is right when its label's probability is the row's maximum, unless
    another class ties with it there (argmax returns the first of tied classes: asked only for
    the rare rows with a tie)."""
    y = np.asarray(y)
    return _count_right(A2, y, row_max(A2)[:, 0], _at_labels(A2, y))


def _count_right(A2, y, top, at_label) -> int:
    """count_correct from each row's maximum ``top`` (m,) and label's probability (m,)."""
    right = at_label == top  # (m,) the label reaches the maximum
    correct = int(np.count_nonzero(right))
    at_top = top[:, None] == A2  # (m, 10)
    if np.count_nonzero(at_top) > len(y):  # some row reaches its maximum more than once
        tied = np.flatnonzero(right & (row_sum(at_top)[:, 0] > 1))
        correct -= int(np.count_nonzero(get_predictions(A2[tied]) != y[tied]))
    return correct


def scores(Z2, A2, y, *, m=None) -> tuple[float, int]:
    """``cross_entropy(Z2, one_hot(y), m=m, A2=A2)`` and ``count_correct(A2, y)`` at once.

    Both read only each row's maxima and its label's entries, so this gathers those (m numbers
    each) instead of multiplying (m, 10) arrays by the one-hot labels, and takes the row maxima
    of A2 once for both. The loss is the same sum of the same float terms, -log softmax(Z2) at
    each label, added in another order (in float64).
    """
    y = np.asarray(y)
    n = len(y)
    m = n if m is None else m
    z_label, a_label = _at_labels(Z2, y), _at_labels(A2, y)  # (m,) each
    top = row_max(A2)[:, 0]  # (m,) the largest probability of each row
    neg_log_p = (row_max(Z2)[:, 0] - z_label) - np.log(top)  # (m,) as in cross_entropy
    loss = float(np.sum(neg_log_p, dtype=np.float64)) / m
    return loss, _count_right(A2, y, top, a_label)


def _at_labels(A, y) -> np.ndarray:
    """A[i, y[i]] for every row i: read from the flat array when A is stored column by column
    (one take; numpy's fancy indexing by two index arrays is several times slower)."""
    n = len(y)
    if A.flags.f_contiguous:
        return A.ravel(order="F").take(np.arange(n) + y * n)
    return A[np.arange(n), y]


def get_accuracy(predictions, y) -> float:
    """Fraction of predictions equal to the labels."""
    return float(np.mean(np.asarray(predictions) == np.asarray(y)))


class Prediction(NamedTuple):
    logits: np.ndarray  # (m, 10) Z2
    probs: np.ndarray  # (m, 10) A2 = softmax(Z2)


def predict(params: Params, X, *, activation="relu", block_rows=4096, workers=None) -> Prediction:
    """Logits and class probabilities (m, 10) for images one per row (uint8 0..255 or floats in
    [0, 1]): forward_propagation's Z2 and A2.

    Rows are processed in fixed blocks so a large uint8 X is never converted to floats all at
    once; ``workers`` threads share the blocks, with one BLAS thread each, as in training
    (None: min(2, cores) or NNMATH_TRAIN_WORKERS). The numbers do not depend on ``workers``.
    """
    X = check_images(X)
    logits = np.empty((X.shape[0], N_CLASSES), params.dtype)  # (m, 10)
    probs = np.empty_like(logits)  # (m, 10)
    block_rows = check_int("block_rows", block_rows, 1)
    workers = min(resolve_workers(workers), -(-X.shape[0] // block_rows) or 1)

    def one_block(start):
        Xb = scale_pixels(X[start : start + block_rows], params.dtype)  # (block, 784)
        cache = forward_propagation(params, Xb, activation=activation)
        logits[start : start + block_rows] = cache.Z2
        probs[start : start + block_rows] = cache.A2

    with one_blas_thread(), Blocks(workers, params.dtype, 0) as blocks:
        for _ in blocks.map(one_block, range(0, X.shape[0], block_rows)):
            pass
    return Prediction(logits, probs)


def predict_proba(
    params: Params, X, *, activation="relu", block_rows=4096, workers=None
) -> np.ndarray:
    """Class probabilities (m, 10) for images one per row: :func:`predict`'s ``probs``."""
    return predict(params, X, activation=activation, block_rows=block_rows, workers=workers).probs


def make_predictions(X, params: Params, *, activation="relu") -> np.ndarray:
    """Predicted digit (m,) for images one per row; the notebook's argument order."""
    return get_predictions(predict_proba(params, X, activation=activation))

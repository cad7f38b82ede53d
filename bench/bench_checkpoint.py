"""What one checkpoint costs: building the partial run (Progress.checkpoint) and writing it
atomically (RunStore._save_checkpoint), for a 2,000-iteration run of hidden 10, 64 and 256.

    python -m bench.bench_checkpoint

Only the shapes matter for the cost (the snapshots every 50 iterations are most of the file), so
the runs train on 20 images to reach iteration 2,000 quickly; the checkpoint is taken there.
Median of 5 saves into a fresh temporary store. A checkpoint is due every
NNMATH_CHECKPOINT_SECONDS (default 10) of training: the last column is the share of that.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time

import numpy as np

import nnmath
from engine.config import RunConfig
from engine.store import DEFAULT_CHECKPOINT_SECONDS, RunStore

ITERATIONS = 2000


def partial_at(hidden: int, iterations: int = ITERATIONS):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(20, 784), dtype=np.uint8)
    y = rng.integers(0, 10, size=20)
    taken = {}

    def callback(p):
        if p.iteration == iterations:
            taken["progress"] = p
            return True

    nnmath.gradient_descent(
        X, y, hidden=hidden, alpha=0.01, iterations=iterations + 1, callback=callback
    )
    return taken["progress"]


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")
    print(f"checkpoint of a run at iteration {ITERATIONS:,} (snapshots every 50), median of 5")
    print("| hidden | file MB | build (ms) | write (ms) | total (ms) | share of 10 s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for hidden in (10, 64, 256):
        progress = partial_at(hidden)
        config = RunConfig(data="0" * 16, hidden=hidden)
        builds, writes = [], []
        with tempfile.TemporaryDirectory(prefix="bench-ckpt-") as root:
            store = RunStore(root, max_mb=10_000)
            for _ in range(5):
                t0 = time.perf_counter()
                partial = progress.checkpoint()
                t1 = time.perf_counter()
                store._save_checkpoint(config, partial)
                t2 = time.perf_counter()
                builds.append(t1 - t0)
                writes.append(t2 - t1)
            size = store.checkpoint_path(config.run_id).stat().st_size / 1e6
        b, w = statistics.median(builds) * 1e3, statistics.median(writes) * 1e3
        share = (b + w) / 1e3 / DEFAULT_CHECKPOINT_SECONDS
        print(f"| {hidden} | {size:.1f} | {b:.1f} | {w:.1f} | {b + w:.1f} | {share:.2%} |")


if __name__ == "__main__":
    main()

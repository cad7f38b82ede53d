"""The "Inside the network" views: how long the Learning dynamics view of a run takes to compute
(per-digit dev accuracy, confusion and dead units at every snapshot, plus the PCA map), which
the app computes once per run and caches by run id.

    python -m bench.bench_inside          (BENCH_QUICK=1: 6,000 instead of 60,000 images)

Rows:
- the embedded sample (4,000 train / 1,000 dev), the notebook's settings, 500 iterations
  (11 snapshots, every 50);
- 60,000 SYNTHETIC uint8 images (a block per digit plus noise: the timing depends on the shapes,
  not on the pixels), split 59,000 / 1,000 as the app splits it, hidden 10, trained 10
  iterations with a snapshot after every one: the same 11 snapshots a 500-iteration run keeps,
  so the view costs what it would for a 500-iteration run on 60,000 images (training 500
  iterations on them is not what is timed).
The cost grows with images x snapshots x hidden units (one matmul column per unit and snapshot).
Not a test: it prints a table with the targets from the issue.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

N_BIG = 6_000 if os.environ.get("BENCH_QUICK") else 60_000


def view(result, train_X, dev_X, dev_y):
    from views import dynamics as dv

    dyn = dv.dynamics(result, train_X, dev_X, dev_y)
    dv.hidden_map(result.params, dev_X, dev_y)
    return dyn


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def synthetic(n: int, seed: int = 0):
    """n uint8 images: digit k lights a 6x6 block at a place of its own, plus sparse bright
    noise (about 80% of the pixels stay 0, as in MNIST)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    images[rng.random((n, 28, 28)) < 0.85] = 0
    for k in range(10):
        r, c = divmod(k, 4)
        images[y == k, 2 + 7 * r : 8 + 7 * r, 2 + 6 * c : 8 + 6 * c] = 255
    return images.reshape(n, 784), y


def main() -> None:
    import nnmath
    from data import load_dataset, train_dev_split
    from engine.config import RunConfig
    from engine.store import RunStore

    rows = []
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1, "blas"):
        ds = load_dataset("sample")
        train, dev = train_dev_split(ds, seed=0)
        result = RunStore(tmp).train(
            RunConfig(data=ds.fingerprint, dev_size=dev.n), 500, train, dev
        )
        rows.append(
            (
                f"sample: {train.n:,} train / {dev.n:,} dev, 500 iterations, "
                f"{len(result.snapshot_iterations)} snapshots",
                timed(lambda: view(result, train.X, dev.X, dev.labels)),
                0.5,
            )
        )
        X, y = synthetic(N_BIG)
        n_dev = 1_000  # the app's dev split of a large set (data.default_dev_size)
        big = nnmath.gradient_descent(
            X[n_dev:], y[n_dev:], iterations=10, snapshot_every=1, X_dev=X[:n_dev], y_dev=y[:n_dev]
        )
        rows.append(
            (
                f"synthetic: {N_BIG - n_dev:,} train / {n_dev:,} dev, "
                f"{len(big.snapshot_iterations)} snapshots",
                timed(lambda: view(big, X[n_dev:], X[:n_dev], y[:n_dev])),
                5.0,
            )
        )
    print("one BLAS thread; best of 3\n")
    print("| Learning dynamics view | seconds | target |\n|---|---:|---:|")
    for name, seconds, target in rows:
        verdict = f"≤ {target:g} s " + ("met" if seconds <= target else "MISSED")
        print(f"| {name} | {seconds:.3f} | {verdict} |")


if __name__ == "__main__":
    main()

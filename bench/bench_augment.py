"""Closing the Lab's loop: by how much training with rotation moves dev accuracy on rotated digits.

    python -m bench.bench_augment            # the sample's default run, 500 iterations
    python -m bench.bench_augment 1000 30    # iterations, rotation up to (degrees)

The embedded sample (4,000 training / 1,000 dev images, the app's split), the notebook's settings
(hidden 10, alpha 0.1, seed 0): one run without augmentation, one with ``augment="rotate"`` (every
training image rotated anew each iteration by an angle uniform in [-level, level]), both through
the run store as the app trains them. Dev accuracy at each rotation of the Lab's curve
(views.lab.robustness) is printed for both, with the difference in points, and the seconds each
run took (on a shared machine: compare them only with each other).
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace

from data import corrupt, load_dataset, train_dev_split
from engine.config import RunConfig
from engine.store import RunStore
from views import lab


def main(argv: list[str]) -> int:
    iterations = int(argv[0]) if argv else 500
    level = float(argv[1]) if len(argv) > 1 else 30.0
    ds = load_dataset("sample")
    train, dev = train_dev_split(ds, seed=0)
    base = RunConfig(data=ds.fingerprint, dev_size=dev.n)
    runs = {
        "plain": base,
        f"rotate ≤ {level:g}°": replace(base, augment="rotate", augment_level=level),
    }
    tables, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-augment-") as root:
        store = RunStore(root, max_mb=10_000)
        for name, config in runs.items():
            t0 = time.perf_counter()
            result = store.train(config, iterations, train, dev)
            seconds[name] = time.perf_counter() - t0
            tables[name] = lab.robustness(
                result.params, dev.images, dev.labels, kinds=("rotate",)
            ).set_index("level")["accuracy"]
    plain, rotated = tables.values()
    print(f"sample, notebook settings, {iterations} iterations; dev accuracy on rotated dev images")
    print(f"| rotation (°) | {' | '.join(runs)} | change (points) |")
    print("|---:|---:|---:|---:|")
    for lv in corrupt.LEVELS["rotate"]:
        print(
            f"| {lv:g} | {plain[lv]:.1%} | {rotated[lv]:.1%} | {100 * (rotated[lv] - plain[lv]):+.1f} |"
        )
    print(f"| seconds to train | {' | '.join(f'{s:.1f}' for s in seconds.values())} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

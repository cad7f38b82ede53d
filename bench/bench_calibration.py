"""How calibration changes with capacity and training, on the embedded sample.

    python -m bench.bench_calibration                  # hidden 10, 32, 64, 128, 256; read at
                                                       # iterations 500, 1000, 2000, 3000
    python -m bench.bench_calibration --hidden 10 32 --iterations 100 200   # any subset
    BENCH_QUICK=1 python -m bench.bench_calibration    # hidden 10, 32 to 200 iterations (smoke test)

Each hidden size is trained once, with the app's settings otherwise (alpha 0.1, seed 0, uniform
init, float32, full batch) on the app's split of the sample (4,000 train / 1,000 dev, split seed
0), to the largest iteration count, keeping a snapshot every 50 iterations; every row reads the
parameters of one snapshot, exactly the network a run of that length would have (training is
deterministic and the store serves shorter runs from these snapshots). Per row, on the 1,000 dev
images: accuracy, ECE and MCE (15 bins) with the bootstrap spread of the ECE (standard deviation
over 200 resamples of the dev images, seed 0: how much of a difference is noise), NLL (from the
logits), Brier, and the temperature that minimises the dev NLL (T > 1: overconfident). Prints a
markdown table; training times are indicative on a shared machine.

Then, per hidden size, what the Runs ledger's ECE column would cost per listed run if computed
lazily (load the run's npz + dev predictions + ECE) against computing it once when the run is saved
(dev predictions + ECE from parameters already in memory): the best of 20 timings each.

Runs go through a run store (``--runs DIR``, default a fresh temporary one, so every run trains):
``--runs .runs`` keeps them in the app's cache, where a rerun is served from disk and the Runs page
lists them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

HIDDEN = (10, 32, 64, 128, 256)
ITERATIONS = (500, 1000, 2000, 3000)


BOOTSTRAP = 200


def ledger_cost(store, config, iterations: int, train, dev) -> tuple[int, float, float]:
    """(npz bytes, seconds to load the run, seconds for dev predictions + ECE), best of 20."""
    from engine.store import dev_ece

    result = store.train(config, iterations, train, dev)  # served when the table trained it
    path = store.npz_path(config.run_id)
    load = min(_timed(lambda: store.load(config.run_id)) for _ in range(20))
    ece = min(_timed(lambda: dev_ece(result, dev)) for _ in range(20))
    return path.stat().st_size, load, ece


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ece_spread(probs, y, resamples: int = BOOTSTRAP, seed: int = 0) -> float:
    """Standard deviation of the ECE over bootstrap resamples of the images."""
    import numpy as np

    import nnmath

    rng = np.random.default_rng(seed)
    n = len(y)
    eces = [
        nnmath.reliability(probs[idx], y[idx], bins=15).ece
        for idx in (rng.integers(0, n, n) for _ in range(resamples))
    ]
    return float(np.std(eces))


def rows_for(
    hidden: int, iterations: tuple[int, ...], train, dev, base, store
) -> tuple[list, float]:
    from dataclasses import replace

    import nnmath
    from views import metrics

    config = replace(base, hidden=hidden)
    t0 = time.perf_counter()
    result = store.train(config, max(iterations), train, dev, data_key="sample")
    seconds = time.perf_counter() - t0
    rows = []
    for n in iterations:
        if n > result.iterations:  # diverged or stopped before n
            rows.append((hidden, n, None))
            continue
        ev = metrics.evaluate(result.snapshot(n), dev, activation=result.config.activation)
        rel = nnmath.reliability(ev.probs, ev.y, bins=15)
        rows.append(
            (
                hidden,
                n,
                dict(
                    accuracy=ev.accuracy,
                    ece=rel.ece,
                    ece_sd=ece_spread(ev.probs, ev.y),
                    mce=rel.mce,
                    nll=nnmath.temperature_nll(ev.logits, ev.y),
                    brier=nnmath.brier(ev.probs, ev.y),
                    T=nnmath.fit_temperature(ev.logits, ev.y),
                ),
            )
        )
    return rows, seconds


def main(argv: list[str]) -> int:
    import tempfile
    from dataclasses import replace

    import numpy as np

    import data
    from engine.config import RunConfig
    from engine.store import RunStore

    parser = argparse.ArgumentParser(prog="python -m bench.bench_calibration")
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser.add_argument("--hidden", type=int, nargs="+", default=(10, 32) if quick else HIDDEN)
    parser.add_argument(
        "--iterations", type=int, nargs="+", default=(100, 200) if quick else ITERATIONS
    )
    parser.add_argument(
        "--runs", default=None, help="run store folder (default: a fresh temporary one)"
    )
    args = parser.parse_args(argv)
    bad = [n for n in args.iterations if n < 50 or n % 50]
    if bad:
        parser.error(f"--iterations must be multiples of 50 (snapshots), got {bad}")
    iterations = tuple(sorted(set(args.iterations)))

    ds = data.load_dataset("sample")
    train, dev = data.train_dev_split(ds, seed=0)
    base = RunConfig(data=ds.fingerprint, dev_size=dev.n)
    cpu = _cpu_name()
    print(
        f"Calibration vs capacity and training — {ds.name}, {train.n:,} train / {dev.n:,} dev "
        f"images, alpha {base.alpha:g}, seed {base.seed}, {base.dtype}, full batch\n"
        f"machine: {cpu} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"numpy {np.__version__}\n",
        flush=True,
    )
    print(
        "| hidden | iterations | dev accuracy | ECE (± bootstrap sd) | MCE | NLL | Brier | T (dev) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as tmp:
        store = RunStore(args.runs or tmp)
        for hidden in args.hidden:
            rows, seconds = rows_for(hidden, iterations, train, dev, base, store)
            timings.append((hidden, seconds))
            for h, n, m in rows:
                if m is None:
                    print(f"| {h} | {n:,} | — | — | — | — | — | — |", flush=True)
                    continue
                print(
                    f"| {h} | {n:,} | {m['accuracy']:.1%} | {m['ece']:.2%} ± {m['ece_sd']:.2%} | "
                    f"{m['mce']:.2%} | {m['nll']:.3f} | {m['brier']:.3f} | {m['T']:.3f} |",
                    flush=True,
                )
    print("\n| hidden | npz size | load npz | dev predictions + ECE |")
    print("|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as tmp:
        store = RunStore(args.runs or tmp)
        for hidden in args.hidden:
            size, load, ece = ledger_cost(
                store, replace(base, hidden=hidden), max(iterations), train, dev
            )
            print(f"| {hidden} | {size / 1e6:.1f} MB | {load * 1e3:.1f} ms | {ece * 1e3:.1f} ms |")
    print(
        "\nTraining (or serving from the store) to "
        f"{max(iterations):,} iterations (indicative, shared machine): "
        + ", ".join(f"hidden {h}: {s:.0f} s" for h, s in timings)
    )
    return 0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

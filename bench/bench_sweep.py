"""Sweep wall time from cold: 1 and 2 local workers (joblib/loky) and a 2-worker Dask LocalCluster.

    python -m bench.bench_sweep            # 4x4 grid (hidden {10,32,64,128} x alpha {0.05,0.1,0.2,0.5}),
                                           # 500 iterations, embedded 5,000-digit sample
    BENCH_QUICK=1 python -m bench.bench_sweep   # 2x2 grid, 50 iterations (smoke test)

Every configuration starts from a fresh temporary run store, so nothing is served from the cache;
every worker trains with one BLAS thread. Loky/Dask start-up is included in the wall time.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time


def grid():
    if os.environ.get("BENCH_QUICK"):
        return {"hidden": (10, 32), "alpha": (0.1, 0.5)}, 50
    return {"hidden": (10, 32, 64, 128), "alpha": (0.05, 0.1, 0.2, 0.5)}, 500


def one_sweep(train, dev, fingerprint, axes, iterations, *, backend, n_jobs=1, client=None):
    from engine import sweep
    from engine.config import RunConfig
    from engine.store import RunStore

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as root:
        store = RunStore(root)
        configs = sweep.expand_grid(RunConfig(data=fingerprint, dev_size=dev.n), axes)
        plan = sweep.plan_sweep(store, configs, iterations)
        assert len(plan.tasks) == len(configs), "a cold store must train everything"
        t0 = time.perf_counter()
        with sweep.SweepExecution(
            store, plan, train, dev, backend=backend, n_jobs=n_jobs, client=client
        ) as ex:
            for _ in ex.updates(interval=1.0):
                pass
        seconds = time.perf_counter() - t0
        final = ex.progress()
        statuses = sorted({r.status for r in final.runs})
        best = max((r.dev_accuracy or 0.0) for r in final.runs)
        assert ex.error is None, ex.error
        records = store.records()
        assert len(records) == len(configs), "every run must land in the store"
        run_seconds = sum(r.elapsed for r in records)
    return seconds, statuses, best, run_seconds


def main() -> None:
    import distributed

    import data
    from engine import sweep

    axes, iterations = grid()
    ds = data.load_dataset("sample")
    train, dev = data.train_dev_split(ds)
    n = len(axes["hidden"]) * len(axes["alpha"])
    print(
        f"Sweep of {len(axes['hidden'])}x{len(axes['alpha'])} = {n} runs, {iterations} "
        f"iterations, {train.n:,} train / {dev.n:,} dev images; "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    load_before = os.getloadavg()[0]
    rows = [
        (
            "local, 1 worker (loky)",
            *one_sweep(train, dev, ds.fingerprint, axes, iterations, backend="loky", n_jobs=1),
        ),
        (
            "local, 2 workers (loky)",
            *one_sweep(train, dev, ds.fingerprint, axes, iterations, backend="loky", n_jobs=2),
        ),
    ]
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        sweep.connect_dask(cluster.scheduler_address).client as client,
    ):
        rows.append(
            (
                "Dask LocalCluster, 2 workers x 1 thread",
                *one_sweep(
                    train, dev, ds.fingerprint, axes, iterations, backend="dask", client=client
                ),
            )
        )
    base = rows[0][1]
    print(
        f"\n| {'how':<40} | {'wall (s)':>8} | {'speed-up':>8} | {'sum of run times (s)':>20} "
        f"| {'best dev acc':>12} | statuses"
    )
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 10}|{'-' * 22}|{'-' * 14}|---------")
    for how, seconds, statuses, best, run_seconds in rows:
        print(
            f"| {how:<40} | {seconds:8.1f} | {base / seconds:7.2f}x | {run_seconds:20.1f} | "
            f"{best:12.3f} | {', '.join(statuses)}"
        )
    print(
        f"\nLoad average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after: on "
        f"{os.cpu_count()} cores, anything well above 0 means other processes shared the CPU "
        "and the speed-ups are understated."
    )
    print(
        "Cluster start-up is outside the Dask timing; loky start-up is inside. 'Sum of run "
        "times' adds each run's own training time (inflated when runs compete for cores)."
    )


if __name__ == "__main__":
    main()

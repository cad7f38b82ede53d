"""`make bench`: every benchmark, each in a fresh process, printed as tables.

Run one alone with `python -m bench nnmath` (or data, browser, sweep, inside, class, upload), or
`python -m bench.bench_nnmath targets` for the issue's targets only (a few minutes).
BENCH_QUICK=1 makes each one smaller, for a smoke test. The CPU model and BLAS kernel come first.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time

import numpy as np

from bench.machine import describe

MODULES = [
    "bench.bench_nnmath",
    "bench.bench_data",
    "bench.bench_explain",
    "bench.bench_browser",
    "bench.bench_sweep",
    "bench.bench_inside",
    "bench.bench_class",
    "bench.bench_upload",
]


def machine() -> str:
    return (
        f"{platform.node()} · {platform.machine()} · "
        f"Python {platform.python_version()} · numpy {np.__version__}"
    )


def main(argv: list[str]) -> int:
    wanted = [m for m in MODULES if not argv or any(a in m for a in argv)]
    print(f"# nnmath benchmarks — {machine()} — {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    print(f"{describe()}\n", flush=True)
    failed = []
    for module in wanted:
        print(f"## {module}\n", flush=True)
        code = subprocess.call([sys.executable, "-m", module])
        if code:
            failed.append(module)
        print(flush=True)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

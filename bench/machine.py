"""Which machine and BLAS kernel a benchmark ran on, printed first so that figures from different
machines are never compared unknowingly."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_kernel() -> str:
    """numpy's BLAS as threadpoolctl sees it: library, version, the kernel it runs (OpenBLAS's
    architecture) and its thread count, plus the variables that force a kernel."""
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl then finds)
    from threadpoolctl import threadpool_info

    libs = [
        f"{i['internal_api']} {i['version']}, kernel {i.get('architecture')}, "
        f"{i['num_threads']} threads"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    forced = ", ".join(
        f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
    )
    return "; ".join(libs or ["no BLAS found"]) + f" ({forced or 'OPENBLAS_CORETYPE not set'})"


def describe() -> str:
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores · BLAS: {blas_kernel()}"

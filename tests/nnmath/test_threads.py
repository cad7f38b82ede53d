"""The default call is the fast one: nnmath picks its workers and one BLAS thread by itself.

The test session limits BLAS to one thread (tests/conftest.py), so what nnmath does on its own is
checked in fresh interpreters that start with OpenBLAS's default thread count.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnmath import gradient_descent, predict_proba
from nnmath._threads import Blocks, default_workers, others_turn

REPO = Path(__file__).resolve().parents[2]
# Variables that start BLAS with fewer threads (some libraries of the suite, e.g. Dask's nanny,
# set them in this process): the fresh interpreters must start with BLAS's own default.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
)


def fresh_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    return {**env, **extra}


PROBE = textwrap.dedent("""
    import json, sys, threading
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits
    sys.path.insert(0, {repo!r})
    import nnmath
    sys.path.insert(0, {here!r})
    from test_training import fingerprint

    def blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    d = np.load({data!r})
    X, y, Xd, yd = d["X"], d["y"], d["Xd"], d["yd"]
    seen = {{"before": blas_threads()}}

    def callback(progress):
        seen.setdefault("during", set()).add(blas_threads())
        seen["nnmath threads"] = sum(t.name.startswith("nnmath") for t in threading.enumerate())

    default = nnmath.gradient_descent(X, y, X_dev=Xd, y_dev=yd, iterations=12,
                                      callback=callback, callback_every=3)
    seen["after"] = blas_threads()
    seen["during"] = sorted(seen["during"])
    with threadpool_limits(1, "blas"):
        one = nnmath.gradient_descent(X, y, X_dev=Xd, y_dev=yd, iterations=12, workers=1)
        proba_one = nnmath.predict_proba(one.params, Xd, block_rows=64, workers=1)
    proba = nnmath.predict_proba(default.params, Xd, block_rows=64)
    seen["same numbers"] = fingerprint(default) == fingerprint(one)
    seen["same proba"] = bool(np.array_equal(proba, proba_one))
    with threadpool_limits(2, "blas"):   # the caller's choice is kept
        seen["caller's 2"] = set()
        nnmath.gradient_descent(X, y, iterations=2, callback_every=1,
                                callback=lambda p: seen["caller's 2"].add(blas_threads()))
        seen["caller's 2"] = sorted(seen["caller's 2"])
    print(json.dumps(seen))
""")


def run_probe(small, tmp_path, env=None):
    X, y, X_dev, y_dev = small
    np.savez(tmp_path / "d.npz", X=X, y=y, Xd=X_dev, yd=y_dev)
    code = PROBE.format(
        repo=str(REPO), here=str(Path(__file__).parent), data=str(tmp_path / "d.npz")
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=fresh_env(**(env or {})),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores for 2 BLAS threads")
def test_default_call_uses_one_blas_thread_and_two_workers_with_the_same_numbers(small, tmp_path):
    seen = run_probe(small, tmp_path)
    assert seen["before"] >= 2, "OpenBLAS should start with a thread per core"
    assert seen["during"] == [1]  # BLAS limited to one thread during the call...
    assert seen["after"] == seen["before"]  # ...and given back afterwards
    assert seen["nnmath threads"] == 1  # the caller + 1 pool thread = min(2, cores) workers
    assert seen["same numbers"] and seen["same proba"]  # bit for bit as workers=1
    assert seen["caller's 2"] == [2]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores for 2 BLAS threads")
def test_workers_from_the_environment(small, tmp_path):
    seen = run_probe(small, tmp_path, env={"NNMATH_TRAIN_WORKERS": "1"})
    assert seen["nnmath threads"] == 0 and seen["during"] == [1] and seen["same numbers"]


def test_default_workers_reads_the_environment(monkeypatch):
    monkeypatch.delenv("NNMATH_TRAIN_WORKERS", raising=False)
    assert default_workers() == min(2, os.cpu_count() or 1)
    monkeypatch.setenv("NNMATH_TRAIN_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("NNMATH_TRAIN_WORKERS", "two")
    with pytest.raises(ValueError, match="NNMATH_TRAIN_WORKERS must be an integer >= 1, got 'two'"):
        default_workers()
    monkeypatch.setenv("NNMATH_TRAIN_WORKERS", "0")
    with pytest.raises(ValueError, match="NNMATH_TRAIN_WORKERS must be >= 1, got 0"):
        default_workers()


def test_explicit_workers_are_checked(small):
    X, y, _, _ = small
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        gradient_descent(X[:20], y[:20], iterations=1, workers=0)
    r = gradient_descent(X[:20], y[:20], iterations=1)
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 1.5"):
        predict_proba(r.params, X[:20], workers=1.5)


CONCURRENT = textwrap.dedent("""
    import json, sys, threading
    import numpy as np
    from threadpoolctl import threadpool_info
    sys.path.insert(0, {repo!r})
    import nnmath

    def blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    X = np.random.default_rng(0).integers(0, 256, (600, 784), dtype=np.uint8)
    y = np.arange(600) % 10
    before = blas_threads()
    long_started, short_done = threading.Event(), threading.Event()
    seen = []

    def watch_long(progress):
        long_started.set()
        short_done.wait(60)   # the call that set the limit has ended...
        seen.append(blas_threads())   # ...and this one still runs on one BLAS thread

    long = threading.Thread(target=lambda: nnmath.gradient_descent(
        X, y, iterations=4, callback=watch_long, callback_every=1))

    def start_long(progress):
        if progress.iteration == 1:
            long.start()
            long_started.wait(60)

    nnmath.gradient_descent(X, y, iterations=3, callback=start_long, callback_every=1)
    short_done.set()
    long.join()
    print(json.dumps({{"before": before, "seen": seen, "after": blas_threads()}}))
""")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores for 2 BLAS threads")
def test_concurrent_calls_keep_one_blas_thread_until_the_last_one_ends(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CONCURRENT.format(repo=str(REPO))],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=fresh_env(),
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["seen"] == [1, 1, 1, 1]
    assert result["after"] == result["before"] >= 2


def test_a_block_holds_its_pools_turn_and_lets_it_go_for_big_steps():
    """Workers take turns for a block's small numpy steps; others_turn() hands the turn over
    for the length of a big step, and is a no-op outside a pool (one worker, or no pool)."""
    seen = []

    def block(item):
        seen.append(("block", pool.turn.locked()))
        with others_turn():
            seen.append(("big step", pool.turn.locked()))
        seen.append(("after", pool.turn.locked()))
        return item * 2

    with Blocks(2, np.float32, 0) as pool:
        assert list(pool.map(block, [21])) == [42]  # one item: no other worker holds the turn
        assert not pool.turn.locked()
    assert seen == [("block", True), ("big step", False), ("after", True)]
    with others_turn():  # outside a pool
        pass

    def failing(item):
        raise RuntimeError("boom")

    with Blocks(2, np.float32, 0) as pool:
        with pytest.raises(RuntimeError, match="boom"):
            list(pool.map(failing, [1, 2, 3]))
        assert not pool.turn.locked()  # an error gives the turn back

"""Crash-safe runs: checkpoints while training, continuing after a SIGKILL with the same bits,
and flock locks that die with their process."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import nnmath
from engine.config import RunConfig
from engine.store import RunStore, compute

REPO = Path(__file__).resolve().parents[2]

# The split of the fixture below, rebuilt in a child process.
SPLIT = """
import numpy as np
from data import load_dataset, train_dev_split
ds = load_dataset("sample")
small = ds.subset(np.arange(0, ds.n, 5))
train, dev = train_dev_split(small, dev_size=200, seed=0)
"""


@pytest.fixture(scope="module")
def split():
    scope: dict = {}
    exec(SPLIT, scope)
    return scope["small"], scope["train"], scope["dev"]


@pytest.fixture
def config(split):
    small, _, dev = split
    return RunConfig(data=small.fingerprint, dev_size=dev.n, hidden=16, snapshot_every=20)


def same_bits(a, b):
    """Every array of two runs equal bit for bit (elapsed aside)."""
    assert (a.iterations, a.status) == (b.iterations, b.status)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(getattr(a.params, name), getattr(b.params, name))
        np.testing.assert_array_equal(a.snapshots[name], b.snapshots[name])
    np.testing.assert_array_equal(a.snapshot_iterations, b.snapshot_iterations)
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name))
        assert getattr(a, name) == getattr(b, name)


def run_child(code: str, root: Path, **kw) -> subprocess.CompletedProcess | subprocess.Popen:
    """Python ``code`` in a child process, with the split and a store on ``root`` defined."""
    prelude = SPLIT + textwrap.dedent(
        f"""
        import os, signal, sys
        from engine.config import RunConfig
        from engine.store import RunStore
        store = RunStore({str(root)!r}, checkpoint_seconds=0)
        config = RunConfig(data=small.fingerprint, dev_size=dev.n, hidden=16, snapshot_every=20)
        """
    )
    args = [sys.executable, "-c", prelude + textwrap.dedent(code)]
    if kw.pop("background", False):
        return subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120, **kw)


def test_killed_trainer_leaves_a_checkpoint_that_continues_to_the_same_bits(
    tmp_path, split, config, monkeypatch
):
    _, train, dev = split
    root = tmp_path / "store"
    # The child trains 130 iterations, checkpointing at every callback (every 10 iterations),
    # and SIGKILLs itself at iteration 73: no cleanup, no finally, as in a crash.
    child = run_child(
        """
        def crash(p):
            if p.iteration == 73:
                os.kill(os.getpid(), signal.SIGKILL)
        store.train(config, 130, train, dev, callback=crash, callback_every=1)
        """,
        root,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    store = RunStore(root, checkpoint_seconds=3600)
    partial = store.checkpoint(config)
    assert partial is not None and partial.status == "partial" and partial.iterations == 72
    # never listed, never served for more than it holds, no finished run
    assert store.records() == [] and store.get(config, 130) is None
    assert store.get(config, 72) is None and store.npz_path(config.run_id).exists() is False
    assert store.latest(config).iterations == 72  # what the Train page offers to continue

    calls = []
    real = nnmath.continue_training
    monkeypatch.setattr(
        nnmath,
        "continue_training",
        lambda result, *a, **k: calls.append(result.iterations) or real(result, *a, **k),
    )
    again = store.train(config, 130, train, dev)
    assert calls == [72], "the restart must continue from the checkpoint, not from iteration 0"
    assert store.stats["continued"] == 1
    same_bits(again, compute(config, 130, train, dev))
    # the finished run replaces the checkpoint
    assert not store.checkpoint_path(config.run_id).exists()
    assert [r.iterations for r in store.records()] == [130]
    same_bits(store.get(config, 130), again)


def test_checkpoint_shorter_request_is_answered_exactly_and_saved(tmp_path, split, config):
    _, train, dev = split
    root = tmp_path / "store"
    child = run_child(
        """
        def crash(p):
            if p.iteration == 95:
                os.kill(os.getpid(), signal.SIGKILL)
        store.train(config, 200, train, dev, callback=crash, callback_every=5)
        """,
        root,
    )
    assert child.returncode == -signal.SIGKILL
    store = RunStore(root, checkpoint_seconds=3600)
    assert store.checkpoint(config).iterations == 90
    # 50 iterations: replayed from the checkpoint's snapshot 40, not from scratch
    short = store.train(config, 50, train, dev)
    assert store.stats.get("resumed") == 1 and "trained" not in store.stats
    same_bits(short, compute(config, 50, train, dev))
    # saved as a finished run of 50; the longer checkpoint stays for whoever asks for more
    assert [r.iterations for r in store.records()] == [50]
    assert store.checkpoint(config).iterations == 90


def test_checkpoints_follow_the_clock(tmp_path, split, config):
    _, train, dev = split
    clock = [0.0]
    store = RunStore(tmp_path / "store", checkpoint_seconds=10)
    store._clock = lambda: clock[0]
    seen = []

    def tick(p):  # 1 "second" per iteration
        clock[0] += 1.0
        if store.checkpoint_path(config.run_id).exists():
            seen.append((p.iteration, store.checkpoint(config).iterations))

    store.train(config, 35, train, dev, callback=tick, callback_every=1)
    assert store.stats["checkpointed"] == 3  # at 10, 20 and 30 "seconds", none at the end
    assert {held for _, held in seen} == {10, 20, 30}
    assert not store.checkpoint_path(config.run_id).exists()


def test_a_dead_process_lock_never_blocks(tmp_path, config):
    root = tmp_path / "store"
    child = run_child(
        """
        with store.lock(config.run_id):
            print("locked", flush=True)
            sys.stdin.readline()  # holds the lock until killed
        """,
        root,
        background=True,
    )
    try:
        assert child.stdout.readline().strip() == b"locked"
        store = RunStore(root)
        with store.lock(config.run_id, blocking=False) as got:
            assert not got, "a live trainer's lock must hold"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        with store.lock(config.run_id, blocking=False) as got:
            assert got, "the kernel releases a killed process's flock"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_run_being_trained_elsewhere_is_waited_for_not_taken_over(tmp_path, split, config):
    _, train, dev = split
    root = tmp_path / "store"
    # The child trains 60 iterations but pauses at 40, holding the run's lock, until told to go
    child = run_child(
        """
        def pause(p):
            if p.iteration == 40:
                print("paused", flush=True)
                sys.stdin.readline()
        store.train(config, 60, train, dev, callback=pause, callback_every=10)
        print("done", flush=True)
        """,
        root,
        background=True,
    )
    try:
        assert child.stdout.readline().strip() == b"paused"
        store = RunStore(root, checkpoint_seconds=3600)
        assert store.checkpoint(config).iterations == 30  # saved by the live trainer
        out = {}
        waiter = threading.Thread(target=lambda: out.update(r=store.train(config, 60, train, dev)))
        waiter.start()
        waiter.join(timeout=1.5)
        assert waiter.is_alive(), "the second trainer must wait on the lock, not continue"
        child.stdin.write(b"go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == b"done"
        waiter.join(timeout=60)
        assert store.stats == {"served": 1}  # read the first trainer's run, trained nothing
        same_bits(out["r"], compute(config, 60, train, dev))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_damaged_checkpoint_is_dropped_and_the_run_trained(tmp_path, split, config):
    _, train, dev = split
    store = RunStore(tmp_path / "store", checkpoint_seconds=3600)
    store.checkpoint_path(config.run_id).write_bytes(b"PK\x03\x04 not a zip")
    assert store.checkpoint(config) is None
    assert not store.checkpoint_path(config.run_id).exists()
    store.train(config, 20, train, dev)
    assert store.stats["trained"] == 1


def test_eviction_removes_interrupted_checkpoints_but_not_one_being_written(tmp_path, config):
    store = RunStore(tmp_path / "store", max_mb=0)
    path = store.checkpoint_path(config.run_id)
    path.write_bytes(b"x" * 1000)
    with store.lock(config.run_id):  # being trained: kept
        store._evict()
    assert path.exists()
    store._evict()
    assert not path.exists() and store.stats["evicted"] == 1


def test_sweeps_and_the_ledger_never_show_a_checkpoint_but_continue_from_it(
    tmp_path, split, config
):
    from engine import sweep
    from views import compare, grid

    _, train, dev = split
    store = RunStore(tmp_path / "store", checkpoint_seconds=3600)
    taken = {}

    def crash_at_45(p):
        if p.iteration == 45:
            taken["partial"] = p.checkpoint()
            return True

    compute(config, 90, train, dev, callback=crash_at_45, callback_every=5)
    store._save_checkpoint(config, taken["partial"])  # what a killed trainer leaves
    assert compare.runs_frame(store.records()).empty
    assert grid.sweep_table(store, [config], 90)["status"].tolist() == ["not run"]
    plan = sweep.plan_sweep(store, [config], 90)
    assert plan.cached == () and plan.tasks[0].start.iterations == 45
    out = sweep.train_task(config, 90, train, dev, start=plan.tasks[0].start)
    assert out["error"] is None and out["run_id"] == config.run_id
    result = sweep.decode_result(out["result"], config, 90)  # plain bytes, checked
    same_bits(result, compute(config, 90, train, dev))
    assert store.put(config, result)
    assert not store.checkpoint_path(config.run_id).exists()  # the finished run replaces it
    assert grid.sweep_table(store, [config], 90)["status"].tolist() == ["finished"]

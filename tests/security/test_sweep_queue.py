"""Issue 27, end of item 10: sweeps bypassed the training queue and the per-session rate limit.
Now each run of a local sweep waits for a slot of the server's queue (engine.slots), and a
launch counts each run to train against NNMATH_RUNS_PER_MINUTE."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from data import train_dev_split
from engine import sweep
from engine.config import RunConfig
from engine.slots import TrainingSlots
from engine.store import RunStore
from tests.helpers import tiny_dataset

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
ITER = 20


def _until(condition, ex, seconds=60.0) -> bool:
    """Wait (on the sweep thread, with a deadline) until ``condition()`` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        ex.wait(0.05)
    return True


def _sweep(tmp_path, slots, seeds=(0, 1)):
    ds = tiny_dataset()
    train, dev = train_dev_split(ds, dev_size=50, seed=0)
    store = RunStore(tmp_path / "store")
    configs = sweep.expand_grid(
        RunConfig(data=ds.fingerprint, dev_size=50, hidden=4), {"seed": seeds}
    )
    plan = sweep.plan_sweep(store, configs, ITER)
    ex = sweep.SweepExecution(store, plan, train, dev, backend="threading", n_jobs=2, slots=slots)
    return store, ex


def test_a_sweeps_runs_wait_for_a_training_slot(tmp_path):
    slots = TrainingSlots(tmp_path / "slots", 1)
    store, ex = _sweep(tmp_path, slots)
    with slots.acquire():  # another session is training: the only slot is taken
        ex.start()
        assert _until(lambda: slots.ahead_of(None) == 2, ex), "both runs should be queued"
        assert store.records() == [] and ex.running  # nothing trained while the slot is taken
    assert ex.wait(60)
    assert [r.status for r in ex.progress().runs] == ["finished", "finished"]
    assert len(store.records()) == 2


def test_stop_while_queued_trains_nothing(tmp_path):
    slots = TrainingSlots(tmp_path / "slots", 1)
    store, ex = _sweep(tmp_path, slots)
    with slots.acquire():
        ex.start()
        assert _until(lambda: slots.ahead_of(None) == 2, ex)
        ex.stop()
        assert ex.wait(60), "queued runs should leave the queue on stop"
    assert [r.status for r in ex.progress().runs] == ["stopped", "stopped"]
    assert store.records() == [] and slots.ahead_of(None) == 0


def test_a_sweep_counts_against_the_sessions_rate_limit(monkeypatch):
    monkeypatch.setenv("NNMATH_RUNS_PER_MINUTE", "3")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/7_sweep.py").run()
    at.text_input(key="sweep_hidden").set_value("10").run()
    at.text_input(key="sweep_alpha").set_value("0.5").run()
    at.text_input(key="sweep_seeds").set_value("0-2").run()
    at.number_input(key="sweep_iterations").set_value(50).run()
    at.button(key="sweep_launch").click().run()  # 3 runs: allowed, and they use up the minute
    assert not at.exception
    assert [s.value for s in at.success] == ["Sweep finished: 3 trained."]
    at.text_input(key="sweep_seeds").set_value("3").run()
    at.button(key="sweep_launch").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "NNMATH_RUNS_PER_MINUTE" in errors and "try again in" in errors
    assert len(RunStore().records()) == 3  # the 4th run was not trained

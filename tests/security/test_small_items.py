"""Issue 27, item 10 (the smaller findings), one test each: a tab waiting on another session's
training of the same run leaves at once and reports the right time; iterations=-5 with a cached
run and iterations=0 get the same clear message on every page; a model whose weights overflow
gets no green "difference nan" on Why; the banner's time is the training time "Training time" shows,
the waiting said apart."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import nnmath
from engine.cache import ByteLRU
from engine.config import Settings
from engine.runs import Runs
from engine.slots import Cancelled
from engine.store import RunStore, compute
from tests.helpers import app_sample
from views import explain as views

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def engine() -> Runs:
    return Runs(RunStore(), ByteLRU(64 * 1024 * 1024))


def test_waiting_on_another_sessions_training_leaves_at_once():
    """The other session holds the run's lock throughout: the waiting call must give up while
    it is still held (before, it blocked in flock until the other training ended)."""
    runs = engine()
    run = runs.open(Settings(iterations=60))
    calls, outcome = [], {}

    def held(seconds):
        calls.append(seconds)
        return len(calls) >= 2  # the visitor presses Stop

    def waiting_tab():
        try:
            runs.train(run, held=held)
        except Cancelled as e:
            outcome["cancelled"] = str(e)

    with runs.store.lock(run.config.run_id):  # another session training this run
        tab = threading.Thread(target=waiting_tab)
        tab.start()
        tab.join(timeout=30)
        assert not tab.is_alive(), "the waiting tab did not leave while the lock was held"
    assert "another session" in outcome["cancelled"] and len(calls) == 2
    assert runs.store.records() == []  # nothing trained by the tab that left


def test_a_run_trained_by_another_session_meanwhile_is_reported_as_such():
    runs = engine()
    run = runs.open(Settings(iterations=60))
    started, got = threading.Event(), {}

    def held(seconds):
        started.set()

    def waiting_tab():
        got["run"] = runs.train(run, held=held)

    train, dev, _ = app_sample()
    with runs.store.lock(run.config.run_id):  # another session trains and saves it
        tab = threading.Thread(target=waiting_tab)
        tab.start()
        assert started.wait(timeout=30)
        other = compute(run.config, 60, train, dev)
        runs.store._save(run.config, other)
    tab.join(timeout=60)
    served = got["run"]
    assert not served.trained_now and served.waited > 0
    text = served.outcome()
    assert text.startswith("60 iterations, trained by another session meanwhile")
    assert f"training took {other.elapsed:.1f} s" in text and "of waiting first" in text


def test_the_banner_says_the_training_time_time_taken_shows():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["iterations"] = "60"
    at.switch_page("pages/2_train.py")
    at.run()  # a link: trains its run at once
    assert not at.exception, [e.value for e in at.exception]
    taken = next(m.value for m in at.metric if m.label == "Training time")
    banner = next(s.value for s in at.success)
    assert banner.startswith(f"Trained 60 iterations in {taken}")
    assert len(RunStore().records()) == 1


@pytest.mark.parametrize("iterations", ["-5", "0"])
@pytest.mark.parametrize("page", ["pages/2_train.py", "pages/3_evaluate.py", "pages/5_weights.py"])
def test_zero_or_negative_iterations_get_one_clear_message_everywhere(page, iterations):
    train, dev, base = app_sample()
    RunStore().train(base, 60, train, dev)  # a cached run (this answered -5 with "zero-size")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(iterations=iterations, hidden="10")
    at.switch_page(page)
    at.run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    message = f"URL parameter iterations='{iterations}' is not used: iterations must be an integer"
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.query_params["iterations"] == "500"  # the kept value, never 0 or -5
    # and settings that got past the URL are refused by every page before any run is served
    assert Settings(iterations=0).problems() and Settings(iterations=-5).problems()


def test_a_model_that_overflows_gets_no_completeness_check():
    train, dev, _ = app_sample()
    params = nnmath.init_params(10, seed=0, dtype="float64")
    huge = nnmath.Params(*(a * 1e300 for a in params.arrays().values()))
    e = nnmath.explain(huge, dev.images[0], 3, 5)
    assert not views.completeness_holds(e)
    assert "not finite" in views.not_finite_sentence(e)
    fine = nnmath.explain(params, dev.images[0], 3, 5)
    assert views.completeness_holds(fine)
    assert np.isfinite(fine.total)


def test_the_why_page_shows_the_overflow_as_a_warning(monkeypatch):
    from engine.runs import Runs as RunsClass

    real = RunsClass.open

    def overflowing(self, settings):
        run = real(self, settings)
        if run.result is None:
            return run
        p = run.result.params
        huge = nnmath.Params(*(a.astype(np.float64) * 1e300 for a in p.arrays().values()))
        return replace(run, result=replace(run.result, params=huge))

    monkeypatch.setattr(RunsClass, "open", overflowing)
    train, dev, base = app_sample()
    RunStore().train(base, 60, train, dev)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(iterations="60", image="0", target="3", versus="5")
    at.switch_page("pages/10_why.py")
    at.run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    assert not any("difference nan" in s.value for s in at.success)
    assert any("not finite" in w.value for w in at.warning), [w.value for w in at.warning]


def test_stop_does_not_wait_for_another_sessions_training(monkeypatch):
    """After Stop, the rerun waits for this session's old script thread to let go of the run
    (it clears TRAINING_KEY once the store is done), not for the run's lock: that lock is held by
    the other session for as long as it trains (Stop took 15 s)."""
    from ui import session

    state = {session.TRAINING_KEY: "0123456789abcdef"}
    looks = []

    class OtherSessionTraining:
        def wait_unlocked(self, run_id, timeout):
            looks.append((run_id, timeout))
            state.pop(session.TRAINING_KEY, None)  # the old thread leaves (Cancelled)
            return False  # the lock: still the other session's

    monkeypatch.setattr(session.st, "session_state", state)
    monkeypatch.setattr(session, "store", lambda: OtherSessionTraining())
    session.settle()
    # one short look at the lock (the old code blocked on it for up to 15 s), then done
    assert [r for r, _ in looks] == ["0123456789abcdef"] and looks[0][1] <= 0.1
    assert session.TRAINING_KEY not in state

"""Hosting a class, through the pages (AppTest): the server's limits (hidden, iterations, upload,
trainings per minute, the training queue with Stop) and an interrupted run's checkpoint."""

from __future__ import annotations

import fcntl
import os
import types

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import data
import nnmath
from engine.slots import TrainingSlots
from engine.store import RunStore
from tests.helpers import app_sample
from ui import session

from .test_pages import APP, app, metric, reference, texts

ITER = 60


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


def warnings(at) -> str:
    return "\n".join(w.value for w in at.warning)


# ---- hidden and iterations ----------------------------------------------------------------------
def test_hidden_above_the_server_limit_is_refused(calls, monkeypatch):
    monkeypatch.setenv("NNMATH_MAX_HIDDEN", "20")
    at = app("pages/2_train.py", hidden=32, iterations=ITER)
    refused = "URL parameter hidden='32' is not used: hidden must be an integer between 1 and 20"
    assert refused in warnings(at)
    assert calls["gradient_descent"] == 0 and RunStore().records() == []
    # a permalink opened on another page is refused the same way: the page shows the run of
    # the settings kept (hidden 10), never one of 32 units
    at = app("pages/3_evaluate.py", hidden=32, iterations=ITER)
    assert refused in warnings(at)
    assert {r.config.hidden for r in RunStore().records()} <= {10}
    # settings that got past the URL (a widget) are refused where a run is asked for
    assert "hidden must be an integer between 1 and 20, got 32" in "; ".join(
        nnmath_settings_problems(hidden=32, max_hidden=20)
    )


def nnmath_settings_problems(max_hidden, **settings):
    from engine.config import Settings

    return Settings(**settings).problems(max_hidden=max_hidden)


def test_iterations_above_the_limit_from_the_secrets_are_refused(calls):
    at = AppTest.from_file(APP)
    at.secrets["NNMATH_MAX_ITERATIONS"] = 100
    at.query_params.update(iterations="200")
    at.switch_page("pages/2_train.py")
    at.run(timeout=60)
    assert "iterations must be an integer between 1 and 100; kept 100" in warnings(at)
    assert calls["gradient_descent"] == 0


def test_a_bad_limit_is_named_and_the_default_kept(monkeypatch):
    monkeypatch.setenv("NNMATH_MAX_HIDDEN", "many")
    at = app("pages/2_train.py", hidden=300, iterations=ITER)
    assert "NNMATH_MAX_HIDDEN must be a whole number >= 1, got 'many'" in warnings(at)
    assert "hidden must be an integer between 1 and 256; kept 10" in warnings(at)


# ---- uploads ------------------------------------------------------------------------------------
def test_the_upload_limit_is_stated_and_enforced(monkeypatch):
    monkeypatch.setenv("NNMATH_MAX_UPLOAD_MB", "1")
    at = app("pages/1_data.py")
    assert "Upload a file (up to 1 MB)" in at.radio(key="data_source").options
    big = types.SimpleNamespace(name="big.csv", size=2 * 1024 * 1024, getvalue=lambda: b"")
    with pytest.raises(
        data.DataError, match=r"big.csv is 2.0 MB; the limit on this server is 1 MB"
    ):
        session.keep_upload(big)
    # under the limit, the file is read as before
    csv = b"label," + b",".join(b"p%d" % i for i in range(784)) + b"\n"
    csv += b"".join(b"%d," % (i % 10) + b",".join([b"0"] * 784) + b"\n" for i in range(20))
    small = types.SimpleNamespace(name="small.csv", size=len(csv), getvalue=lambda: csv)
    assert session.keep_upload(small).startswith("upload-")


def test_the_upload_limit_never_exceeds_streamlits_own(monkeypatch):
    monkeypatch.setenv("NNMATH_MAX_UPLOAD_MB", "5000")
    at = app("pages/1_data.py")
    assert "Upload a file (up to 200 MB)" in at.radio(key="data_source").options


# ---- trainings per minute -----------------------------------------------------------------------
def test_a_session_may_start_only_so_many_trainings_a_minute(calls, monkeypatch):
    monkeypatch.setenv("NNMATH_RUNS_PER_MINUTE", "2")
    at = app("pages/2_train.py", iterations=ITER, seed=1)  # 1st training (opened by link)
    at.number_input(key="w_seed").set_value(2).run()
    at.button(key="train").click().run()  # 2nd
    assert calls["gradient_descent"] == 2
    at.number_input(key="w_seed").set_value(1).run()
    at.button(key="train").click().run()  # served from the cache: not a training
    assert "served from the run cache" in texts(at)
    at.number_input(key="w_seed").set_value(3).run()
    at.button(key="train").click().run()  # 3rd: refused
    assert calls["gradient_descent"] == 2
    assert "You started 2 trainings in the last minute" in errors(at)
    assert "NNMATH_RUNS_PER_MINUTE" in errors(at) and "try again in" in errors(at)
    # another session (another student) is not affected
    app("pages/2_train.py", iterations=ITER, seed=3)
    assert calls["gradient_descent"] == 3


# ---- the training queue -------------------------------------------------------------------------
def _queued_tickets(slots: TrainingSlots, n: int) -> list[int]:
    """``n`` live tickets queued before anyone else (this process holds their flocks)."""
    fds = []
    for k in range(n):
        path = slots.queue / f"{k:020d}-test"
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        fds.append(fd)
    return fds


def test_a_training_beyond_the_limit_waits_its_turn_and_says_how_many_are_ahead(calls, monkeypatch):
    monkeypatch.setenv("NNMATH_MAX_TRAININGS", "1")
    slots = TrainingSlots(RunStore().root / "slots", 1)
    busy = slots.acquire()  # another session trains ...
    busy.__enter__()
    tickets = _queued_tickets(slots, 2)  # ... and two more were queued before this one
    real, seen = session.host.queue_text, []

    def text(ahead, busy_now, n):  # the page's queue message; moves the queue along
        seen.append((ahead, busy_now, n))
        if tickets:  # the two ahead leave
            for fd in tickets:
                os.close(fd)
            tickets.clear()
        elif ahead == 0:  # the training ends
            busy.__exit__(None, None, None)
        return real(ahead, busy_now, n)

    monkeypatch.setattr(session.host, "queue_text", text)
    at = app("pages/2_train.py", iterations=ITER)
    assert seen[:2] == [(2, 1, 1), (0, 1, 1)], "two runs queued ahead, then this one is next"
    assert calls["gradient_descent"] == 1 and f"Trained {ITER} iterations" in texts(at)
    assert real(2, 1, 1) == (
        "queued for a free training slot: 2 runs ahead of yours (1 of 1 training now on this "
        "server; Stop leaves the queue)"
    )


def test_stop_while_queued_leaves_the_queue_and_trains_nothing(calls, monkeypatch):
    monkeypatch.setenv("NNMATH_MAX_TRAININGS", "1")
    slots = TrainingSlots(RunStore().root / "slots", 1)

    def click_stop(ahead, busy, n):  # what a click does to the next UI update of the script
        st.stop()  # raises Streamlit's own stop exception, as that update would

    monkeypatch.setattr(session.host, "queue_text", click_stop)
    with slots.acquire():
        at = app("pages/2_train.py", iterations=ITER)
        assert slots.ahead_of(None) == 0, "the stopped session left the queue"
    assert calls["gradient_descent"] == 0 and RunStore().records() == []
    assert not at.metric  # the script stopped there, as on a click (which then reruns it)


# ---- checkpoints --------------------------------------------------------------------------------
def _interrupted_at(iterations: int, total: int):
    """A checkpoint in the store as a killed server leaves it (the run's config, its partial)."""
    train, dev, config = app_sample()
    store = RunStore()
    taken = {}

    def callback(p):
        if p.iteration == iterations:
            taken["partial"] = p.checkpoint()
            return True

    X, y, Xd, yd = train.X, train.labels, dev.X, dev.labels
    nnmath.gradient_descent(
        X, y, config.train_config(), X_dev=Xd, y_dev=yd, iterations=total, callback=callback,
        callback_every=5,
    )  # fmt: skip
    store._save_checkpoint(config, taken["partial"])
    return store, config


def test_an_interrupted_run_is_offered_to_continue_and_continues_from_its_checkpoint(calls):
    store, config = _interrupted_at(35, ITER)
    calls["gradient_descent"] = 0
    at = app("pages/2_train.py", iterations=ITER, hidden=10)
    # opened from a link: trains, continuing from the checkpoint
    assert calls == {"gradient_descent": 0, "continue_training": 1}
    train, dev, _ = app_sample()
    unbroken = nnmath.gradient_descent(
        train.X, train.labels, X_dev=dev.X, y_dev=dev.labels, iterations=ITER
    )
    assert metric(at, "Dev accuracy") == f"{unbroken.dev_accuracy:.1%}"
    saved = store.get(config, ITER)
    np.testing.assert_array_equal(saved.params.W1, unbroken.params.W1)
    assert not store.checkpoint_path(config.run_id).exists()


def test_an_interrupted_run_waits_for_a_click_when_not_opened_by_link(calls):
    _interrupted_at(35, 500)
    calls["gradient_descent"] = 0
    at = app("pages/2_train.py")
    assert "interrupted at iteration 35 of 500 (its last checkpoint" in texts(at)
    assert "continue from there" in texts(at)
    assert calls["gradient_descent"] == 0 and calls["continue_training"] == 0


def test_a_training_past_the_time_limit_stops_says_why_and_continues_on_train(calls, monkeypatch):
    from tests.helpers import tick_time_limit

    tick_time_limit(monkeypatch, 100)  # 100 s per read: training callbacks come every 5 its
    monkeypatch.setenv("NNMATH_MAX_TRAIN_SECONDS", "600")
    at = app("pages/2_train.py", iterations=ITER, hidden=10)  # a link: trains at once
    assert calls["gradient_descent"] == 1
    assert (
        f"Stopped at iteration 30 of {ITER}, at this server's limit of 10 minutes of training "
        "at a time, so that everyone's runs get their turn. What was computed is kept: press "
        "Train to continue from there."
    ) in warnings(at)
    tick_time_limit(monkeypatch, 0)  # time stands still
    at.button(key="train").click().run()
    assert not at.exception and not at.warning
    assert calls["continue_training"] == 1
    unbroken, _ = reference(ITER)
    assert metric(at, "Dev accuracy") == f"{unbroken.dev_accuracy:.1%}"


def test_a_sweep_obeys_the_hidden_and_iteration_limits(monkeypatch):
    monkeypatch.setenv("NNMATH_MAX_HIDDEN", "64")
    monkeypatch.setenv("NNMATH_MAX_ITERATIONS", "1000")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/7_sweep.py").run()
    at.text_input(key="sweep_hidden").set_value("10, 128").run()  # the prefilled grid is small
    assert "hidden must be at most 64 on this server (NNMATH_MAX_HIDDEN), got 128" in errors(at)
    assert at.number_input(key="sweep_iterations").max == 1000
    at.text_input(key="sweep_hidden").set_value("10, 64").run()
    assert not at.error

"""Training from a page: a click while training (Streamlit's rerun/stop exception raised by the
next UI update) stops nnmath, keeps the partial run as "stopped", then re-raises."""

from __future__ import annotations

import contextlib

import pytest

from engine.config import Settings
from engine.store import RunStore
from ui import session


class StopException(BaseException):
    """Stands for Streamlit's own rerun/stop exceptions: raised by the next UI call after a click,
    and, like them, a BaseException (the glue must not rely on their private module)."""


class FakeBar:
    def __init__(self, fail_after):
        self.calls, self.fail_after, self.charts = 0, fail_after, 0

    def progress(self, *a, **k):
        self.calls += 1
        if self.calls > self.fail_after:
            raise StopException()  # what a UI call raises when the user clicked Stop

    def plotly_chart(self, *a, **k):  # the live chart placeholder: also a UI update that can raise
        self.charts += 1
        self.progress()

    def empty(self):
        pass


class FakeSt:
    def __init__(self, fail_after):
        self.bar = FakeBar(fail_after)
        self.session_state = {}

    def progress(self, *a, **k):
        return self.bar

    def empty(self):
        self.chart = FakeBar(10**9)
        return self.chart

    def spinner(self, text):
        return contextlib.nullcontext()


def test_stop_keeps_the_partial_run_and_reraises(monkeypatch):
    monkeypatch.setattr(session, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(session, "st", FakeSt(fail_after=3))
    settings = Settings(iterations=400)
    run = session.lookup(settings)
    assert run.result is None
    with pytest.raises(StopException):
        session.train(run)
    assert session.TRAINING_KEY not in session.st.session_state
    saved = RunStore().latest(run.config)
    assert saved is not None and saved.status == "stopped"
    assert 0 < saved.iterations < 400
    # the next page run offers it and continues from there
    again = session.lookup(settings)
    assert again.result is None and again.latest.iterations == saved.iterations


def test_training_without_interruption_returns_the_result(monkeypatch):
    monkeypatch.setattr(session, "st", FakeSt(fail_after=10**9))
    run = session.train(session.lookup(Settings(iterations=30)))
    assert run.trained_now and run.result.iterations == 30 and run.result.status == "finished"
    assert session.lookup(Settings(iterations=30)).result is not None


@pytest.mark.parametrize("first_seconds, drawn", [(10**9, False), (0.0, True)])
def test_the_live_chart_waits_for_runs_that_last(monkeypatch, first_seconds, drawn):
    """A run that ends within CHART_FIRST_SECONDS shows its curves only when it ends (no chart
    drawn for a split second); a longer one gets live curves."""
    monkeypatch.setattr(session, "CHART_FIRST_SECONDS", first_seconds)
    monkeypatch.setattr(session, "CHART_SECONDS", 0.0)
    fake = FakeSt(fail_after=10**9)
    monkeypatch.setattr(session, "st", fake)
    session.train(session.lookup(Settings(iterations=60)))
    assert (fake.chart.charts > 0) == drawn

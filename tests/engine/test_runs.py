"""The engine's front door: settings -> run (served, replayed or not yet trained) -> trained."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import Settings
from engine.runs import Runs
from engine.store import RunStore, compute


@pytest.fixture
def runs(tmp_path):
    return Runs(RunStore(tmp_path / "store"))


def test_open_train_then_serve_the_same_numbers(runs):
    settings = Settings(iterations=60)
    before = runs.open(settings)
    assert before.result is None and before.latest is None and before.train is not None
    trained = runs.train(before)
    assert trained.trained_now and trained.result.iterations == 60
    served = runs.open(settings)
    assert not served.trained_now
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(
            getattr(served.result.params, name), getattr(trained.result.params, name)
        )


def test_between_snapshots_is_replayed_exactly_and_longer_runs_continue(runs):
    runs.train(runs.open(Settings(iterations=100)))
    between = runs.open(Settings(iterations=73))  # snapshots every 50: replay 23 from 50
    assert between.result is not None and between.result.iterations == 73
    direct = compute(between.config, 73, between.train, between.dev)
    np.testing.assert_array_equal(between.result.params.W1, direct.params.W1)
    longer = runs.open(Settings(iterations=150))
    assert longer.result is None and longer.latest.iterations == 100 and longer.continues


def test_a_stored_run_extended_elsewhere_is_not_served_stale(runs, tmp_path):
    runs.train(runs.open(Settings(iterations=50)))
    assert runs.open(Settings(iterations=50)).result is not None
    other = Runs(RunStore(tmp_path / "store"))  # another server process on the same store
    other.train(other.open(Settings(iterations=100)))
    assert runs.open(Settings(iterations=100)).result.iterations == 100

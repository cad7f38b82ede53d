"""The coach: each rule on a real run of the embedded sample that shows it, and no advice for the
notebook's run, where nothing stands out."""

from __future__ import annotations

import re
from dataclasses import asdict, replace
from decimal import Decimal

import numpy as np
import pytest

import nnmath
from engine.config import Settings
from tests.helpers import app_sample
from views import coach


@pytest.fixture(scope="module")
def sample():
    train, dev, _ = app_sample()
    return train, dev


def assert_adds_up(text: str, pattern: str, difference_first: bool = False) -> None:
    """The numbers ``pattern`` finds in ``text``, (high, low, difference) or (difference, low,
    high), add up as written: high − low is the difference the text writes."""
    found = [Decimal(x) for x in re.search(pattern, text).groups()]
    high, low, diff = found[::-1] if difference_first else found
    assert high - low == diff, text


def trained(sample, n_train: int | None = None, **settings):
    """(result, settings, dead units) of a real run on the sample's app split (the first
    ``n_train`` training images only, when given)."""
    train, dev = sample
    s = Settings(**settings)
    X, y = train.X[:n_train], train.labels[:n_train]
    result = nnmath.gradient_descent(
        X,
        y,
        hidden=s.hidden,
        alpha=s.alpha,
        iterations=s.iterations,
        seed=s.seed,
        init=s.init,
        weight_decay=s.weight_decay,
        X_dev=dev.X,
        y_dev=dev.labels,
    )
    return result, s, coach.dead_units(result.params, X)


def test_a_diverged_run_gets_a_smaller_alpha(sample):
    result, s, dead = trained(sample, hidden=32, alpha=5.0, iterations=50, init="he")
    assert result.status == nnmath.Status.DIVERGED
    advice = coach.advise(result, s, dead=dead)
    assert advice.rule == "diverged" and advice.changes == ("alpha",)
    assert advice.next.alpha == 0.5 and advice.next.hidden == 32 and advice.next.init == "he"
    assert f"iteration {result.diverged_at}" in advice.said and "(0.5)" in advice.step
    at_the_bottom = replace(s, alpha=0.001)  # no smaller alpha on offer: no advice
    assert coach.advise(result, at_the_bottom, dead=dead) is None
    fixed, _, _ = trained(sample, hidden=32, alpha=0.5, iterations=50, init="he")
    assert fixed.status == nnmath.Status.FINISHED  # the step it offers trains


def test_dead_units_get_another_initialisation(sample):
    result, s, dead = trained(sample, hidden=10, alpha=1.0, iterations=60, init="he")
    assert dead >= 3
    advice = coach.advise(result, s, dead=dead)
    assert advice.rule == "dead units" and advice.next.init == "uniform"
    assert advice.changes == ("init",) and f"{dead} of 10 hidden units are dead" in advice.said
    _, _, fewer_dead = trained(sample, hidden=10, alpha=1.0, iterations=60, init="uniform")
    assert fewer_dead < dead


def test_units_killed_by_a_large_alpha_get_a_smaller_one(sample):
    result, s, dead = trained(sample, hidden=10, alpha=2.0, iterations=300)
    assert dead >= 8 and result.dev_accuracy < 0.15  # looks stuck, but a larger alpha is wrong
    advice = coach.advise(result, s, dead=dead)
    assert advice.rule == "dead units" and advice.next.alpha == 0.2


def test_stuck_near_chance_gets_a_larger_alpha(sample):
    result, s, dead = trained(sample, hidden=10, alpha=0.001, iterations=100, init="he")
    assert dead == 0 and result.dev_accuracy < 0.15
    advice = coach.advise(result, s, dead=dead)
    assert advice.rule == "stuck" and advice.next.alpha == 0.01 and advice.changes == ("alpha",)
    assert "barely better than guessing" in advice.said


def test_train_and_dev_apart_gets_fewer_units(sample):
    result, s, dead = trained(sample, n_train=500, hidden=32, alpha=0.5, iterations=100)
    assert result.train_accuracy - result.dev_accuracy > 0.15
    advice = coach.advise(result, s, dead=dead)
    assert advice.rule == "apart" and advice.next.hidden == 16
    assert f"dev accuracy {result.dev_accuracy:.1%}" in advice.said
    assert_adds_up(
        advice.said, r"Train accuracy ([\d.]+)%, dev accuracy ([\d.]+)%: ([\d.]+) points"
    )


def test_train_and_dev_apart_at_the_notebooks_width_gets_weight_decay(sample):
    result, s, dead = trained(sample, n_train=500, hidden=10, alpha=0.5, iterations=200)
    gap = result.train_accuracy - result.dev_accuracy
    advice = coach.advise(result, s, dead=dead)
    assert advice.rule == "apart" and advice.changes == ("weight_decay",)
    assert advice.next.weight_decay == coach.WEIGHT_DECAY and advice.next.hidden == 10
    assert advice.next.to_query()["weight_decay"] == "0.01"  # the link carries it
    regularised, _, _ = trained(sample, n_train=500, **asdict(advice.next))
    assert regularised.train_accuracy - regularised.dev_accuracy < gap  # the step narrows it


def test_still_improving_at_the_end_gets_more_iterations(sample):
    result, s, dead = trained(sample, hidden=10, alpha=0.1, iterations=60)
    advice = coach.advise(result, s, dead=dead)
    assert advice.rule == "improving" and advice.next.iterations == 120
    # the gain is checkable on the page: from the history's row at the last fifth's start (after
    # 48 updates) to the final accuracy, and the difference of the two as written
    start = 60 - int(60 * coach.LAST)
    assert f"from {result.history.dev_accuracy[start]:.1%} at iteration {start} " in advice.said
    assert f"to {result.dev_accuracy:.1%}." in advice.said
    assert_adds_up(
        advice.said, r"\+([\d.]+) points.* from ([\d.]+)% at iteration \d+ to ([\d.]+)%", True
    )
    assert advice.next.to_query() == {**s.to_query(), "iterations": "120"}  # the same run, longer
    assert coach.advise(result, s, dead=dead, max_iterations=60) is None  # already at the cap
    stopped = replace(result, status=nnmath.Status.STOPPED)  # Train offers to continue it
    assert coach.advise(stopped, s, dead=dead) is None


def test_the_notebooks_run_gets_no_advice(sample):
    result, s, dead = trained(sample, hidden=10, alpha=0.1, iterations=500)
    assert result.dev_accuracy > 0.8 and dead == 0
    assert coach.advise(result, s, dead=dead) is None


def test_dead_units_only_for_relu():
    params = nnmath.init_params(4, seed=0)
    X = np.zeros((3, 784), np.uint8)
    assert coach.dead_units(params, X, activation="tanh") is None
    dead_params = replace(params, b1=np.full(4, -1.0, np.float32))  # every sum negative
    assert coach.dead_units(dead_params, X) == 4

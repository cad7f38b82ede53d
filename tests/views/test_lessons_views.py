"""views.lessons: every figure a lesson may name is drawn from the run's own numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nnmath
from data import train_dev_split
from engine import lessons as el
from tests.helpers import decode, tiny_dataset
from views import figures
from views import lessons as vl


@pytest.fixture(scope="module")
def run():
    ds = tiny_dataset(200)
    train, dev = train_dev_split(ds, seed=0)
    result = nnmath.gradient_descent(
        train.X, train.labels, X_dev=dev.X, y_dev=dev.labels, hidden=6, iterations=30, alpha=0.1
    )
    facts = {
        **el.run_facts(result, dev.X, dev.labels, train.n),
        **el.trace_facts(result.params, 2, dev.X, dev.labels, 0.1),
    }
    return result, train, dev, facts


@pytest.mark.parametrize("name", list(el.FIGURES))
def test_every_lesson_figure_is_drawn(run, name):
    result, train, dev, facts = run
    fig = decode(json.loads(vl.figure(name, result, train, dev, facts).to_json()))
    assert fig["data"], name


def test_figures_show_the_runs_numbers(run):
    result, train, dev, facts = run
    bars = decode(json.loads(vl.figure("probabilities", result, train, dev, facts).to_json()))
    np.testing.assert_allclose(bars["data"][0]["y"], facts["A2"], rtol=1e-6)
    cm = decode(json.loads(vl.figure("confusion", result, train, dev, facts).to_json()))
    assert np.asarray(cm["data"][0]["z"]).sum() == dev.n
    with pytest.raises(ValueError, match="name must be one of"):
        vl.figure("pie", result, train, dev, facts)


def test_the_curves_have_an_accuracy_gridline_at_80_percent(run):
    """The lesson "How long to train" asks when the dev accuracy first reached 80%, to be read
    off the curves: with ticks at 0, 50 and 100% only it could not be."""
    result, train, dev, facts = run
    fig = vl.figure("curves", result, train, dev, facts)
    axis = fig.layout.yaxis2
    ticks = np.arange(axis.range[0], axis.range[1] + 1e-9, axis.dtick)
    assert np.isclose(ticks, 0.8).any() and axis.tickformat == ".0%"


def test_the_hidden_change_figure_subtracts_the_random_start(run):
    """After 500 iterations the notebook's tiles are mostly their U[-0.5, 0.5] start, noise that
    says nothing: hidden-change draws W1 minus the start, on a scale named "change"."""
    result, train, dev, facts = run
    change = vl.figure("hidden-change", result, train, dev, facts)
    start = result.snapshot(0).W1
    want = figures.hidden_units(result.params.W1, cols=5, start=start)
    assert change.to_json() == want.to_json()
    assert change.to_json() != vl.figure("hidden", result, train, dev, facts).to_json()
    assert "change" in change.to_json() and not np.allclose(result.params.W1, start)

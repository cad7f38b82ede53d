"""views.race: racers, the URL's race value, the overlaid figure and the finishing table."""

from __future__ import annotations

import numpy as np
import pytest

import nnmath
from engine.config import NOTEBOOK
from tests.helpers import tiny_dataset
from views import race


def test_race_values_parse_and_say_what_is_wrong():
    assert race.parse_race("gd, adam,gd") == ("gd", "adam")
    assert race.parse_race(race.format_race(("nesterov", "gd"))) == ("nesterov", "gd")
    with pytest.raises(ValueError, match="racers of gd, momentum, nesterov, adam, got 'sgd'"):
        race.parse_race("gd,sgd")
    with pytest.raises(ValueError, match="2 to 4 racers, got 1"):
        race.parse_race("adam")


def test_racers_keep_the_base_and_change_optimizer_and_rate():
    base = NOTEBOOK.__class__(hidden=32, iterations=200, seed=4)
    rs = race.racers(base, ("gd", "adam"))
    assert rs["gd"] == base  # the notebook's rule at its rate: the base run itself
    assert (rs["adam"].optimizer, rs["adam"].alpha) == ("adam", 0.01)
    assert (rs["adam"].hidden, rs["adam"].iterations, rs["adam"].seed) == (32, 200, 4)


@pytest.fixture(scope="module")
def results():
    ds = tiny_dataset(300)
    X, y = ds.X, ds.labels
    out = {}
    for name in ("gd", "momentum", "adam"):
        s = race.racers(NOTEBOOK, [name])[name]
        out[name] = nnmath.gradient_descent(
            X[:200], y[:200], s.train_config(), iterations=40, X_dev=X[200:], y_dev=y[200:]
        )
    return out


def test_the_figure_overlays_every_racer_on_loss_and_dev_accuracy(results):
    labels = {n: n.upper() for n in results}
    fig = race.race_figure({n: r.history for n, r in results.items()}, labels, total=40)
    assert [t.name for t in fig.data] == ["GD", "GD", "MOMENTUM", "MOMENTUM", "ADAM", "ADAM"]
    np.testing.assert_array_equal(fig.data[4].y, results["adam"].history.loss)
    np.testing.assert_array_equal(fig.data[5].y, results["adam"].history.dev_accuracy)


def test_the_table_ranks_by_dev_accuracy_and_says_when_each_got_there(results):
    labels = {n: n for n in results}
    table = race.race_table(results, labels)
    percent = sorted((r.dev_accuracy * 100 for r in results.values()), reverse=True)
    assert list(table["dev accuracy"]) == percent
    assert table.iloc[0]["racer"] == race.winner(results)
    col = next(c for c in table.columns if c.startswith("dev ≥"))
    for _, row in table.iterrows():
        dev = results[row["racer"]].history.dev_accuracy
        reached = np.flatnonzero(dev >= race.TARGET)
        assert row[col] == (reached[0] if reached.size else None) or (
            not reached.size and np.isnan(row[col])
        )

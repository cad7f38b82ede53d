"""views.race: racers, the URL's race value, the overlaid figure and the finishing table."""

from __future__ import annotations

from types import SimpleNamespace

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


def _racer(dev_accuracy, history_dev, iterations):
    history = SimpleNamespace(dev_accuracy=np.asarray(history_dev, dtype=float))
    return SimpleNamespace(
        dev_accuracy=dev_accuracy,
        train_accuracy=dev_accuracy,
        loss=0.5,
        status="finished",
        iterations=iterations,
        history=history,
    )


def test_a_racer_that_reaches_the_mark_only_with_its_final_parameters_reached_it_there():
    # the history's row i is after i updates: the last update's dev accuracy is only the final one
    results = {
        "gd": _racer(0.86, [0.1, 0.5, 0.84], 3),
        "adam": _racer(0.87, [0.1, 0.86, 0.87], 3),
    }
    table = race.race_table(results, {"gd": "GD", "adam": "Adam"}).set_index("racer")
    col = next(c for c in table.columns if c.startswith("dev ≥"))
    assert table.loc["GD", col] == 3 and table.loc["Adam", col] == 1
    assert table.loc["GD", "dev accuracy"] >= race.TARGET * 100


def test_the_winner_sentence_writes_the_lead_that_its_two_numbers_show():
    labels = {"gd": "GD", "momentum": "Momentum", "adam": "Adam"}
    results = {
        "gd": _racer(0.504, [0.1], 60),
        "momentum": _racer(0.73, [0.1], 60),
        "adam": _racer(0.855, [0.1], 60),
    }
    assert race.winner_text(results, labels) == (
        "Adam finished first: dev accuracy 85.5% after 60 iterations, 12.5 points ahead of "
        "Momentum, at 73.0%."
    )
    # 8,400 dev images: 97.32% and 97.29% both read 97.3%, so both get the digit that parts them,
    # and the lead is theirs as written (97.32 − 97.29 = 0.03, though they differ by 0.036)
    results["momentum"] = _racer(8172 / 8400, [0.1], 60)
    results["adam"] = _racer(8175 / 8400, [0.1], 60)
    text = race.winner_text(results, labels)
    assert "dev accuracy 97.32% " in text and "0.03 points ahead of Momentum, at 97.29%." in text


def test_a_tie_is_said_to_be_one():
    labels = {"gd": "GD", "momentum": "Momentum", "adam": "Adam"}
    results = {
        "gd": _racer(0.5, [0.1], 60),
        "momentum": _racer(0.85, [0.1], 60),
        "adam": _racer(0.85, [0.1], 60),
    }
    text = race.winner_text(results, labels)
    assert text == "Momentum and Adam tied first: dev accuracy 85.0% each after 60 iterations."
    assert "finished first" not in text
    # none with a dev accuracy: no tie "at -100.0%" (the score that ranks nan last)
    nan = {n: _racer(float("nan"), [0.1], 60) for n in ("gd", "adam")}
    assert race.winner_text(nan, labels) == (
        "No racer finished with a dev accuracy: each one diverged (see the table)."
    )


def test_the_curves_end_on_the_tables_numbers(results):
    # the history's row i is after i updates: the table's numbers are after the last one
    labels = {n: n for n in results}
    fig = race.race_figure(
        {n: r.history for n, r in results.items()}, labels, total=40, finals=results
    )
    for i, r in enumerate(results.values()):
        loss, dev = fig.data[2 * i], fig.data[2 * i + 1]
        assert loss.x[-1] == dev.x[-1] == r.iterations == 40
        assert (loss.y[-1], dev.y[-1]) == pytest.approx((r.loss, r.dev_accuracy))
        np.testing.assert_array_equal(dev.y[:-1], r.history.dev_accuracy)

"""The Race page (AppTest): a link races its optimizers, then serves them from the store."""

from __future__ import annotations

import json

from engine.store import RunStore
from tests.pages.test_pages import ITER, app, texts


def test_a_race_link_trains_each_racer_once_then_serves_them(calls):
    at = app("pages/14_race.py", iterations=ITER, race="gd,nesterov,adam")
    assert "finished first" in texts(at)
    assert calls["gradient_descent"] == 3
    stored = {r.config.optimizer for r in RunStore().records()}
    assert stored == {"gd", "nesterov", "adam"}
    table = at.dataframe[0].value
    assert len(table) == 3 and table["dev accuracy"].is_monotonic_decreasing
    # accuracies in percent as on every other page (85.0%, not 0.85), loss as on Train
    best = max(r.dev_accuracy for r in RunStore().records())
    assert f"{table['dev accuracy'].iloc[0]:.1f}%" == f"{best:.1%}"
    config = json.loads(at.dataframe[0].proto.columns)
    for column in ("dev accuracy", "train accuracy"):
        assert config[column]["type_config"]["format"] == "%.1f%%"
    assert config["loss"]["type_config"]["format"] == "%.3f"
    again = app("pages/14_race.py", iterations=ITER, race="gd,nesterov,adam")
    assert "finished first" in texts(again) and calls["gradient_descent"] == 3


def test_a_bad_race_in_the_url_says_so_and_shows_the_default(calls):
    at = app("pages/14_race.py", iterations=ITER, race="gd,rmsprop")
    assert any("rmsprop" in w.value for w in at.warning)
    assert at.multiselect(key="race_racers").value == ["gd", "momentum", "adam"]

"""Runs screen through the router (AppTest): table, filters, links, curves, delete."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.store import RunStore
from tests.helpers import app_sample, decode

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def specs(at):
    return {c.proto.id: decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")}


@pytest.fixture
def runs():
    """Three runs on the embedded sample with the app's split (RunStore reads NNMATH_RUNS_DIR)."""
    train, dev, base = app_sample()
    store = RunStore()
    out = [
        store.train(replace(base, hidden=h, alpha=a), 30, train, dev, data_key="sample")
        for h, a in ((10, 0.1), (16, 0.5), (10, 1e6))
    ]
    return store, out


def runs_page():
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/6_runs.py").run()
    assert not at.exception
    return at


def test_runs_page_without_runs_says_how_to_get_some():
    at = runs_page()
    assert at.title[0].value == "Runs"
    assert "No runs on this dataset yet" in at.info[0].value


def test_runs_table_lists_every_run_with_links_and_charts(runs):
    at = runs_page()
    table = at.dataframe[0].value
    assert len(table) == 3
    assert sorted(table["status"]) == ["diverged", "finished", "finished"]
    assert all(link.startswith("evaluate?data=sample&hidden=") for link in table["open"])
    # calibration columns: each run's dev ECE and NLL as recorded by the store
    store, results = runs
    shown = table.set_index(["hidden", "alpha"])
    for rec in store.records():
        row = shown.loc[(rec.config.hidden, rec.config.alpha)]
        assert row["dev_ece"] == pytest.approx(rec.dev_ece)
        assert row["dev_nll"] == pytest.approx(rec.dev_nll)
    finished = [r for r in results if r.status == "finished"]
    for result in finished:
        row = shown.loc[(result.config.hidden, result.config.alpha)]
        assert row["dev_nll"] == pytest.approx(result.dev_loss) and 0 < row["dev_ece"] < 1
    charts = [s["data"][0]["type"] for s in specs(at).values()]
    assert charts == ["parcoords", "scatter"]
    time_chart = list(specs(at).values())[1]
    assert time_chart["layout"]["xaxis"]["title"]["text"] == "training time (s)"


def test_filters_narrow_the_table(runs):
    at = runs_page()
    at.multiselect(key="runs_status").set_value(["finished"]).run()
    assert sorted(at.dataframe[0].value["hidden"]) == [10, 16]
    at.slider(key="runs_min_dev").set_value(99).run()  # percent
    assert len(at.dataframe[0].value) == 0
    assert not at.exception


def select(at, rows):
    # AppTest cannot click table rows; the selection state is what a click would produce.
    at.session_state["runs_table"] = {"selection": {"rows": rows, "columns": []}}
    return at.run()


def test_selected_runs_overlay_curves_and_two_open_compare(runs):
    at = select(runs_page(), [0, 1])
    assert not at.exception
    curves = [
        s
        for s in specs(at).values()
        if s["layout"].get("annotations")
        and s["layout"]["annotations"][0]["text"] == "Training loss"
    ]
    assert curves, "no curves chart"
    names = {t["name"] for t in curves[0]["data"] if t.get("showlegend", True)}
    assert len(names) == 2
    assert curves[0]["layout"]["yaxis"]["title"]["text"] == "cross-entropy loss"
    at.button(key="runs_compare").click().run()
    assert not at.exception
    assert at.title[0].value == "Compare runs"
    assert at.selectbox(key="cmp_a").value != at.selectbox(key="cmp_b").value


def test_one_selected_run_opens_on_evaluate(runs):
    at = select(runs_page(), [1])
    row = at.dataframe[0].value.iloc[1]
    at.button(key="runs_open").click().run()
    assert not at.exception
    assert at.title[0].value != "Runs"
    settings = at.session_state["settings"]  # what the Evaluate page now shows
    assert (settings.hidden, settings.alpha, settings.iterations) == (
        row["hidden"],
        row["alpha"],
        row["iterations"],
    )
    assert at.query_params["alpha"] == f"{row['alpha']:g}"


def test_delete_removes_the_selected_runs_from_the_store(runs):
    store, _ = runs
    at = select(runs_page(), [0])
    at.checkbox(key="runs_confirm_delete").check().run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert len(store.records()) == 2


@pytest.fixture
def seeds():
    """Two settings with three seeds each, and one run alone."""
    train, dev, base = app_sample()
    store = RunStore()
    for alpha in (0.1, 0.5):
        for seed in (0, 1, 2):
            store.train(replace(base, alpha=alpha, seed=seed), 30, train, dev, data_key="sample")
    store.train(replace(base, hidden=16), 30, train, dev, data_key="sample")
    return store


def test_seed_groups_notes_and_tags_in_the_ledger(seeds):
    store = seeds
    at = runs_page()
    table = at.dataframe[0].value
    for alpha in (0.1, 0.5):
        rows = table[(table["alpha"] == alpha) & (table["hidden"] == 10)]
        acc = rows["dev_accuracy"].to_numpy(dtype=float) / 100  # the table shows percent
        want = f"{acc.mean() * 100:.1f}% ± {np.std(acc, ddof=1) * 100:.1f} (3 seeds)"
        assert set(rows["seeds"]) == {want}
    assert table[table["hidden"] == 16]["seeds"].iloc[0].endswith("(1 seed)")
    # a note and tags on one run, written through the page's form
    row = int(np.flatnonzero(table["hidden"] == 16)[0])
    at = select(at, [row])
    at.text_area[0].input("wider layer, same rate")
    tag_box = [t for t in at.text_input if t.label.startswith("tags")][0]
    tag_box.input("Wide, try-2")
    [b for b in at.button if b.label == "Save note and tags"][0].click()
    at.run()
    assert not at.exception
    (run_id,) = [r.run_id for r in store.records() if r.config.hidden == 16]
    assert store.annotation(run_id).tags == ("wide", "try-2")
    # survives a new session (a restart reads the same folder) and filters the ledger
    at = runs_page()
    assert at.multiselect(key="runs_tags").options == ["try-2", "wide"]
    at.multiselect(key="runs_tags").select("wide").run()
    assert at.dataframe[0].value["hidden"].tolist() == [16]
    at.multiselect(key="runs_tags").unselect("wide").run()
    at.text_input(key="runs_search").input("LAYER").run()
    assert at.dataframe[0].value["note"].tolist() == ["wider layer, same rate"]


def test_selected_seeds_draw_mean_band_and_thin_lines(seeds):
    at = runs_page()
    table = at.dataframe[0].value
    rows = [int(i) for i in table.index[(table["alpha"] == 0.5) & (table["hidden"] == 10)]]
    at = select(at, rows)
    assert not at.exception
    (fig,) = [
        s
        for s in specs(at).values()
        if any("mean of 3 seeds" in (t.get("name") or "") for t in s["data"])
    ]
    names = [t["name"] for t in fig["data"]]
    assert sum("· seed" in n for n in names) == 6  # three thin lines per panel
    assert sum("±1 sd" in n for n in names) == 2
    store = seeds
    results = [
        store.load(r.run_id)
        for r in store.records()
        if r.config.alpha == 0.5 and r.config.hidden == 10
    ]
    # each seed's history, then its dev accuracy after the last update (the table's)
    devs = [[*r.history.dev_accuracy, r.dev_accuracy] for r in results]
    (mean,) = [
        t for t in fig["data"] if t["name"].endswith("(mean of 3 seeds)") and t["xaxis"] == "x2"
    ]
    np.testing.assert_allclose(mean["y"], np.mean(devs, axis=0))


def test_settings_that_differ_between_runs_get_a_column(tmp_path):
    """An Adam run and a plain gradient-descent run with the same hidden, alpha and seed are two
    runs: the table says which is which (the optimizer column), and a setting every run shares
    (the activation) does not widen it."""
    train, dev, base = app_sample()
    store = RunStore()
    for optimizer in ("gd", "adam"):
        store.train(replace(base, optimizer=optimizer), 20, train, dev, data_key="sample")
    at = runs_page()
    frame = at.dataframe[0]
    shown = list(frame.proto.column_order)
    assert "optimizer" in shown and "activation" not in shown
    assert shown.index("optimizer") == shown.index("seed") + 1  # with the settings, in view
    assert sorted(frame.value["optimizer"]) == ["adam", "gd"]


def test_dev_accuracy_is_the_first_column_and_stays_in_view(runs):
    """On a phone (390 px) the ledger is wider than the screen: each run's dev accuracy comes
    first and is pinned, so scrolling through the settings never hides it."""
    frame = runs_page().dataframe[0]
    shown = list(frame.proto.column_order)
    assert shown[0] == "dev_accuracy"
    assert shown.index("dev_accuracy") < shown.index("hidden") < shown.index("train_accuracy")
    config = json.loads(frame.proto.columns)
    assert config["dev_accuracy"]["pinned"] is True
    assert not any(c.get("pinned") for name, c in config.items() if name != "dev_accuracy")

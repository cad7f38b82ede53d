"""Home, Data, Train, Evaluate, Mistakes and Weights through the router (AppTest), on the embedded
sample with few iterations: the right content, and interactions (new settings -> new run, cached run
-> no training, permalinks, bad settings, failed loads)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import data
from engine.store import RunStore
from tests.helpers import app_sample, decode
from ui.navigation import PAGES
from views import metrics

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
ITER = "60"


def charts(at) -> list[dict]:
    return [decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def gallery(at) -> list[tuple[int, str]]:
    """The Mistakes gallery's tiles in order: (dev image index, caption) from their buttons."""
    prefix = "gallery_pick_"
    return [(int(b.key[len(prefix) :]), b.label) for b in at.button if b.key.startswith(prefix)]


def texts(at) -> str:
    parts = [
        e.value
        for kind in ("markdown", "success", "info", "warning", "error", "caption")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def app(page: str | None = None, *, tab: str | None = None, **query) -> AppTest:
    """A fresh session (a new browser) opened on ``page`` with ``query`` in the URL (and
    Evaluate's ``tab`` open: its tabs are drawn only when open)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if tab is not None:
        at.session_state["evaluate_tab"] = tab
    for k, v in query.items():
        at.query_params[k] = str(v)
    if page is not None:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def reference(iterations: int, **settings):
    """The run the app should show, computed directly (sample data, the app's split)."""
    train, dev, base = app_sample()
    result = RunStore().train(replace(base, **settings), iterations, train, dev)
    return result, metrics.evaluate(result.params, dev)


# ---- Home ---------------------------------------------------------------------------------------
def test_home_says_what_this_is_and_links_every_page():
    at = app()
    assert "watch a neural network learn" in at.title[0].value
    assert "MNIST sample" in texts(at) and "1,000 held out" in texts(at)
    links = at.get("page_link")
    # one link per page, plus "Start with the lessons" above them for a new visitor
    assert len(links) == len(PAGES) - 1 + 1
    assert "Start with the lessons" in links[0].proto.label and links[0].proto.page == "lessons"
    assert at.button(key="home_train").label.startswith("Train with the notebook's settings")


def test_home_one_click_trains_the_notebook_settings(calls):
    at = app(hidden=32, alpha=0.5, iterations=20)
    at.button(key="home_train").click().run()
    assert not at.exception
    assert calls["gradient_descent"] == 1
    assert at.query_params["hidden"] == "10" and at.query_params["iterations"] == "500"
    result, ev = reference(500)
    assert metric(at, "Dev accuracy") == f"{result.dev_accuracy:.1%}"
    assert metric(at, "Train accuracy") == f"{result.train_accuracy:.1%}"


# ---- Train --------------------------------------------------------------------------------------
def test_permalink_to_train_trains_its_run_then_serves_it(calls):
    at = app("pages/2_train.py", iterations=ITER, hidden=12)
    assert calls["gradient_descent"] == 1
    assert f"Trained {ITER} iterations" in texts(at)
    result, _ = reference(int(ITER), hidden=12)
    assert metric(at, "Dev accuracy") == f"{result.dev_accuracy:.1%}"
    curves = charts(at)[-1]
    assert curves["layout"]["xaxis2"]["title"]["text"] == "iteration"
    # the history's rows, then the numbers after the last update (those the metrics write)
    np.testing.assert_allclose(
        curves["data"][0]["y"], [*result.history.loss, result.loss], rtol=1e-6
    )
    assert curves["data"][2]["x"][-1] == int(ITER)
    assert curves["data"][2]["y"][-1] == pytest.approx(result.dev_accuracy)
    assert "hidden=12" in at.code[0].value and "iterations=60" in at.code[0].value
    # Train again: served from the cache, nnmath is not called
    at.button(key="train").click().run()
    assert calls["gradient_descent"] == 1 and calls["continue_training"] == 0
    assert "served from the run cache" in texts(at)


def test_changing_a_setting_trains_a_new_run_and_updates_the_url(calls):
    at = app("pages/2_train.py", iterations=ITER)
    assert calls["gradient_descent"] == 1
    at.number_input(key="w_hidden").set_value(14).run()
    assert at.query_params["hidden"] == "14"
    assert "Not trained yet" in texts(at)  # no surprise training on a widget change
    empty = charts(at)[-1]  # the axes the curves will grow in, up to the chosen iterations
    assert [len(trace["x"]) for trace in empty["data"]] == [0, 0]
    assert empty["layout"]["xaxis2"]["range"][1] >= int(ITER)
    assert "hidden=14" in at.code[0].value  # the link to the new settings, before training
    at.button(key="train").click().run()
    assert calls["gradient_descent"] == 2
    assert f"Trained {ITER} iterations" in texts(at)
    assert "stop" not in {b.key for b in at.button}  # Stop is gone once training is over
    # more iterations continue the cached run instead of starting again
    at.number_input(key="w_iterations").set_value(90).run()
    at.button(key="train").click().run()
    assert calls == {"gradient_descent": 2, "continue_training": 1}
    # fewer iterations at a snapshot come straight from the cache
    at.number_input(key="w_iterations").set_value(50).run()
    at.button(key="train").click().run()
    assert calls == {"gradient_descent": 2, "continue_training": 1}
    assert "served from the run cache" in texts(at)


def test_advanced_settings_reach_the_url_only_when_not_default():
    at = app("pages/2_train.py", iterations=ITER)
    assert "init" not in at.query_params
    at.selectbox(key="w_init").set_value("he").run()
    assert at.query_params["init"] == "he"


@pytest.mark.parametrize(
    "query, message",
    [
        ({"alpha": "0"}, "alpha='0' is not used: alpha must be in (0, 1000000]"),
        ({"hidden": "0"}, "hidden must be an integer between 1 and 256"),
        ({"iterations": "-3"}, "iterations must be an integer between 1 and 5000"),
    ],
)
def test_bad_settings_say_what_is_wrong_and_train_nothing(calls, query, message):
    at = app("pages/2_train.py", **query)
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert calls["gradient_descent"] == 0  # a link with a value we cannot use trains nothing
    assert RunStore().records() == []
    assert at.query_params["hidden"] == "10" and at.query_params["alpha"] == "0.1"


def test_a_diverging_run_gets_a_banner_with_what_to_try():
    at = app("pages/2_train.py", alpha=1000, iterations=ITER)
    banner = " ".join(e.value for e in at.error)
    assert "Diverged at iteration" in banner and "smaller learning rate" in banner


def test_a_stopped_run_is_offered_to_continue():
    train, dev, config = app_sample()
    RunStore().train(config, 100, train, dev, callback=lambda p: p.iteration >= 40)
    at = app("pages/2_train.py")
    assert "stopped at iteration 40 of 500" in texts(at)
    assert "continue from there" in texts(at)


# ---- Evaluate -----------------------------------------------------------------------------------
def test_evaluate_shows_the_confusion_matrix_scores_and_confidence():
    at = app("pages/3_evaluate.py", iterations=ITER)
    assert [t.label for t in at.tabs] == ["Results", "Confidence", "Take it with you"]
    result, ev = reference(int(ITER))
    cm = metrics.confusion_matrix(ev.y, ev.pred)
    specs = charts(at)
    heat = specs[0]["data"][0]
    np.testing.assert_array_equal(np.array(heat["z"]), cm)
    assert specs[0]["layout"]["yaxis"]["title"]["text"] == "true digit"
    table = at.dataframe[0].value
    np.testing.assert_allclose(table["recall"], metrics.per_class(cm)["recall"])
    assert f"{ev.accuracy:.1%}" in texts(at)
    pair = metrics.confused_pairs(cm).astype({"true": int, "predicted": int}).iloc[0]
    first_link = at.get("page_link")[0].proto
    assert f"true **{int(pair['true'])}** read as **{int(pair['predicted'])}**" in first_link.label
    wrong = int((~ev.correct).sum())
    assert f"See the {wrong:,} mistakes" in at.get("page_link")[-1].proto.label
    # the confidence tab is not drawn until it is opened
    assert not at.get("download_button") and len(specs) == 2
    at.session_state["evaluate_tab"] = "Confidence"
    specs = charts(at.run())
    right, wrong = metrics.confidence_split(ev)
    assert f"on average **{ev.confidence.mean():.1%} sure**" in texts(at)
    hist = next(c["data"] for c in specs if c["data"][0].get("name", "").startswith("right ("))
    assert sum(hist[0]["customdata"]) == len(right) and sum(hist[1]["customdata"]) == len(wrong)


def test_normalised_confusion_matrix():
    at = app("pages/3_evaluate.py", iterations=ITER)
    at.toggle(key="cm_norm").set_value(True).run()
    z = np.array(charts(at)[0]["data"][0]["z"])
    np.testing.assert_allclose(z.sum(axis=1), 1.0)


def test_clicked_cell_is_read_from_the_chart_event():
    from ui.events import selected_cell

    event = {"selection": {"points": [{"x": 9, "y": 4, "customdata": [4, 9]}]}}
    assert selected_cell(event) == (4, 9)
    assert selected_cell({"selection": {"points": [{"x": 2, "y": 7}]}}) == (7, 2)
    assert selected_cell({"selection": {"points": []}}) is None


# ---- Mistakes -----------------------------------------------------------------------------------
def test_mistakes_filtered_by_the_url_show_exactly_that_pair():
    result, ev = reference(int(ITER))
    table = metrics.mistakes(ev)
    t, p = int(table["true"].iloc[0]), int(table["pred"].iloc[0])
    expected = metrics.mistakes(ev, true=t, pred=p)
    at = app("pages/4_mistakes.py", iterations=ITER, true=t, pred=p)
    assert f"**{len(expected):,} mistakes** — true {t} predicted as {p}" in texts(at)
    tiles = gallery(at)
    assert [i for i, _ in tiles] == expected["index"].tolist()[:30]
    assert all(caption.startswith(f"{t}→{p}") for _, caption in tiles)
    # the picked image: most confident mistake first, with its 10 probabilities
    probs = charts(at)[-1]["data"][0]["y"]
    np.testing.assert_allclose(probs, ev.probs[expected["index"].iloc[0]], rtol=1e-6)
    assert at.query_params["true"] == str(t) and at.query_params["pred"] == str(p)
    if len(tiles) >= 2:  # a click on a tile shows that image large
        second = tiles[1][0]
        at.button(key=f"gallery_pick_{second}").click().run()
        assert at.selectbox(key="picked").value == second
        probs = charts(at)[-1]["data"][0]["y"]
        np.testing.assert_allclose(probs, ev.probs[second], rtol=1e-6)


def test_mistakes_filters_and_order_change_the_gallery():
    result, ev = reference(int(ITER))
    at = app("pages/4_mistakes.py", iterations=ITER)
    everything = metrics.mistakes(ev)
    assert f"**{len(everything):,} mistakes**" in texts(at)
    at.selectbox(key="filter_true").set_value(3).run()
    only3 = metrics.mistakes(ev, true=3)
    assert f"**{len(only3):,} mistakes** — true 3" in texts(at)
    assert at.query_params["true"] == "3" and "pred" not in at.query_params
    at.radio(key="sort").set_value("loss").run()
    assert [i for i, _ in gallery(at)] == metrics.mistakes(ev, true=3, sort="loss")[
        "index"
    ].tolist()[:30]
    # paging: 30 per page
    at.selectbox(key="filter_true").set_value(None).run()
    if len(everything) > 30:
        at.number_input(key="mistakes_page").set_value(2).run()
        by_loss = metrics.mistakes(ev, sort="loss")
        assert [i for i, _ in gallery(at)] == by_loss["index"].tolist()[30:60]
        # a narrower filter with fewer pages does not leave the page number out of range
        at.selectbox(key="filter_true").set_value(int(everything["true"].iloc[-1])).run()
        assert not at.exception


# ---- Weights ------------------------------------------------------------------------------------
def test_weights_show_units_w2_histograms_and_replay():
    result, _ = reference(int(ITER))
    at = app("pages/5_weights.py", iterations=ITER)
    w1, w2, hist = charts(at)
    assert len(w1["layout"]["annotations"]) == 10  # one tile per hidden unit
    assert w1["data"][0]["zmid"] == 0 and w1["data"][0]["zmin"] == -w1["data"][0]["zmax"]
    np.testing.assert_allclose(np.array(w2["data"][0]["z"]), result.params.W2, rtol=1e-6)
    assert "iteration 60" in hist["data"][1]["name"]
    at.select_slider(key="replay").set_value(0).run()
    w1, w2, hist = charts(at)
    np.testing.assert_allclose(np.array(w2["data"][0]["z"]), result.snapshot(0).W2, rtol=1e-6)
    at.radio(key="w1_show").set_value("weights").run()
    tile = np.array(charts(at)[0]["data"][0]["z"], dtype=float)[:28, :28]
    np.testing.assert_allclose(tile, result.snapshot(0).W1[:, 0].reshape(28, 28), atol=1e-4)


def test_weights_w2_as_tall_as_the_tiles_beside_it_with_64_units():
    """64 hidden units: W2 as tall as the tiles beside it, so the two columns end together (the
    tiles, five a row, ran on ~500 px below W2's 700 px)."""
    at = app("pages/5_weights.py", iterations=ITER, hidden=64)
    w1, w2, _ = charts(at)
    assert len(w1["layout"]["annotations"]) == 64
    assert len(np.array(w2["data"][0]["z"])) == 64
    assert w2["layout"]["height"] == w1["layout"]["height"] > 700


# ---- Data ---------------------------------------------------------------------------------------
def test_data_page_explores_the_sample():
    at = app("pages/1_data.py")
    assert at.subheader[0].value.startswith("MNIST sample")
    assert metric(at, "Train") == "4,000" and metric(at, "Dev") == "1,000"
    specs = charts(at)
    samples, counts = specs[0], specs[1]
    assert [a["text"] for a in samples["layout"]["annotations"]] == [
        str(d) for d in range(10) for _ in range(4)
    ]
    assert counts["data"][0]["y"] == [500] * 10
    assert "Upload a file (up to 100 MB)" in at.radio(key="data_source").options


def test_a_failed_load_says_why_and_keeps_the_previous_dataset(tmp_path, monkeypatch):
    bad = tmp_path / "broken.csv"
    bad.write_text("label,pixel0\n1,2\n")
    monkeypatch.setattr(data, "list_local_files", lambda root=None: [bad])
    at = app("pages/1_data.py")
    at.radio(key="data_source").set_value("file").run()
    at.selectbox(key="data_file").set_value("broken.csv")
    at.button[0].click().run()
    assert not at.exception
    assert any("previous one (sample) stays selected" in e.value for e in at.error)
    assert at.query_params["data"] == "sample"
    assert at.subheader[0].value.startswith("MNIST sample")


@pytest.mark.parametrize(
    "page", [None, "pages/3_evaluate.py", "pages/6_runs.py", "pages/7_sweep.py"]
)
def test_an_unknown_dataset_in_a_link_is_a_clear_error(page):
    at = app(page, data="upload-0123456789abcdef")
    assert any("upload the file again" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart")


# ---- Permalinks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "page", ["pages/3_evaluate.py", "pages/4_mistakes.py", "pages/5_weights.py"]
)
def test_a_permalink_in_a_fresh_session_shows_the_same_run_from_the_cache(calls, page):
    first = app("pages/2_train.py", iterations=ITER, seed=3)
    assert calls["gradient_descent"] == 1
    link = dict(first.query_params)
    second = app(page, **link)  # a new session: no shared session state
    assert calls["gradient_descent"] == 1  # served from the shared cache
    assert dict(second.query_params)["seed"] == "3"


def test_a_permalink_whose_run_is_not_cached_trains_it(calls):
    at = app("pages/3_evaluate.py", iterations=ITER, hidden=7)
    assert calls["gradient_descent"] == 1
    result, ev = reference(int(ITER), hidden=7)
    assert f"{ev.accuracy:.1%}" in texts(at)

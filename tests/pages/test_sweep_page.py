"""Sweep screen through the router (AppTest): grid, launch, heatmap, diverged cell, cache hits."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.store import RunStore
from tests.helpers import decode

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def spec(at, i=0):
    return decode(json.loads(at.get("plotly_chart")[i].proto.spec))


def sweep_page():
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/7_sweep.py").run()
    assert not at.exception
    return at


def texts(at):
    return (
        [m.value for m in at.markdown]
        + [m.value for m in at.info]
        + [m.value for m in at.success]
        + [m.value for m in at.warning]
        + [m.value for m in at.error]
    )


def test_sweep_page_shows_the_default_grid_before_launch():
    at = sweep_page()
    assert at.title[0].value == "Sweep"
    # the mode in use is the one drawn selected (it was drawn with neither selected)
    mode = at.button_group(key="sweep_mode")
    assert mode.value == "grid"
    # a small grid prefilled: one click on a shared class server starts 4 runs, not dozens
    assert any("**4 runs** (2 × 2 × 1): 0 already cached, **4 to train**" in t for t in texts(at))
    assert any("No results for this grid yet" in t for t in texts(at))
    assert not at.get("plotly_chart")


def test_bad_grid_values_say_what_is_wrong():
    at = sweep_page()
    at.text_input(key="sweep_hidden").set_value("10, ten").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["hidden values must be whole numbers, got 'ten'"]


def test_a_2x2_sweep_with_a_diverging_alpha_draws_the_heatmap_and_is_cached_after():
    at = sweep_page()
    at.text_input(key="sweep_hidden").set_value("10, 32").run()
    at.text_input(key="sweep_alpha").set_value("0.5, 50").run()  # 50 diverges at once
    at.text_input(key="sweep_seeds").set_value("0").run()
    at.number_input(key="sweep_iterations").set_value(50).run()
    at.button(key="sweep_launch").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Sweep finished: 2 trained, 2 diverged."]
    # Diverged runs are answers too: nothing is retrained.
    assert any("4 already cached, **0 to train**" in t for t in texts(at))
    assert at.button(key="sweep_launch").disabled  # nothing left to train
    heat = spec(at)
    main = heat["data"][0]
    diverged = heat["data"][1]
    assert heat["layout"]["xaxis"]["title"]["text"] == "learning rate alpha"
    assert heat["layout"]["yaxis"]["title"]["text"] == "hidden units"
    assert [row[1] for row in diverged["text"]] == ["diverged", "diverged"]
    assert sum(cell.startswith("★ ") and "%" in cell for row in main["text"] for cell in row) == 1
    links = [p for p in at.get("page_link") if "best run" in p.proto.label]
    assert links and "alpha 0.5" in links[0].proto.label


def test_the_iteration_axis_is_free_a_longer_sweep_answers_a_shorter_one():
    at = sweep_page()
    at.text_input(key="sweep_hidden").set_value("10").run()
    at.text_input(key="sweep_alpha").set_value("0.1, 0.2").run()
    at.text_input(key="sweep_seeds").set_value("0-1").run()
    at.number_input(key="sweep_iterations").set_value(100).run()
    at.button(key="sweep_launch").click().run()
    assert [s.value for s in at.success] == ["Sweep finished: 4 trained."]
    at.number_input(key="sweep_iterations").set_value(50).run()
    assert any("4 already cached, **0 to train**" in t for t in texts(at))
    text = spec(at)["data"][0]["text"]
    assert all(" ± " in cell for row in text for cell in row)  # mean ± spread over two seeds


def test_pointing_at_a_dask_scheduler_runs_the_same_sweep_there(monkeypatch):
    """NNMATH_DASK_SCHEDULER set: the page sends the runs to that cluster (a loopback
    LocalCluster here) and the results land in this server's run store."""
    import distributed
    import streamlit as st

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        monkeypatch.setenv("NNMATH_DASK_SCHEDULER", cluster.scheduler_address)
        at = sweep_page()
        at.text_input(key="sweep_hidden").set_value("10").run()
        at.text_input(key="sweep_alpha").set_value("0.1, 0.5").run()
        at.text_input(key="sweep_seeds").set_value("0").run()
        at.number_input(key="sweep_iterations").set_value(50).run()
        assert any("Dask cluster this server's host configured" in c.value for c in at.caption)
        assert not [w for w in at.text_input if "scheduler" in w.label.lower()]
        at.button(key="sweep_launch").click().run()
        assert not at.exception
        assert [s.value for s in at.success] == ["Sweep finished: 2 trained."]
        assert cluster.scheduler.transition_counter > 0  # the cluster did the work
        st.cache_resource.clear()  # closes the cached client


def test_the_metric_picker_shows_ece_or_nll_and_stays_in_the_url():
    from dataclasses import replace

    import numpy as np
    import pytest

    import nnmath
    from engine.store import RunStore
    from tests.helpers import app_sample

    at = sweep_page()
    at.text_input(key="sweep_hidden").set_value("10, 16").run()
    at.text_input(key="sweep_alpha").set_value("0.5").run()
    at.text_input(key="sweep_seeds").set_value("0").run()
    at.number_input(key="sweep_iterations").set_value(50).run()
    at.button(key="sweep_launch").click().run()
    assert at.query_params["metric"] == "dev_accuracy"
    at.selectbox(key="choice_metric").set_value("dev_ece").run()
    assert not at.exception and at.query_params["metric"] == "dev_ece"
    heat = spec(at)
    assert heat["layout"]["title"]["text"].startswith("Dev ECE, mean ± spread over seeds")
    assert heat["data"][0]["colorscale"][0][1] != spec_colour_of_accuracy()  # reversed scale
    train, dev, base = app_sample()
    store = RunStore()
    for row, hidden in enumerate((10, 16)):
        result = store.get(replace(base, hidden=hidden, alpha=0.5), 50)
        probs = nnmath.predict_proba(result.params, dev.X)
        expected = nnmath.reliability(probs, dev.labels).ece
        assert heat["data"][0]["z"][row][0] == pytest.approx(expected)
    at.selectbox(key="choice_metric").set_value("dev_nll").run()
    z = np.array(spec(at)["data"][0]["z"], dtype=float)
    losses = [store.get(replace(base, hidden=h, alpha=0.5), 50).dev_loss for h in (10, 16)]
    np.testing.assert_allclose(z[:, 0], losses)
    # the best cell is the lowest NLL
    assert spec(at)["data"][0]["text"][int(np.argmin(losses))][0].startswith("★ ")

    # a link with metric= opens the page on that metric
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.query_params["metric"] = "loss"
    fresh.switch_page("pages/7_sweep.py").run()
    fresh.text_input(key="sweep_hidden").set_value("10, 16").run()
    fresh.text_input(key="sweep_alpha").set_value("0.5").run()
    fresh.text_input(key="sweep_seeds").set_value("0").run()
    fresh.number_input(key="sweep_iterations").set_value(50).run()
    assert fresh.selectbox(key="choice_metric").value == "loss"
    assert fresh.query_params["metric"] == "loss"
    assert spec(fresh)["layout"]["title"]["text"].startswith("Training loss")


def spec_colour_of_accuracy():
    """The first colour of the Viridis scale the accuracy heatmap uses (dark purple)."""
    import plotly.express as px

    return px.colors.sequential.Viridis[0]


def test_repeat_with_seeds_from_a_link_fills_the_grid():
    """Train's and Compare's "repeat with 5 seeds" links: the run's settings, seeds 0-4."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/7_sweep.py")
    for k, v in dict(hidden="16", alpha="0.2", iterations="150", seeds="0-4").items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert at.text_input(key="sweep_hidden").value == "16"
    assert at.text_input(key="sweep_alpha").value == "0.2"
    assert at.text_input(key="sweep_seeds").value == "0-4"
    assert at.number_input(key="sweep_iterations").value == 150
    assert any("**5 runs** (1 × 1 × 5)" in t for t in texts(at))


def test_seeds_of_one_setting_answer_is_it_luck_instead_of_a_one_cell_grid():
    """ "Is this result luck?" launched from Train: one setting, three seeds. A one-cell heatmap
    with a best ★ and "seed explains 100%" said nothing; the page says how far the seeds
    spread, with numbers a reader can check in the table of runs."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/7_sweep.py")
    for k, v in dict(hidden="10", alpha="0.5", iterations="50", seeds="0-2").items():
        at.query_params[k] = v
    at.run()
    at.button(key="sweep_launch").click().run()
    assert not at.exception
    assert [h.value for h in at.subheader if h.value.startswith("Is this")] == [
        "Is this result luck?"
    ]
    assert not at.get("plotly_chart")  # no one-cell heatmap
    accuracies = [r.dev_accuracy for r in RunStore().records()]
    assert len(accuracies) == 3
    low, high = min(accuracies), max(accuracies)
    page = "\n".join(texts(at))
    assert f"from {low:.1%} to {high:.1%}" in page
    assert f"{(high - low) * 100:.1f} points" in page


def test_a_random_search_from_its_link_trains_and_says_which_setting_mattered():
    import numpy as np

    from engine.search import parse_search
    from views import significance

    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/7_sweep.py")
    link = dict(
        search="random",
        n="4",
        alpha_range="0.02-2",
        hidden_range="6-12",
        search_seed="3",
        seeds="0-1",
        iterations="50",
    )
    for k, v in link.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert at.session_state["sweep_mode"] == "random"
    assert at.number_input(key="sweep_iterations").value == 50
    assert any("**8 runs** (4 settings × 2 seeds)" in t for t in texts(at))
    at.button(key="sweep_launch").click().run()
    assert not at.exception
    draws = parse_search("4", "0.02-2", "6-12", "3").draws()
    chart = spec(at)
    points = [(x, y) for t in chart["data"] for x, y in zip(t["x"], t["y"])]
    assert sorted(points) == sorted((d["alpha"], d["hidden"]) for d in draws)
    # the importance reading is the main-effects analysis of the same finished runs
    table = at.dataframe[-1].value
    ok = table[table["status"] == "finished"]
    reading = significance.main_effects(ok.to_dict("records")).reading
    assert reading in texts(at)
    # each point's hover text: mean ± sd over its two seeds, as numpy computes them from the store
    from engine.store import RunStore

    records = RunStore().records()
    trained = [t for t in chart["data"] if t["name"] == "trained"]
    for t in trained:
        for x, y, text in zip(t["x"], t["y"], t["text"]):
            accs = np.array(
                [r.dev_accuracy for r in records if (r.config.alpha, r.config.hidden) == (x, y)]
            )
            assert accs.size == 2
            assert f"{accs.mean() * 100:.1f}% ± {np.std(accs, ddof=1) * 100:.1f} (2 seeds)" in text

"""Sweep screen through the router (AppTest): grid, launch, heatmap, diverged cell, cache hits."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

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
    assert any("**48 runs** (4 × 4 × 3): 0 already cached, **48 to train**" in t for t in texts(at))
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
    assert sum(cell.startswith("★ 0.") for row in main["text"] for cell in row) == 1
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
        assert any(cluster.scheduler_address in c.value for c in at.caption)
        at.button(key="sweep_launch").click().run()
        assert not at.exception
        assert [s.value for s in at.success] == ["Sweep finished: 2 trained."]
        assert cluster.scheduler.transition_counter > 0  # the cluster did the work
        st.cache_resource.clear()  # closes the cached client

"""Math, Learning dynamics and Lab through the router (AppTest) on the embedded sample: their
numbers equal nnmath's and the views' own, and their parameters live in the URL."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import nnmath
from data import corrupt
from engine.store import RunStore
from nnmath.trace import equation_line
from tests.helpers import app_sample, decode
from views import dynamics as dv
from views import lab

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
ITER = 100


def charts(at) -> list[dict]:
    return [decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def texts(at) -> str:
    kinds = ("markdown", "success", "info", "warning", "error", "caption")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def app(page: str, state: dict | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["iterations"] = str(ITER)
    for k, v in query.items():
        at.query_params[k] = str(v)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    train, dev, base = app_sample()
    # its own store: a module fixture runs before the per-test NNMATH_RUNS_DIR is set, and the
    # repository's .runs may hold a run of the same config from another module (snapshots differ)
    store = RunStore(tmp_path_factory.mktemp("reference"))
    result = store.train(replace(base), ITER, train, dev)
    return result, train, dev


# ---- Math ---------------------------------------------------------------------------------------
def test_math_page_shows_nnmaths_numbers_for_the_image_and_iteration_of_the_url(reference):
    result, train, dev = reference
    at = app("pages/11_math.py", image=7, at=50)
    t = nnmath.trace_step(result.snapshot(50), dev.images[7], dev.labels[7], 0.1)
    page = texts(at)
    assert f"dev image 7 (true digit {dev.labels[7]})" in page
    assert f"loss for this image: **{t.loss:.4f}**" in page
    assert f"goes from {t.loss:.4f} to {t.loss_after:.4f}" in at.success[0].value
    info = at.info[-1].value
    assert f"from {result.history.loss[50]:.4f} to {result.history.loss[51]:.4f}" in info
    # the charts, in the notebook's order: X, Z1, A1, Z2, A2, dZ2, dW2, db2, dZ1, dW1, db1
    figs = charts(at)
    assert len(figs) == 11
    np.testing.assert_array_equal(np.array(figs[0]["data"][0]["z"]), dev.images[7])
    for pos, name in [(1, "Z1"), (2, "A1"), (3, "Z2"), (4, "A2"), (5, "dZ2"), (8, "dZ1")]:
        np.testing.assert_allclose(figs[pos]["data"][0]["y"], getattr(t, name)[0], rtol=1e-6)
    np.testing.assert_allclose(np.array(figs[6]["data"][0]["z"]), t.dW2, rtol=1e-6)
    np.testing.assert_allclose(figs[10]["data"][0]["y"], t.db1, rtol=1e-6)
    # each equation with the line of network.py that computes it, and LaTeX
    code = "\n".join(c.value for c in at.code)
    for name in ("Z1", "A1", "Z2", "A2", "L", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"):
        assert equation_line(name).text in code, name
    assert "W1=params.W1 - alpha * grads.dW1," in code
    # the textbook line first, as the equation reads, then nnmath's own; long lines wrap
    assert "Z1 = X @ W1 + b1" in code and "dZ1 = (dZ2 @ W2.T) * (Z1 > 0)" in code
    assert all(c.proto.wrap_lines for c in at.code)
    assert len(at.latex) >= 13
    assert at.query_params["image"] == "7" and at.query_params["at"] == "50"


def test_math_page_marks_dead_units_and_follows_the_widgets(reference):
    result, train, dev = reference
    at = app("pages/11_math.py")
    assert at.query_params["at"] == str(ITER) and at.query_params["image"] == "0"
    # at the run's last iteration, the full-batch step is one more update (continue_training)
    more = nnmath.continue_training(result, train.X, train.labels, iterations=1)
    assert f"from {result.loss:.4f} to {more.loss:.4f}" in at.info[-1].value
    at.number_input(key="math_image").set_value(12).run()
    at.select_slider(key="math_at").set_value(0).run()
    assert at.query_params["image"] == "12" and at.query_params["at"] == "0"
    t = nnmath.trace_step(result.snapshot(0), dev.images[12], dev.labels[12], 0.1)
    assert f"loss for this image: **{t.loss:.4f}**" in texts(at)
    dyn = dv.dynamics(result, train.X, dev.X, dev.labels)
    dead = np.flatnonzero(dyn.dead[0])
    z1 = charts(at)[1]["data"][0]["x"]
    assert [u for u, label in enumerate(z1) if label.endswith("†")] == dead.tolist()


def test_math_page_follows_a_drawing_toward_the_networks_answer_until_told_otherwise(reference):
    result, _, _ = reference
    drawn = np.zeros((28, 28), np.uint8)
    drawn[4:24, 13:16] = 255  # a "1"
    guess = int(
        nnmath.make_predictions(nnmath.scale_pixels(drawn.reshape(1, 784)), result.params)[0]
    )
    at = app("pages/11_math.py", state={"drawn_digit": drawn})
    assert at.radio(key="math_source").options == ["a dev image", "your drawing"]
    at.radio(key="math_source").set_value("drawn").run()
    # not the digit 0 by default: the network's own answer, said so
    assert at.selectbox(key="math_label").value == guess
    assert f"The network reads it as **{guess}**" in texts(at)
    assert f"your drawing (true digit {guess}, the network's own answer)" in texts(at)
    t = nnmath.trace_step(result.params, drawn, guess, 0.1)
    assert f"loss for this image: **{t.loss:.4f}**" in texts(at)
    other = (guess + 1) % 10
    at.selectbox(key="math_label").set_value(other).run()
    t = nnmath.trace_step(result.params, drawn, other, 0.1)
    assert f"your drawing (true digit {other}, as you say)" in texts(at)
    assert f"loss for this image: **{t.loss:.4f}**" in texts(at)
    assert at.query_params["source"] == "drawn" and "image" not in at.query_params


def test_math_page_without_a_drawing_names_its_image_and_links_to_draw():
    """No drawing: no one-option "Image" radio (a dead control), but what the step follows and
    a link to the Draw page; with a drawing the choice is back."""
    at = app("pages/11_math.py")
    assert not at.radio, [r.label for r in at.radio]
    assert "Without a drawing, the step follows **a dev image**." in texts(at)
    draw = [e.proto for e in at.get("page_link") if e.proto.page.endswith("draw")]
    assert len(draw) == 1 and "Draw your own digit" in draw[0].label, draw
    at = app("pages/11_math.py", state={"drawn_digit": np.full((28, 28), 255, np.uint8)})
    assert [r.label for r in at.radio] == ["Image"]
    assert not [e for e in at.get("page_link") if e.proto.page.endswith("draw")]


def test_math_page_says_what_is_wrong_with_a_bad_link():
    at = app("pages/11_math.py", image=5000, at=70, source="drawn")
    warnings = " ".join(w.value for w in at.warning)
    assert "source='drawn': no drawing in this session" in warnings
    assert "image must be a dev index between 0 and 999, got 5000" in warnings
    assert "at must be a snapshot iteration [0, 50, 100], got '70'" in warnings


# ---- Learning dynamics --------------------------------------------------------------------------
def test_dynamics_page_shows_each_digits_learning_and_the_snapshot_of_the_url(reference):
    result, train, dev = reference
    dyn = dv.dynamics(result, train.X, dev.X, dev.labels)
    at = app("pages/12_dynamics.py", at=50)
    page = texts(at)
    for sentence in dv.passing_sentences(dyn, 0.8):
        assert sentence in page
    assert not dyn.dead_count.any()  # the notebook's rate: no unit dies, a flat line says nothing
    assert dv.no_dead_text(dyn) in page
    assert dv.dead_caption(result.config, dyn, 50) in page  # plain gd: "never change again"
    per_digit, cm, pca = charts(at)
    for d in range(10):
        np.testing.assert_allclose(per_digit["data"][d]["y"], dyn.per_digit[:, d])
    np.testing.assert_array_equal(np.array(cm["data"][0]["z"]), dyn.confusion(50))
    assert sum(len(tr["x"]) for tr in pca["data"]) == dev.n
    assert f"dev accuracy {dyn.accuracy[1]:.1%}" in page
    at.select_slider(key="dyn_at").set_value(100).run()
    assert at.query_params["at"] == "100"
    np.testing.assert_array_equal(np.array(charts(at)[1]["data"][0]["z"]), dyn.confusion(100))
    at.select_slider(key="dyn_threshold").set_value(0.5).run()
    assert dv.passing_sentences(dyn, 0.5)[0] in texts(at)


def test_dynamics_page_charts_the_units_that_die():
    """alpha 2 kills some hidden units on the way: then the chart counts them per snapshot."""
    train, dev, base = app_sample()
    at = app("pages/12_dynamics.py", alpha=2)
    result = RunStore().load(RunStore().records()[0].run_id)
    dyn = dv.dynamics(result, train.X, dev.X, dev.labels)
    assert dyn.dead_count.any()
    per_digit, cm, dead, pca = charts(at)
    np.testing.assert_array_equal(dead["data"][0]["y"], dyn.dead_count)
    assert dv.no_dead_text(dyn) is None


# ---- Lab ----------------------------------------------------------------------------------------
def test_lab_switches_the_units_of_the_url_off(reference):
    result, _, dev = reference
    at = app("pages/13_lab.py", off="1,4", scale="3:0.5")
    assert at.multiselect(key="lab_off").value == [1, 4]
    assert at.selectbox(key="lab_scale_unit").value == 3
    ab = lab.ablation(result.params, dev.X, dev.labels, lab.unit_scale(10, (1, 4), {3: 0.5}))
    assert lab.describe(ab) in texts(at)
    change = charts(at)[0]
    np.testing.assert_array_equal(np.array(change["data"][0]["z"]), ab.improvement)
    at.multiselect(key="lab_off").set_value([]).run()
    at.selectbox(key="lab_scale_unit").set_value(-1).run()
    assert "off" not in at.query_params and "scale" not in at.query_params
    # the intact network: no grey matrix and no empty gallery, but what to do
    assert "Nothing switched off yet: pick one or more hidden units above" in texts(at)
    assert len(charts(at)) == 2  # the robustness curves and the examples only


def test_lab_robustness_curves_and_the_corruption_of_the_url(reference):
    result, _, dev = reference
    at = app("pages/13_lab.py", corrupt="rotate", level=30)
    table = lab.robustness(result.params, dev.images, dev.labels)
    robust = charts(at)[0]  # no unit off: no change charts above it
    curves = [tr for tr in robust["data"] if tr.get("mode") == "lines+markers"]
    for tr, kind in zip(curves, corrupt.CORRUPTIONS):
        np.testing.assert_allclose(tr["y"], table[table.corruption == kind]["accuracy"])
    row = table[(table.corruption == "rotate") & (table.level == 30)].iloc[0]
    assert row["right"] / row["images"] == row["accuracy"]  # the count the share is of
    assert (
        f"rotate at 30: dev accuracy **{row['accuracy']:.1%}** ({row['right']:,} of "
        f"{row['images']:,} right; clean images: "
    ) in texts(at)
    assert lab.levels_caption() in [c.value for c in at.caption]  # the units the axes leave out
    at.selectbox(key="lab_corrupt").set_value("noise").run()
    assert at.query_params["corrupt"] == "noise" and at.query_params["level"] == "0.5"


def test_lab_bad_link_values_are_named():
    at = app("pages/13_lab.py", off="12", corrupt="blur")
    warnings = " ".join(w.value for w in at.warning)
    assert "off: a hidden unit must be between 0 and 9, got 12" in warnings
    assert "corrupt must be one of noise, rotate, shift, thickness, got 'blur'" in warnings


def test_lab_trains_the_same_settings_with_the_augmentation_and_shows_both_curves(reference):
    result, train, dev = reference
    at = app("pages/13_lab.py", corrupt="rotate", level=30)
    at.button(key="lab_train_fix").click().run(timeout=600)  # augmented: slower iterations
    assert not at.exception, at.exception
    augmented = RunStore().train(
        replace(app_sample()[2], augment="rotate", augment_level=30.0), ITER, train, dev
    )
    assert augmented.config.augment == "rotate"
    theirs = lab.robustness(augmented.params, dev.images, dev.labels)
    robust = charts(at)[0]  # no unit off: no change charts above it
    dashed = [tr for tr in robust["data"] if tr.get("name") == "trained with rotate augmentation"]
    assert len(dashed) == len(corrupt.CORRUPTIONS)
    np.testing.assert_allclose(dashed[1]["y"], theirs[theirs.corruption == "rotate"]["accuracy"])
    ours = lab.robustness(result.params, dev.images, dev.labels)
    assert lab.augmentation_text(ours, theirs, "rotate", 30) in texts(at)
    # the next visit shows both without a click
    again = app("pages/13_lab.py", corrupt="rotate", level=30)
    assert "trained with rotate augmentation" in texts(again)

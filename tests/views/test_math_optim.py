"""The Math page's optimizer section: one weight's update with the run's own optimizer state."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import nnmath
from nnmath import TrainConfig
from tests.helpers import tiny_dataset
from views import math_step as mv


def run(**settings):
    ds = tiny_dataset(200)
    config = TrainConfig(hidden=6, snapshot_every=5, dtype="float64", **settings)
    return nnmath.gradient_descent(ds.X, ds.labels, config, iterations=12), ds


def values(u):
    return dict(u.rows)


@pytest.mark.parametrize("at", [0, 5, 12])
def test_adam_weight_update_shows_the_runs_state_and_its_bias_corrections(at):
    result, ds = run(optimizer="adam", alpha=0.01, weight_decay=0.01)
    t = nnmath.trace_step(result.snapshot(at), ds.X[3], ds.labels[3], result.config.alpha)
    u = mv.weight_update(result, at, t)
    v = values(u)
    i, j = u.index
    assert abs(t.dW2[i, j]) == np.abs(t.dW2).max()
    assert v[r"m_{\text{before}}"] == result.snapshot_state(at)["m/W2"][i, j]
    g = v[r"\partial L / \partial w"] + 0.01 * v["w"]
    assert v["g"] == pytest.approx(g)
    assert v["m"] == pytest.approx(0.9 * v[r"m_{\text{before}}"] + 0.1 * g)
    assert v["v"] == pytest.approx(0.999 * v[r"v_{\text{before}}"] + 0.001 * g * g)
    assert v[r"1 - \beta_1^{\,t+1}"] == pytest.approx(1 - 0.9 ** (at + 1))
    m_hat, v_hat = v[r"\hat m"], v[r"\hat v"]
    assert u.after == pytest.approx(u.before - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8))
    assert mv.optimizer_equations(result.config)[1] == mv.DECAY_EQUATION


def test_momentum_and_gd_updates():
    result, ds = run(optimizer="nesterov", alpha=0.1, schedule="step", step_every=4, gamma=0.5)
    t = nnmath.trace_step(result.snapshot(10), ds.X[0], ds.labels[0], 0.1)
    v = values(mv.weight_update(result, 10, t))
    assert v[r"\eta_t"] == 0.1 * 0.5**2
    assert v["v"] == pytest.approx(0.9 * v[r"v_{\text{before}}"] + v[r"\partial L / \partial w"])
    g = v[r"\partial L / \partial w"]
    assert v[r"w_{\text{after}}"] == pytest.approx(v["w"] - v[r"\eta_t"] * (g + 0.9 * v["v"]))
    plain, ds = run()
    t = nnmath.trace_step(plain.snapshot(5), ds.X[0], ds.labels[0], 0.1)
    u = mv.weight_update(plain, 5, t)
    # gd: the Math page's own one-image step, the same number
    assert u.after == t.updated.W2[u.index]
    assert mv.optimizer_equations(plain.config) == (
        mv.SCHEDULE_EQUATIONS["constant"], r"g = \partial L / \partial w",
        *mv.OPTIMIZER_EQUATIONS["gd"],
    )  # fmt: skip


def test_adam_rows_hold_every_constant_its_equations_use():
    """beta1, beta2 and eps are shown beside m and v: without them no one could work m, v or
    w_after out again (non-default values here, so a row of the defaults would not pass)."""
    result, ds = run(optimizer="adam", alpha=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
    t = nnmath.trace_step(result.snapshot(5), ds.X[0], ds.labels[0], 0.01)
    u = mv.weight_update(result, 5, t)
    v = values(u)
    b1, b2, eps, g = v[r"\beta_1"], v[r"\beta_2"], v[r"\varepsilon"], v[r"\partial L / \partial w"]
    assert v["m"] == pytest.approx(b1 * v[r"m_{\text{before}}"] + (1 - b1) * g)
    assert v["v"] == pytest.approx(b2 * v[r"v_{\text{before}}"] + (1 - b2) * g * g)
    assert v[r"\hat m"] == pytest.approx(v["m"] / (1 - b1**6))
    assert v[r"\hat v"] == pytest.approx(v["v"] / (1 - b2**6))
    w = v["w"] - v[r"\eta_t"] * v[r"\hat m"] / (math.sqrt(v[r"\hat v"]) + eps)
    assert u.after == pytest.approx(w)
    # eps as a power of ten in the LaTeX block, not "1e-06" (KaTeX: "1e − 06", a subtraction)
    latex = mv.weight_update_latex(u)
    assert r"\varepsilon &= 10^{-6}" in latex and not re.search(r"\de[-+]\d", latex), latex
    assert mv.latex_number(2.5e-05) == r"2.5 \times 10^{-5}" and mv.latex_number(0.25) == "0.25"
    # float64 run: the 6 digits are the only rounding; float32: the page says so
    assert "float32" not in mv.weight_update_sentence(u)
    ds32 = tiny_dataset(200)
    r32 = nnmath.gradient_descent(ds32.X, ds32.labels, TrainConfig(hidden=6), iterations=3)
    t32 = nnmath.trace_step(r32.snapshot(0), ds32.X[0], ds32.labels[0], 0.1)
    assert "computes the update in float32" in mv.weight_update_sentence(
        mv.weight_update(r32, 0, t32)
    )


def test_the_plain_one_image_step_says_when_the_run_steps_otherwise():
    """The Math page's one-image step is the notebook's W − alpha dW; for a run with Adam, a
    schedule or weight decay it is not what the run did, and the sentence says so."""
    result, ds = run(optimizer="adam", alpha=0.01, weight_decay=0.01, schedule="cosine")
    ms = mv.math_step(result, ds.X[0], ds.labels[0], 5)
    said = mv.loss_sentence(ms, result.config)
    assert said.startswith(mv.loss_sentence(ms))
    assert said.endswith(
        " This is the notebook's plain step; the run itself steps with adam and a cosine "
        "learning-rate schedule and weight decay 0.01 (below)."
    )
    plain, ds = run()
    ms = mv.math_step(plain, ds.X[0], ds.labels[0], 5)
    assert mv.loss_sentence(ms, plain.config) == mv.loss_sentence(ms)

"""The Math page's content: the step's numbers, the full-batch comparison from the history, the
source lines shown and the figures' values."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import nnmath
from engine.store import RunStore
from tests.helpers import app_sample, app_sample_run
from views import math_step as mv


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return app_sample_run(tmp_path_factory.mktemp("runs"), 100)


def test_math_step_is_trace_step_at_the_snapshot_with_the_runs_alpha(run):
    result, dev = run
    ms = mv.math_step(result, dev.images[3], dev.labels[3], 50)
    direct = nnmath.trace_step(result.snapshot(50), dev.images[3], dev.labels[3], 0.1)
    assert ms.trace.loss == direct.loss and ms.trace.loss_after == direct.loss_after
    np.testing.assert_array_equal(ms.trace.dW1, direct.dW1)
    # the run's full-batch step 50 -> 51, from its history
    assert ms.full_before == result.history.loss[50] and ms.full_after == result.history.loss[51]
    last = mv.math_step(result, dev.images[3], dev.labels[3], 100)
    assert last.full_before == result.loss and last.full_after is None
    assert "no full-batch step follows" in mv.full_batch_sentence(last, 4000)
    # one more update than the run has: the same numbers as a run of 101 iterations
    train, _, base = app_sample()
    more = nnmath.continue_training(result, train.X, train.labels, iterations=1)
    last = mv.math_step(result, dev.images[3], dev.labels[3], 100, next_loss=more.loss)
    longer = RunStore().train(base, 102, train, dev)
    assert last.full_after == pytest.approx(longer.history.loss[101], rel=1e-6)
    assert "not recorded" in mv.full_batch_sentence(last, 4000, batch_size=64)


def test_sentences_show_the_numbers(run):
    result, dev = run
    ms = mv.math_step(result, dev.images[0], dev.labels[0], 0)
    t = ms.trace
    s = mv.loss_sentence(ms)
    assert f"goes from {t.loss:.4f} to {t.loss_after:.4f}" in s
    assert f"{t.A2[0, t.y]:.4f} to {t.A2_after[0, t.y]:.4f}" in s
    f = mv.full_batch_sentence(ms, 4000)
    assert f"from {ms.full_before:.4f} to {ms.full_after:.4f}" in f and "4,000" in f
    assert mv.loss_equation(t).endswith(f"= {t.loss:.4f}")
    assert float(mv.loss_equation(t).split("log(")[1].split(")")[0]) == pytest.approx(
        t.A2[0, t.y], abs=5e-5
    )


def test_every_equation_has_source_lines_that_compute_it():
    for eq in (*mv.FORWARD, *mv.BACKWARD, mv.UPDATE):
        lines = mv.source_lines(eq.name)
        assert lines and all(line.file == "nnmath/network.py" for line in lines)
    assert [line.text.split("=")[0].strip() for line in mv.source_lines("dZ1")] == ["dA1", "dZ1"]
    assert len(mv.source_lines("W1")) == 4
    assert mv.shape(np.zeros((1, 10))) == "(1, 10)"


def test_figures_carry_the_values_and_marks(run):
    result, dev = run
    ms = mv.math_step(result, dev.images[1], dev.labels[1], 100, dead=np.eye(10, dtype=bool)[2])
    t = ms.trace
    fig = mv.vector_figure(
        t.Z1, [str(u) for u in range(10)], "Z1", marked=ms.dead, mark_text="†", grey=t.Z1[0] <= 0
    )
    np.testing.assert_allclose(fig.data[0].y, t.Z1[0])
    assert fig.data[0].x[2] == "2 †" and fig.data[0].x[1] == "1"
    silent = np.flatnonzero(t.Z1[0] <= 0)
    if silent.size:
        assert fig.data[0].marker.color[silent[0]] == "#bdbdbd"
    w = mv.dW1_figure(t.dW1, t.dZ1)
    assert np.asarray(w.data[0].z).shape == (2 * 28 + 7, 5 * 28 + 4)  # 10 units, 5 a row (phone)
    tile = np.asarray(w.data[0].z, dtype=float)[:28, :28]
    expected = (t.X[0] * t.dZ1[0, 0]).reshape(28, 28)
    np.testing.assert_allclose(tile, expected, atol=1e-4)
    assert w.data[1].text[0].startswith(f"unit 0: dW1 = X × dZ1[0] = X × {t.dZ1[0, 0]:.5f}")
    m = mv.matrix_figure(t.dW2, "dW2", x_title="digit", y_title="hidden unit")
    np.testing.assert_allclose(np.asarray(m.data[0].z), t.dW2)


def test_url_values_are_checked_with_the_rule_in_the_message():
    assert mv.parse_dev_index(" 7", 1000) == 7
    with pytest.raises(ValueError, match="image must be a dev index between 0 and 999, got 1000"):
        mv.parse_dev_index("1000", 1000)
    with pytest.raises(ValueError, match="image must be a whole number .*, got 'x'"):
        mv.parse_dev_index("x", 1000)
    assert mv.parse_source("drawn", ["dev", "drawn"]) == "drawn"
    with pytest.raises(ValueError, match="no drawing in this session"):
        mv.parse_source("drawn", ["dev"])
    with pytest.raises(ValueError, match="source must be one of dev, got 'file'"):
        mv.parse_source("file", ["dev"])


def test_heatmap_cells_carry_short_numbers_and_hover_the_exact_value():
    """dW2 on a phone: ten labels a row as long as "0.000" were drawn ~6 px high. Each cell now
    shows two significant digits of the largest gradient, blank where that rounds to zero; the
    hover keeps the value to six significant digits."""
    M = np.array([[1.1934, -0.0004, 0.0462], [-0.7581, 0.0, 2e-7]])
    labels = mv.cell_labels(M)
    assert labels.tolist() == [["1.2", "", ""], ["−0.8", "", ""]]
    small = mv.cell_labels(M / 100)  # largest 0.0119: three decimals
    assert small.tolist() == [["0.012", "", ""], ["−0.008", "", ""]]
    fig = mv.matrix_figure(M, "dW2", x_title="digit", y_title="hidden unit")
    assert np.asarray(fig.data[0].text).tolist() == labels.tolist()
    assert "%{z:.6g}" in fig.data[0].hovertemplate
    normal = mv.cell_labels(np.random.default_rng(0).normal(size=(10, 10)))
    assert max(len(t) for t in normal.flat) <= 4  # "−2.5", not "-2.473"


def test_the_loss_equation_and_the_changes_hold_as_written(run):
    """-log(p) = L with p written so that it does, and 'down x' the difference of the two
    numbers written beside it (at 4 decimals for p and the raw difference, about half the
    equations and a quarter of the changes missed in their last digit)."""
    from decimal import Decimal

    result, dev = run
    for at in (0, 50, 100):
        for i in range(12):
            ms = mv.math_step(result, dev.images[i], dev.labels[i], at)
            t = ms.trace
            eq = mv.loss_equation(t)
            p, loss = eq.split(r"-\log(")[1].split(") = ")
            assert f"{-math.log(float(p)):.4f}" == loss == f"{t.loss:.4f}", eq
            assert float(p) == pytest.approx(t.A2[0, t.y], abs=5e-5)
            for s in (mv.loss_sentence(ms), mv.full_batch_sentence(ms, 4000, None)):
                found = re.search(r"from (\d+\.\d+) to (\d+\.\d+) \((down|up) (\d+\.\d+)\)", s)
                if found is None:
                    assert "no full-batch step follows" in s
                    continue
                a, b, way, change = found.groups()
                assert Decimal(a) - Decimal(b) == (1 if way == "down" else -1) * Decimal(change)


def test_the_probability_chart_says_what_its_rounded_labels_add_up_to(run):
    """'Scores become probabilities that add up to 1', above ten labels rounded to 3 decimals:
    whatever they add up to as written is said under the chart's title."""
    from decimal import Decimal

    result, dev = run
    said = set()
    for i in range(12):
        ms = mv.math_step(result, dev.images[i], dev.labels[i], 50)
        fig = mv.step_figures(ms)["A2"]
        total = sum(Decimal(label) for label in fig.data[0].text)
        detail = fig.layout.title.subtitle.text
        assert f"add up to {total}" in detail if total != 1 else "add up to 1.000" in detail
        said.add(total == 1)
    assert said == {True, False}  # both cases occur among these images

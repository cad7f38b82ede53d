"""Learning dynamics: per-digit accuracy, sentences, confusion at a snapshot, dead units and the
PCA map, checked against direct computations on a run of the embedded sample."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nnmath
from engine.store import RunStore
from tests.helpers import app_sample
from views import dynamics as dv
from views.metrics import confusion_matrix


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    train, dev, base = app_sample()
    # its own store: a module fixture runs before the per-test NNMATH_RUNS_DIR is set
    result = RunStore(tmp_path_factory.mktemp("reference")).train(base, 150, train, dev)
    return result, train, dev


@pytest.fixture(scope="module")
def dyn(run):
    result, train, dev = run
    return dv.dynamics(result, train.X, dev.X, dev.labels)


def test_per_digit_accuracy_and_confusion_match_each_snapshot(run, dyn):
    result, train, dev = run
    assert dyn.iterations.tolist() == [0, 50, 100, 150]
    for j, it in enumerate(dyn.iterations):
        pred = nnmath.make_predictions(dev.X, result.snapshot(int(it)))
        y = dev.labels.astype(int)
        for d in range(10):
            assert dyn.per_digit[j, d] == pytest.approx(np.mean(pred[y == d] == d))
        assert dyn.accuracy[j] == pytest.approx(np.mean(pred == y))
        np.testing.assert_array_equal(dyn.confusion(int(it)), confusion_matrix(y, pred))
    # the last snapshot is the run's final dev accuracy
    assert dyn.accuracy[-1] == pytest.approx(result.dev_accuracy)
    with pytest.raises(ValueError, match=r"iteration must be a snapshot iteration \[0, 50"):
        dyn.index(70)


def test_dead_units_are_those_zero_on_every_training_image(run, dyn):
    result, train, _ = run
    for j, it in enumerate(dyn.iterations):
        A1 = nnmath.forward_propagation(result.snapshot(int(it)), nnmath.scale_pixels(train.X)).A1
        np.testing.assert_array_equal(dyn.dead[j], ~(A1 > 0).any(axis=0))
    assert dyn.dead_count.shape == (4,)
    fake = dv.Dynamics(
        iterations=np.array([0, 50]),
        dev_pred=np.array([[1, 2, 3], [1, 1, 3]], np.int8),
        dev_y=np.array([1, 2, 3]),
        active=np.array([[True, True, True], [True, False, False]]),
        per_digit=np.zeros((2, 10)),
        accuracy=np.array([1.0, 2 / 3]),
    )
    assert dv.dead_text(fake, 50) == "2 of 3 (1, 2)" and dv.dead_text(fake, 0) == "0 of 3 (none)"
    assert dv.no_dead_text(fake) is None  # two died: the chart says when
    alive = dataclasses.replace(fake, active=np.ones((2, 3), bool))
    assert dv.no_dead_text(alive).startswith("No hidden unit died in this run: each of the 3")
    assert "from iteration 0 to 50" in dv.no_dead_text(alive)
    assert dv.accuracy_text(fake, 50) == "dev accuracy 66.7% (2 of 3)"


def _fake(per_digit, iterations=(0, 50, 100)):
    k = len(iterations)
    return dv.Dynamics(
        iterations=np.array(iterations),
        dev_pred=np.zeros((k, 20), np.int8),
        dev_y=np.repeat(np.arange(10), 2),
        active=np.ones((k, 3), bool),
        per_digit=np.array(per_digit, dtype=float),
        accuracy=np.zeros(k),
    )


def test_sentences_say_when_each_digit_passes_and_which_never_do():
    acc = np.full((3, 10), 0.5)
    acc[1:, 7] = [0.85, 0.9]  # 7 passes at 50
    acc[:, 1] = [0.8, 0.9, 0.95]  # 1 already at iteration 0 (>= is passing)
    acc[:, 5] = [0.1, 0.74, 0.6]  # never; best at 50
    s = dv.passing_sentences(_fake(acc))
    assert s[0] == "1 reaches 80% at iteration 0 (80.0% of its 2 dev images)"  # not "passes"
    assert s[1] == "7 reaches 80% at iteration 50 (85.0% of its 2 dev images)"
    assert "5 never reaches 80% (best 74.0%, at iteration 50)" in s
    assert len(s) == 10
    assert dv.first_passing(_fake(acc), 0.9)[7] == 100


def test_pca_of_points_on_a_line_is_that_line():
    t = np.linspace(-1, 1, 50)
    A = np.stack([t, 2 * t, np.zeros_like(t)], axis=1) + 3
    coords, share = dv.pca_2d(A)
    assert share[0] == pytest.approx(1.0) and share[1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(np.abs(coords[:, 0]), np.abs(t) * np.sqrt(5), atol=1e-12)
    # sign fixed: the same data always gives the same picture
    np.testing.assert_array_equal(dv.pca_2d(A)[0], coords)
    # variance of component 1 >= component 2, both components uncorrelated
    rng = np.random.default_rng(0)
    B = rng.normal(size=(200, 5)) * [5, 3, 1, 1, 1]
    c, s = dv.pca_2d(B)
    assert s[0] >= s[1] > 0 and abs(np.corrcoef(c.T)[0, 1]) < 1e-9


def test_figures_carry_the_numbers(run, dyn):
    result, _, dev = run
    fig = dv.per_digit_figure(dyn)
    assert len(fig.data) == 10
    np.testing.assert_allclose(fig.data[7].y, dyn.per_digit[:, 7])
    dead = dv.dead_units_figure(dyn)
    np.testing.assert_array_equal(dead.data[0].y, dyn.dead_count)
    # counted at snapshots only: no step that says when between them a unit died
    assert dead.data[0].line.shape != "hv" and dead.data[0].line.dash == "dot"
    assert "snapshot" in dead.layout.xaxis.title.text
    cm = dv.confusion_figure(dyn, 50)
    assert np.asarray(cm.data[0].z).sum() == len(dev.labels)
    coords, share = dv.hidden_map(result.params, dev.X, dev.labels)
    m = dv.map_figure(coords, share, dev.labels, pred=dyn.dev_pred[-1])
    assert sum(len(t.x) for t in m.data) == dev.n
    i = int(m.data[3].customdata[0])
    assert dev.labels[i] == 3 and m.data[3].text[0].startswith(f"dev image {i}: digit 3")
    assert dv.selected_index({"selection": {"points": [{"customdata": i}]}}) == i
    assert dv.selected_index({"selection": {"points": []}}) is None


def test_snapshot_in_the_url_must_be_one_of_the_runs():
    assert dv.parse_snapshot("50", np.array([0, 50, 100])) == 50
    for bad in ("70", "x", ""):
        with pytest.raises(ValueError, match=r"at must be a snapshot iteration \[0, 50, 100\]"):
            dv.parse_snapshot(bad, [0, 50, 100])


def test_the_threshold_is_named_on_the_axis_not_over_the_curves(dyn):
    """The 80% label lay on the curves (top right of the plot, where they end above it): no text
    inside the plot now; the threshold's own y tick names it, in bold, for any threshold."""
    for threshold, others in ((0.8, ["0%", "20%", "40%", "60%", "100%"]), (0.75, ["0%", "20%"])):
        fig = dv.per_digit_figure(dyn, threshold)
        assert not fig.layout.annotations
        (line,) = fig.layout.shapes
        assert line.y0 == line.y1 == threshold
        ticks = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext))
        assert ticks[threshold] == f"<b>{threshold:.0%}</b>"
        assert all(t in ticks.values() for t in others)
        assert 0.8 not in ticks or threshold == 0.8  # no plain 80% crowding a 75% threshold


def test_only_plain_gradient_descent_leaves_a_dead_unit_dead_for_good(dyn):
    """'it gets no gradient, so it never learns again' was said of every run; with momentum or
    Adam its weights keep moving on the running averages, and weight decay shrinks them, either
    of which can switch it on again."""
    from nnmath import TrainConfig

    at = int(dyn.iterations[-1])
    plain = dv.dead_caption(TrainConfig(), dyn, at)
    assert "gets no gradient from them, so its weights never change again." in plain
    assert plain.endswith(f"At iteration {at:,}: {dv.dead_text(dyn, at)}.")
    adam = dv.dead_caption(TrainConfig(optimizer="adam"), dyn, at)
    assert "never" not in adam and "adam's running averages keep moving its weights" in adam
    decay = dv.dead_caption(TrainConfig(optimizer="momentum", weight_decay=0.01), dyn, at)
    assert "weight decay keeps shrinking its weights, which can switch it on again" in decay

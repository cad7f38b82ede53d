"""Figure builders: the traces carry the right data, images are upright, scales are symmetric."""

from __future__ import annotations

import numpy as np
import pytest

from views import figures, metrics
from views.figures import CAPTION_GAP, DIGIT_CAPTION_GAP, SIDE, TILE


class FakeHistory:
    def __init__(self, n, dev=True):
        self.loss = np.linspace(2.3, 0.4, n)
        self.train_accuracy = np.linspace(0.1, 0.9, n)
        self.dev_accuracy = np.linspace(0.1, 0.85, n) if dev else np.full(n, np.nan)


def test_training_curves_carry_the_history_and_grow_towards_total():
    h = FakeHistory(120)
    fig = figures.training_curves(h, total=500)
    names = [t.name for t in fig.data]
    assert names == ["loss (train)", "train accuracy", "dev accuracy"]
    np.testing.assert_allclose(fig.data[0].y, h.loss)
    np.testing.assert_allclose(fig.data[2].y, h.dev_accuracy)
    assert list(fig.layout.xaxis2.range) == [0, 500]
    assert fig.layout.xaxis2.title.text == "iteration"
    assert fig.layout.yaxis.title.text == "loss" and fig.layout.yaxis2.title.text == "accuracy"
    # no dev set: no dev curve; inf becomes a gap, never invalid JSON
    h2 = FakeHistory(10, dev=False)
    h2.loss[5] = np.inf
    fig2 = figures.training_curves(h2, diverged_at=5)
    assert [t.name for t in fig2.data] == ["loss (train)", "train accuracy"]
    assert np.isnan(fig2.data[0].y[5])
    fig2.to_json()
    assert any("diverged at iteration 5" in a.text for a in fig2.layout.annotations)


def test_long_histories_are_thinned():
    fig = figures.training_curves(FakeHistory(20_000))
    assert len(fig.data[0].x) <= figures.MAX_CURVE_POINTS


def test_digit_grid_is_upright_and_labelled():
    img = np.zeros((SIDE, SIDE), np.uint8)
    img[0, :] = 255  # a bar in row 0 = the top of the digit
    images = np.stack([img, 255 - img, img])
    fig = figures.digit_grid(images, ["a", "b", "c"], cols=2)
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (2 * SIDE + DIGIT_CAPTION_GAP, 2 * TILE - 1)
    assert z[0, 0] == 255 and z[1, 0] == 0  # row 0 of the image is row 0 of the mosaic
    # y axis reversed: row 0 is drawn at the top
    lo, hi = fig.layout.yaxis.range
    assert lo > hi
    assert (heat.zmin, heat.zmax) == (0, 255)
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c"]
    points = fig.data[1]
    assert list(points.customdata) == [0, 1, 2]
    for i, (x, y) in enumerate(zip(points.x, points.y)):
        assert figures.tile_index({"x": x, "y": y}, cols=2, k=3, vgap=DIGIT_CAPTION_GAP) == i
    assert figures.tile_index({"customdata": [7]}, cols=2, k=3) == 7


def test_each_digit_caption_sits_with_its_own_image_on_a_phone():
    """The Data page's 10-a-row grid drawn ~340 px wide (as a 390 px phone draws it): a caption
    (11 px text, ~15 px with its padding) stands on its own tile's top edge and leaves clear space
    under the row above, so it cannot be read as that row's caption."""
    images = np.zeros((40, SIDE, SIDE), np.uint8)
    fig = figures.digit_grid(images, [str(i // 4) for i in range(40)], cols=10)
    px = 340 / (10 * TILE)  # screen pixels per mosaic pixel
    pitch = SIDE + DIGIT_CAPTION_GAP
    for i, a in enumerate(fig.layout.annotations):
        r = i // 10
        assert a.yanchor == "bottom" and abs(a.y - r * pitch) <= 1  # on its own tile's top
        if r:
            above_bottom = (r - 1) * pitch + SIDE
            assert (a.y - above_bottom) * px - 15 >= 8, (i, a.y, above_bottom)


def test_digit_image_is_upright():
    fig = figures.digit_image(np.arange(784).reshape(28, 28) % 256)
    assert fig.layout.yaxis.autorange == "reversed"


def test_hidden_units_share_one_symmetric_scale():
    rng = np.random.default_rng(0)
    W1 = rng.normal(size=(784, 12)).astype(np.float32)
    W1[5, 3] = -9.0
    fig = figures.hidden_units(W1, cols=5)
    heat = fig.data[0]
    assert heat.zmin == -9.0 and heat.zmax == 9.0 and heat.zmid == 0
    assert heat.colorbar.title.text == "weight"
    # unit 3's tile holds column 3 of W1 reshaped to 28x28 (pixel 5 = row 0, col 5)
    z = np.asarray(heat.z, dtype=float)
    assert z[0, 3 * TILE + 5] == pytest.approx(-9.0)
    assert [a.text for a in fig.layout.annotations][:2] == ["0", "1"]
    # a fixed limit (replay) is kept; the change view subtracts the start
    fixed = figures.hidden_units(W1, limit=20.0, start=W1 - 1.0)
    assert fixed.data[0].zmax == 20.0 and fixed.data[0].colorbar.title.text == "change"
    np.testing.assert_allclose(np.nanmax(np.asarray(fixed.data[0].z, dtype=float)), 1.0)
    # paging through units
    page = figures.hidden_units(W1, first=10, count=5)
    assert [a.text for a in page.layout.annotations] == ["10", "11"]


def test_hidden_units_colour_bar_above_and_height_by_rows():
    """The colour bar lies above the tiles (beside them it took a fifth of a phone's width), and
    each row of tiles adds the same height: tiles keep their size however many units."""
    W1 = np.random.default_rng(0).normal(size=(784, 64))
    ten, sixty_four = (figures.hidden_units(W1, cols=5, count=n) for n in (10, 64))
    bar = ten.data[0].colorbar
    assert bar.orientation == "h" and bar.y == 1 and bar.yanchor == "bottom"
    assert ten.layout.margin.t >= bar.thickness + 30  # the bar and its numbers in the top margin
    assert ten.layout.yaxis.constraintoward == "top"  # spare room under the tiles, not above
    per_row = (sixty_four.layout.height - ten.layout.height) / (13 - 2)
    assert per_row == pytest.approx((SIDE + CAPTION_GAP) * figures.UNIT_PX / SIDE, abs=1)


def test_output_weights_takes_the_height_of_the_tiles_beside_it():
    """W2 takes the height it is given (the tiles' beside it), at least 280 px; by default 22 px
    a unit up to 700 px."""
    W2 = np.random.default_rng(2).normal(size=(64, 10))
    assert figures.output_weights(W2).layout.height == 700
    assert figures.output_weights(W2, height=1034).layout.height == 1034
    assert figures.output_weights(W2, height=100).layout.height == 280
    assert figures.output_weights(W2[:5]).layout.height == 280


def test_output_weights_and_histograms():
    rng = np.random.default_rng(1)
    W2 = rng.normal(size=(7, 10))
    fig = figures.output_weights(W2)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), W2)
    assert fig.data[0].zmin == -fig.data[0].zmax
    start = {"W1": rng.uniform(-0.5, 0.5, (784, 7)), "W2": rng.uniform(-0.5, 0.5, (7, 10))}
    now = {"W1": start["W1"] * 2, "W2": start["W2"]}
    hist = figures.weight_histograms(start, now)
    assert len(hist.data) == 4
    assert sum(hist.data[0].y) == 784 * 7 and sum(hist.data[3].y) == 70


def test_confusion_heatmap_cells_know_their_pair():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 10, 500)
    pred = np.where(rng.random(500) < 0.7, y, rng.integers(0, 10, 500))
    cm = metrics.confusion_matrix(y, pred)
    fig = figures.confusion_heatmap(cm)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), cm)
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # true 0 at the top
    assert fig.layout.xaxis.title.text == "predicted digit"
    assert fig.layout.yaxis.title.text == "true digit"
    cells = fig.data[1]
    for (t, p), x, yy in zip(cells.customdata, cells.x, cells.y):
        assert (x, yy) == (p, t)
    assert fig.data[0].text[2][7] == f"{cm[2, 7]:,}"
    norm = figures.confusion_heatmap(cm, normalised=True)
    np.testing.assert_allclose(np.asarray(norm.data[0].z), metrics.normalise_rows(cm))


def test_evaluation_figures():
    fig = figures.confidence_histogram(np.array([0.99, 0.95, 0.5]), np.array([0.6, 0.3]))
    assert [t.name for t in fig.data] == ["right (3)", "wrong (2)"]
    assert sum(fig.data[0].customdata) == 3 and sum(fig.data[1].customdata) == 2
    probs = np.full(10, 0.02)
    probs[4], probs[9] = 0.2, 0.62
    bars = figures.probability_bars(probs, true=4, pred=9)
    np.testing.assert_allclose(bars.data[0].y, probs)
    colors = list(bars.data[0].marker.color)
    assert colors[4] == figures.COLORS["right"] and colors[9] == figures.COLORS["wrong"]
    table = metrics.per_class(np.diag(np.arange(1, 11)))
    prf = figures.per_class_bars(table)
    assert [t.name for t in prf.data] == ["precision", "recall", "F1"]
    assert tuple(prf.layout.yaxis.range) == (0.0, 1.0)  # bars from 0: heights are the scores


def test_data_figures():
    counts = np.arange(10) * 3
    fig = figures.digit_counts(counts)
    np.testing.assert_array_equal(fig.data[0].y, counts)
    means = np.random.default_rng(0).uniform(0, 255, (10, 28, 28))
    m = figures.mean_digits(means, counts)
    assert [a.text for a in m.layout.annotations] == [str(d) for d in range(10)]
    sizes = figures.split_sizes({"train": 4000, "dev": 1000})
    assert list(sizes.data[0].x) == [4000, 1000]


def test_paper_is_black_ink_on_white_in_square_pixels():
    img = np.zeros((SIDE, SIDE), np.uint8)
    img[0, 1] = 255  # full ink, top row
    img[27, 27] = 100
    page = figures.paper(img, scale=3)
    assert page.shape == (3 * SIDE, 3 * SIDE) and page.dtype == np.uint8
    assert (page[0:3, 3:6] == 0).all()  # ink is black, one 3x3 square
    assert page[0, 0] == 255 and page[0, 6] == 255  # paper is white
    assert (page[-3:, -3:] == 155).all()


def test_white_is_update_layouts_template_without_its_cost():
    """figures.white gives a figure plotly_white as update_layout(template=...) does (the same
    JSON), each figure its own copy, and leaves plotly's registered template alone."""
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    def build():
        fig = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))
        return fig.update_layout(height=300, title=dict(text="x"), font=dict(size=13))

    slow = json.loads(build().update_layout(template="plotly_white").to_json())
    first, second = figures.white(build()), figures.white(build())
    assert json.loads(first.to_json()) == slow
    first.layout.template.layout.paper_bgcolor = "red"  # one figure's template changed ...
    assert second.layout.template.layout.paper_bgcolor == "white"  # ... not the other's
    assert pio.templates["plotly_white"].layout.paper_bgcolor == "white"
    assert json.loads(figures.white(build()).to_json()) == slow


def test_every_figure_module_ends_with_plotly_white():
    """The figures styled through figures.white (figures, calibration, race) carry plotly_white."""
    import nnmath
    from views import calibration, race

    cm = figures.confusion_heatmap(np.eye(10, dtype=int))
    rng = np.random.default_rng(0)
    rel = nnmath.reliability(rng.dirichlet(np.ones(10), 50), rng.integers(0, 10, 50))
    curves = race.race_figure({"gd": FakeHistory(5)}, {"gd": "gd"}, total=5)
    for fig in (cm, calibration.reliability_figure(rel, title="t"), curves):
        assert fig.layout.template.layout.paper_bgcolor == "white"


def test_a_right_answers_bars_do_not_promise_a_red_bar():
    """When the answer is right only the green bar is coloured: the title says true and
    predicted are one digit, instead of pointing at a red bar that is not there."""
    probs = np.full(10, 0.01)
    probs[9] = 0.91
    right = figures.probability_bars(probs, true=9, pred=9)
    assert right.layout.title.text == "true and predicted 9 (green)"
    assert figures.COLORS["wrong"] not in list(right.data[0].marker.color)
    wrong = figures.probability_bars(probs, true=4, pred=9)
    assert wrong.layout.title.text == "true 4 (green) · predicted 9 (red)"


def test_the_curves_end_on_the_numbers_written_above_them():
    # the history's row i is after i updates; the page's metrics are after the last update
    import nnmath
    from tests.helpers import tiny_dataset

    ds = tiny_dataset(300)
    X, y = ds.X, ds.labels
    result = nnmath.gradient_descent(
        X[:200], y[:200], hidden=10, alpha=0.1, iterations=30, X_dev=X[200:], y_dev=y[200:]
    )
    fig = figures.training_curves(result.history, total=30, final=result)
    loss, train, dev = fig.data[:3]
    assert loss.x[-1] == train.x[-1] == dev.x[-1] == 30
    assert (loss.y[-1], train.y[-1], dev.y[-1]) == pytest.approx(
        (result.loss, result.train_accuracy, result.dev_accuracy)
    )
    np.testing.assert_allclose(dev.y[:-1], result.history.dev_accuracy)
    # mini-batches: the history's loss is a batch's, so only the dev curve gets the final point
    batched = nnmath.gradient_descent(
        X[:200],
        y[:200],
        hidden=10,
        alpha=0.1,
        iterations=30,
        batch_size=50,
        X_dev=X[200:],
        y_dev=y[200:],
    )
    fig = figures.training_curves(batched.history, total=30, final=batched)
    assert fig.data[2].y[-1] == pytest.approx(batched.dev_accuracy)
    assert np.isnan(fig.data[0].y[-1]) and np.isnan(fig.data[1].y[-1])

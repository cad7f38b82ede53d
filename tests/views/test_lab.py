"""The lab: URL parsing, switching units off (exact), robustness curves and their figures."""

from __future__ import annotations

import numpy as np
import pytest

import nnmath
from data import corrupt
from tests.helpers import app_sample_run
from views import lab
from views.metrics import confusion_matrix


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return app_sample_run(tmp_path_factory.mktemp("runs"), 100)


def test_url_values_parse_and_format_back():
    assert lab.parse_units("7, 1,4,4", 10) == (1, 4, 7)
    assert lab.parse_units("", 10) == () and lab.parse_units(None, 10) == ()
    assert lab.format_units((4, 1)) == "1,4" and lab.format_units(()) is None
    assert lab.parse_scales("3:0.5,1:2", 10) == {1: 2.0, 3: 0.5}
    assert lab.format_scales({3: 0.5, 1: 2.0}) == "1:2,3:0.5"
    with pytest.raises(ValueError, match="off: a hidden unit must be between 0 and 9, got 10"):
        lab.parse_units("10", 10)
    with pytest.raises(ValueError, match="off must list hidden units as whole numbers, got 'x'"):
        lab.parse_units("1,x", 10)
    with pytest.raises(ValueError, match=r"scale must read unit:factor \(e.g. 3:0.5\), got '3'"):
        lab.parse_scales("3", 10)
    s = lab.unit_scale(5, off=(1,), scales={1: 3.0, 2: 0.5})
    np.testing.assert_array_equal(s, [1, 0, 0.5, 1, 1])  # off wins over a scale


def test_switching_units_off_is_the_network_without_them(run):
    result, dev = run
    p = result.params
    ab = lab.ablation(p, dev.X, dev.labels, lab.unit_scale(10, off=(2, 5)))
    keep = [u for u in range(10) if u not in (2, 5)]
    smaller = nnmath.Params(p.W1[:, keep], p.b1[keep], p.W2[keep], p.b2)
    expected = nnmath.make_predictions(dev.X, smaller)
    assert np.mean(ab.pred_after == expected) > 0.998  # float32 ties aside, the same answers
    assert ab.accuracy_before == pytest.approx(result.dev_accuracy)
    np.testing.assert_array_equal(ab.cm_after, confusion_matrix(dev.labels, ab.pred_after))
    np.testing.assert_array_equal(ab.changed, np.flatnonzero(ab.pred_before != ab.pred_after))
    assert len(ab.changed) > 0
    text = lab.describe(ab)
    right_b = int((ab.pred_before == ab.y).sum())
    assert f"{ab.accuracy_before:.1%} → {ab.accuracy_after:.1%}" in text
    assert f"({right_b:,} → " in text and f"{len(ab.changed):,} images changed answer" in text
    # nothing switched off: nothing changes
    same = lab.ablation(p, dev.X, dev.labels, np.ones(10))
    assert len(same.changed) == 0 and not same.improvement.any()


def test_change_and_changed_figures(run):
    result, dev = run
    ab = lab.ablation(result.params, dev.X, dev.labels, lab.unit_scale(10, off=(0, 1, 2)))
    fig = lab.change_figure(ab)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), ab.improvement)
    t, p = 3, 3
    assert (
        fig.data[0]
        .customdata[t][p]
        .startswith(f"correct: intact {ab.cm_before[t, p]}, changed {ab.cm_after[t, p]}")
    )
    g = lab.changed_figure(ab, dev.images, limit=12)
    assert len(g.layout.annotations) == min(12, len(ab.changed))
    i = ab.changed[0]
    assert g.layout.annotations[0].text.startswith(
        f"{ab.y[i]}: {ab.pred_before[i]}→{ab.pred_after[i]}"
    )
    # the title short enough for half a desktop row; what the captions say on a line below it
    assert g.layout.title.text == f"Changed answers ({len(ab.changed):,}, first 12)"
    assert g.layout.title.subtitle.text == "under each: true digit: intact → changed answer"


def test_robustness_curves_start_at_the_clean_accuracy_and_fall(run):
    result, dev = run
    table = lab.robustness(result.params, dev.images, dev.labels)
    assert list(dict.fromkeys(table["corruption"])) == list(corrupt.CORRUPTIONS)
    clean = table[table["level"] == 0]
    for kind in ("noise", "rotate", "shift", "thickness"):
        assert clean[clean.corruption == kind]["accuracy"].item() == pytest.approx(
            result.dev_accuracy
        )
    rot = table[table.corruption == "rotate"].set_index("level")["accuracy"]
    assert rot[60.0] < rot[0.0] - 0.2
    text = lab.accuracy_text(table, "rotate", 30.0)
    # each share with the count it is of: the images read right, recounted here
    n = len(dev.labels)
    right = {
        lv: int(
            (
                lab.predict_with_units(
                    result.params, bad.reshape(n, -1), np.ones(result.params.hidden)
                ).argmax(1)
                == dev.labels
            ).sum()
        )
        for lv in (0.0, 30.0)
        for bad in [corrupt.corrupt(dev.images, "rotate", lv, seed=0)]
    }
    assert right[30.0] / n == rot[30.0] and right[0.0] / n == rot[0.0]
    assert text == (
        f"rotate at 30: dev accuracy **{rot[30.0]:.1%}** ({right[30.0]:,} of {n:,} right; "
        f"clean images: {rot[0.0]:.1%}, {right[0.0]:,} right)"
    )
    # the clean level itself is not compared with itself
    assert lab.accuracy_text(table, "rotate", 0.0) == (
        f"rotate at 0: dev accuracy **{rot[0.0]:.1%}** ({right[0.0]:,} of {n:,} right)"
    )
    with pytest.raises(ValueError, match="level must be one of"):
        lab.accuracy_text(table, "rotate", 31.0)
    fig = lab.robustness_figure(table, highlight=("rotate", 30.0))
    assert len([t for t in fig.data if t.mode == "lines+markers"]) == 4
    # a few words per axis title, no forced breaks (on a phone a panel is ~120 px wide); the
    # units in full in the caption under the chart
    titles = [fig.layout[f"xaxis{i or ''}"].title.text for i in ("", 2, 3, 4)]
    assert titles == ["noise std", "rotation", "shift", "stroke thickness"]
    caption = lab.levels_caption()
    assert all(corrupt.UNITS[kind] in caption for kind in corrupt.CORRUPTIONS), caption
    ex = lab.examples_figure(dev.images, "rotate", count=2)
    assert len(ex.layout.annotations) == 2 * len(corrupt.LEVELS["rotate"])


def test_augmentation_points_are_the_difference_of_the_written_accuracies():
    """37.34% and 39.96% are written 37.3% and 40.0%: 2.7 points apart as written (rounding
    the unrounded 2.62 points said 2.6); 85.04% → 84.56% likewise -0.4, not -0.5."""
    import pandas as pd

    def table(clean, at30):
        return pd.DataFrame(
            [("rotate", 0.0, clean), ("rotate", 30.0, at30)],
            columns=["corruption", "level", "accuracy"],
        )

    text = lab.augmentation_text(table(0.8504, 0.3734), table(0.8456, 0.3996), "rotate", 30)
    assert "**37.3%** for this run, **40.0%** trained" in text
    assert "(+2.7 points)" in text, text  # 40.0 − 37.3, not round(2.62)
    assert "85.0% → 84.6% (-0.4 points)" in text, text  # 84.6 − 85.0, not round(-0.48)

"""Metrics against brute-force loops (and scikit-learn's definitions, zero_division=0)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from views import metrics


def random_probs(rng, m):
    logits = rng.normal(size=(m, 10)) * 3
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@given(seed=st.integers(0, 10_000), m=st.integers(0, 200))
@settings(max_examples=40, deadline=None)
def test_confusion_matrix_counts_every_pair(seed, m):
    rng = np.random.default_rng(seed)
    y, pred = rng.integers(0, 10, m), rng.integers(0, 10, m)
    expected = np.zeros((10, 10), int)
    for t, p in zip(y, pred):
        expected[t, p] += 1
    cm = metrics.confusion_matrix(y, pred)
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == m


@given(seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_per_class_precision_recall_f1(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 120))
    y = rng.integers(0, 10, m)
    pred = np.where(rng.random(m) < 0.6, y, rng.integers(0, 10, m))
    table = metrics.per_class(metrics.confusion_matrix(y, pred))
    for d in range(10):
        tp = np.sum((pred == d) & (y == d))
        called, actual = np.sum(pred == d), np.sum(y == d)
        p = tp / called if called else 0.0
        r = tp / actual if actual else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        row = table.iloc[d]
        assert row["precision"] == pytest.approx(p) and row["recall"] == pytest.approx(r)
        assert row["f1"] == pytest.approx(f) and row["support"] == actual


def test_normalised_rows_sum_to_one_and_empty_rows_stay_zero():
    cm = np.zeros((10, 10), int)
    cm[3, 3], cm[3, 5] = 6, 2
    n = metrics.normalise_rows(cm)
    assert n[3].sum() == pytest.approx(1) and n[3, 5] == pytest.approx(0.25)
    assert n[0].sum() == 0


def test_confused_pairs_are_the_largest_off_diagonal_cells():
    rng = np.random.default_rng(1)
    cm = rng.integers(0, 20, (10, 10))
    table = metrics.confused_pairs(cm, top=5)
    cells = sorted(
        ((cm[t, p], t, p) for t in range(10) for p in range(10) if t != p and cm[t, p]),
        key=lambda c: (-c[0], c[1], c[2]),
    )[:5]
    assert list(zip(table["count"], table["true"], table["predicted"])) == cells
    assert table["share"].iloc[0] == pytest.approx(cells[0][0] / cm[cells[0][1]].sum())
    assert metrics.confused_pairs(np.diag(np.arange(10))).empty


def test_evaluation_and_mistakes_table():
    rng = np.random.default_rng(2)
    m = 300
    probs = random_probs(rng, m)
    y = rng.integers(0, 10, m)
    ev = metrics.evaluation_from_probs(probs, y)
    assert ev.accuracy == pytest.approx(np.mean(probs.argmax(1) == y))
    wrong = [i for i in range(m) if probs[i].argmax() != y[i]]
    table = metrics.mistakes(ev)
    assert sorted(table["index"]) == wrong
    # most confident first, and the confidence is the probability of the predicted digit
    assert list(table["confidence"]) == sorted(table["confidence"], reverse=True)
    i = int(table["index"].iloc[0])
    assert table["confidence"].iloc[0] == pytest.approx(probs[i].max())
    assert table["loss"].iloc[0] == pytest.approx(-np.log(probs[i, y[i]]))
    by_loss = metrics.mistakes(ev, sort="loss")
    assert list(by_loss["loss"]) == sorted(by_loss["loss"], reverse=True)
    t, p = int(table["true"].iloc[0]), int(table["pred"].iloc[0])
    pair = metrics.mistakes(ev, true=t, pred=p)
    assert set(pair["index"]) == {i for i in wrong if y[i] == t and probs[i].argmax() == p}
    right, bad = metrics.confidence_split(ev)
    assert len(right) + len(bad) == m and len(bad) == len(wrong)
    with pytest.raises(ValueError, match="sort must be one of"):
        metrics.mistakes(ev, sort="nope")
    assert not ev.probs.flags.writeable


def test_mistakes_min_conf_keeps_the_confident_mistakes_only():
    rng = np.random.default_rng(5)
    probs = random_probs(rng, 300)
    y = rng.integers(0, 10, 300)
    ev = metrics.evaluation_from_probs(probs, y)
    every = metrics.mistakes(ev)
    sure = metrics.mistakes(ev, min_conf=0.8)
    assert 0 < len(sure) < len(every)
    assert (sure["confidence"] >= 0.8).all()
    assert len(sure) == int(((ev.pred != ev.y) & (ev.confidence >= 0.8)).sum())
    assert len(metrics.mistakes(ev, min_conf=0.0)) == len(every)
    with pytest.raises(ValueError, match="min_conf must be in \\[0, 1\\], got 1.5"):
        metrics.mistakes(ev, min_conf=1.5)


def test_evaluate_keeps_the_logits_of_the_runs_activation():
    import nnmath
    from tests.helpers import tiny_dataset

    ds = tiny_dataset(50)
    params = nnmath.init_params(8, seed=1)
    ev = metrics.evaluate(params, ds)
    np.testing.assert_array_equal(ev.probs, nnmath.predict_proba(params, ds.X))
    X = nnmath.scale_pixels(ds.X, params.dtype)
    np.testing.assert_array_equal(ev.logits, nnmath.forward_propagation(params, X).Z2)
    # in blocks of 16 rows (4 blocks): the same numbers to float32 rounding. Not bit for bit:
    # OpenBLAS picks its kernel by shape, and its Haswell kernel sums a 16-row block in another
    # order than a 50-row one (its SkylakeX kernel happens not to).
    small = metrics.evaluate(params, ds, block_rows=16)
    np.testing.assert_allclose(small.logits, ev.logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(small.probs, ev.probs, rtol=1e-5, atol=1e-7)
    tanh = metrics.evaluate(params, ds, activation="tanh")
    np.testing.assert_array_equal(
        tanh.logits, nnmath.forward_propagation(params, X, activation="tanh").Z2
    )
    assert not np.array_equal(tanh.logits, ev.logits)
    assert ev.logits.dtype == np.float64 and not ev.logits.flags.writeable


def test_a_normalised_row_that_does_not_add_up_as_written_is_said_so():
    from decimal import Decimal

    from views import figures

    cm = np.zeros((10, 10), int)
    np.fill_diagonal(cm, 100)
    assert metrics.row_rounding_note(cm) == ""  # 100 images a row: every share a whole percent
    cm[3] = [0, 0, 0, 110, 0, 1, 1, 1, 0, 0]  # 113 images: 97.3% + 3 × 0.9% reads 97% + 3 × 1%
    cm[5] = [0, 0, 0, 1, 0, 111, 0, 0, 1, 0]  # 113: 98.2% + 2 × 0.9% reads 98% + 2 × 1% = 100%
    fig = figures.confusion_heatmap(cm, normalised=True)
    written = [sum(Decimal(c.rstrip("%")) for c in row if c != "<1%") for row in fig.data[0].text]
    assert written[3] == 100 and written[5] == 100
    cm[6] = [0, 0, 0, 0, 0, 0, 1, 0, 1, 1]  # 3 images: 33.3% × 3 reads 33% × 3 = 99%
    fig = figures.confusion_heatmap(cm, normalised=True)
    written = [sum(Decimal(c.rstrip("%")) for c in row if c != "<1%") for row in fig.data[0].text]
    assert written[6] == 99
    note = metrics.row_rounding_note(cm)
    assert "the 6s' 99%" in note and "the 3s'" not in note and "not 100%" in note

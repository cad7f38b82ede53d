"""The Confidence views: two-fold temperature evaluation, tables and figures (no browser)."""

import dataclasses
import math

import numpy as np
import pytest

from nnmath import fit_temperature, reliability, risk_coverage, softmax_t, temperature_nll
from views import calibration as cal


def overconfident(n=400, seed=3):
    """Logits of a network twice too sure: labels drawn from softmax(Z / 2)."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(0, 3, (n, 10))
    y = np.array([rng.choice(10, p=p) for p in softmax_t(Z, 2.0)])
    return Z, y


def test_split_halves_is_fixed_disjoint_and_complete():
    a, b = cal.split_halves(11, seed=0)
    assert len(a) == 5 and len(b) == 6
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(11))
    a2, b2 = cal.split_halves(11, seed=0)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert not np.array_equal(cal.split_halves(11, seed=1)[0], a)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        cal.split_halves(1)


def test_two_fold_temperature_reports_every_half_with_the_other_halfs_t():
    Z, y = overconfident()
    te = cal.two_fold_temperature(Z, y, seed=0)
    a, b = cal.split_halves(len(y), 0)
    t_a, t_b = te.temperatures
    assert t_a == fit_temperature(Z[a], y[a]) and t_b == fit_temperature(Z[b], y[b])
    # half B is scored with T fitted on A, half A with T fitted on B
    np.testing.assert_allclose(te.probs_after[b], softmax_t(Z[b], t_a))
    np.testing.assert_allclose(te.probs_after[a], softmax_t(Z[a], t_b))
    assert te.folds[0].fitted_on == "A" and te.folds[0].reported_on == "B"
    assert te.folds[0].nll_after == pytest.approx(temperature_nll(Z[b], y[b], t_a))
    # pooled "after" NLL: the size-weighted mean of the two held-out halves
    pooled = (te.folds[0].nll_after * len(b) + te.folds[1].nll_after * len(a)) / len(y)
    assert te.after.nll == pytest.approx(pooled)
    assert te.after.ece == pytest.approx(reliability(te.probs_after, y, cal.BINS).ece)
    # before: T = 1 on everything
    assert te.before.nll == pytest.approx(temperature_nll(Z, y))
    assert te.before.ece == pytest.approx(reliability(softmax_t(Z), y).ece)
    # the network was made twice too sure: both Ts near 2, and scaling helps on held-out images
    assert 1.5 < t_a < 2.6 and 1.5 < t_b < 2.6
    assert te.after.nll < te.before.nll and te.after.ece < te.before.ece
    assert te.after.accuracy == te.before.accuracy  # T never changes the argmax


def test_tables_and_sentence_say_what_the_numbers_are():
    Z, y = overconfident()
    te = cal.two_fold_temperature(Z, y)
    table = cal.scores_table(te)
    assert table["metric"].tolist() == ["ECE", "MCE", "NLL", "Brier"]
    row = table.set_index("metric").loc["NLL"]
    assert row["before"] == te.before.nll and row["after"] == te.after.nll
    assert row["change"] == pytest.approx(te.after.nll - te.before.nll, abs=1e-4)
    assert "log" in row["meaning"]
    folds = cal.folds_table(te)
    assert folds["T"].tolist() == list(te.temperatures)
    assert folds["T fitted on"].iloc[0].startswith("half A (200 images)")
    text = cal.temperature_sentence(te)
    assert f"{te.temperatures[0]:.3f}" in text and "overconfident" in text
    # an underconfident network: labels sharper than its logits
    rng = np.random.default_rng(0)
    Z2 = rng.normal(0, 1, (300, 10))
    y2 = np.array([rng.choice(10, p=p) for p in softmax_t(Z2, 0.3)])
    assert (
        "both below 1, so by the log loss the network is underconfident"
        in cal.temperature_sentence(cal.two_fold_temperature(Z2, y2))
    )
    assert "both above 1, so by the log loss the network is overconfident" in text
    # one T on each side of 1: no verdict
    mixed = dataclasses.replace(
        te,
        folds=(
            dataclasses.replace(te.folds[0], temperature=1.1),
            dataclasses.replace(te.folds[1], temperature=0.95),
        ),
    )
    # ... and it says it measures something else than the plain summary above it, which may lean
    assert "leans neither way on both halves" in cal.temperature_sentence(mixed)
    assert "is another measure" in cal.temperature_sentence(mixed)
    assert cal.explanations().count("\n- **") == 3 and "**Brier score**" in cal.explanations()


def test_reliability_figure_draws_accuracy_gap_diagonal_and_counts():
    P = np.array([[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
    y = np.array([0, 1, 0, 1, 1])
    rel = reliability(P, y, bins=5)
    fig = cal.reliability_figure(rel, title="before")
    names = [t.name for t in fig.data]
    assert names == ["accuracy", "gap to mean confidence", "perfect calibration", "images per bin"]
    acc, gap, diag, counts = fig.data
    np.testing.assert_allclose(acc.x, [0.1, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(acc.y, [0, 0, 0.5, 0.5, 1.0])  # empty bins draw nothing
    np.testing.assert_allclose(np.asarray(gap.base, float), acc.y)
    np.testing.assert_allclose(
        np.asarray(gap.base, float) + np.asarray(gap.y), [0, 0, 0.55, 0.75, 0.9]
    )
    assert list(diag.x) == [0, 1] and list(diag.y) == [0, 1]
    assert list(counts.y) == [0, 0, 2, 2, 1] and counts.yaxis == "y2"
    assert fig.layout.title.text.startswith("before<br>")
    assert "ECE 14.00% · MCE 25.00% · 5 images in 5 bins" in fig.layout.title.text
    assert "no images" in acc.customdata[0] and "2 images" in acc.customdata[2]
    fig.to_json()


def test_risk_coverage_figure_marks_the_threshold():
    P = np.array([[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
    y = np.array([0, 1, 0, 1, 1])
    rc = risk_coverage(P, y)
    fig = cal.risk_coverage_figure(rc, threshold=0.7)
    curve, point = fig.data
    np.testing.assert_allclose(curve.x, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(curve.y, [0, 0, 0, 1 / 3, 1 / 4, 2 / 5])
    assert curve.line.shape == "vh"
    assert point.x == (pytest.approx(0.6),) and point.y == (pytest.approx(1 / 3),)
    assert "60.0% answered" in point.name
    assert [t.name for t in cal.risk_coverage_figure(rc).data] == [curve.name]
    s = cal.answer_when_sure(rc, 0.7)
    assert (s.answered, s.abstained) == (3, 2) and math.isclose(s.accuracy, 2 / 3)


def test_every_metric_has_one_sentence():
    assert set(cal.EXPLAIN) == {"ECE", "MCE", "NLL", "Brier"}
    assert all(text.count(". ") == 0 and text.endswith(".") for text in cal.EXPLAIN.values())


def test_confidence_report_bundles_the_temperature_and_the_curve():
    Z, y = overconfident(100)
    report = cal.confidence_report(Z, y)
    assert report.temperature.temperatures == cal.two_fold_temperature(Z, y).temperatures
    np.testing.assert_array_equal(report.risk.coverage, risk_coverage(softmax_t(Z), y).coverage)


def test_the_metrics_words_are_the_glossarys():
    from views import glossary

    for name, key in cal.GLOSSARY_KEY.items():
        assert cal.EXPLAIN[name] == glossary.term(key).plain  # defined once, there


def test_written_differences_are_the_differences_of_the_written_numbers():
    """85.0% and 83.4% are 1.6 points apart on screen even when the shares differ by 1.64
    points; a change column beside 0.1234 and 0.1236 reads +0.0002, not the +0.0001 that
    rounding the unrounded 0.00012 gave."""
    from decimal import Decimal

    # 83.44% sure on average, 85.06% right: written 83.4% and 85.1% (unrounded gap 1.62 points)
    confidence = np.full(10_000, 0.8344)
    correct = np.arange(10_000) < 8506
    text = cal.plain_summary(confidence, correct)
    assert "**83.4% sure**" in text and "**right 85.1%**" in text
    assert "right 1.7 percentage points more often" in text, text
    Z, y = overconfident()
    te = cal.two_fold_temperature(Z, y)
    te = dataclasses.replace(
        te,
        before=dataclasses.replace(te.before, nll=0.12344),
        after=dataclasses.replace(te.after, nll=0.12356),
    )
    row = cal.scores_table(te).set_index("metric").loc["NLL"]
    written = [Decimal(f"{row[k]:.{cal.TABLE_DECIMALS}f}") for k in ("before", "after", "change")]
    assert written == [Decimal("0.1234"), Decimal("0.1236"), Decimal("0.0002")]
    for _, r in cal.scores_table(cal.two_fold_temperature(Z, y)).iterrows():
        b, a, c = (Decimal(f"{r[k]:.4f}") for k in ("before", "after", "change"))
        assert a - b == c

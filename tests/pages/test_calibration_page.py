"""Confidence on Evaluate and the confident mistakes on Mistakes (AppTest, embedded sample)."""

from __future__ import annotations

import numpy as np
import pytest

from nnmath import reliability
from tests.pages.test_pages import ITER, app, gallery, metric, reference, texts
from views import calibration, metrics


def chart(at, key: str) -> dict:
    """The plotly chart with widget key ``key``, decoded."""
    import json

    from tests.helpers import decode

    for c in at.get("plotly_chart"):
        if key in c.proto.id:  # Streamlit puts the widget key in the element id
            return decode(json.loads(c.proto.spec))
    raise AssertionError(f"no chart {key!r}")


def test_evaluate_confidence_section_shows_both_folds_and_their_metrics():
    at = app("pages/3_evaluate.py", iterations=ITER, tab="Confidence")
    _, ev = reference(int(ITER))
    te = calibration.two_fold_temperature(ev.logits, ev.y)
    assert "Can you trust the percentages?" in [h.value for h in at.subheader]
    # the plain sentence comes before any acronym
    said = texts(at)
    assert said.index(calibration.plain_summary(ev.confidence, ev.correct)) < said.index("NLL")
    t_a, t_b = te.temperatures
    assert f"T = {t_a:.3f} fitted on half A (applied to half B) and {t_b:.3f}" in texts(at)
    assert "fitted on one half" in texts(at)
    before = chart(at, "reliability_before")
    after = chart(at, "reliability_after")
    counts = reliability(ev.probs, ev.y, calibration.BINS).counts
    assert before["data"][3]["y"] == counts.tolist()  # the histogram below the diagram
    assert f"ECE {te.before.ece:.2%}" in before["layout"]["title"]["text"]
    assert f"ECE {te.after.ece:.2%}" in after["layout"]["title"]["text"]
    scores = next(d.value for d in at.dataframe if "meaning" in d.value.columns)
    assert scores["metric"].tolist() == ["ECE", "MCE", "NLL", "Brier"]
    np.testing.assert_allclose(scores["before"], list(te.before.as_dict().values()))
    np.testing.assert_allclose(scores["after"], list(te.after.as_dict().values()))
    # NLL as trained is the run's own dev loss (float32 logits, same definition)
    assert scores["before"][2] == pytest.approx(float(np.mean(ev.loss)), rel=1e-4)
    folds = next(d.value for d in at.dataframe if "T fitted on" in d.value.columns)
    np.testing.assert_allclose(folds["T"], [t_a, t_b])


def test_threshold_slider_gives_coverage_accuracy_and_i_dont_know():
    at = app("pages/3_evaluate.py", iterations=ITER, tab="Confidence")
    _, ev = reference(int(ITER))
    for threshold in (0.9, 0.5):
        at.slider(key="threshold").set_value(threshold).run()
        assert not at.exception
        answer = ev.confidence >= threshold
        n_answered = int(answer.sum())
        right = int((answer & ev.correct).sum())
        assert metric(at, "Coverage (answered)") == f"{n_answered / len(ev.y):.1%}"
        assert metric(at, "“I don't know”") == f"{len(ev.y) - n_answered:,}"
        if n_answered:
            assert metric(at, "Accuracy on the answered") == f"{right / n_answered:.1%}"
        assert (
            f'{n_answered:,} answered + {len(ev.y) - n_answered:,} "I don\'t know" = '
            f"{len(ev.y):,} dev images; of the answered, {right:,} right + "
            f"{n_answered - right:,} wrong." in texts(at)
        )
        curve = chart(at, "risk_coverage")
        marker = curve["data"][1]
        assert marker["x"] == [pytest.approx(n_answered / len(ev.y))]
        link = at.get("page_link")[-1].proto
        assert f"See the {n_answered - right:,} confident mistakes" in link.label
        assert f"min_conf={threshold:.2f}" in link.query_string
        assert "true=any" in link.query_string and "pred=any" in link.query_string


def test_mistakes_min_conf_from_the_url_filters_and_stays_in_the_url():
    _, ev = reference(int(ITER))
    expected = metrics.mistakes(ev, min_conf=0.5)
    assert 0 < len(expected) < len(metrics.mistakes(ev))
    at = app("pages/4_mistakes.py", iterations=ITER, min_conf="0.50", true="any", pred="any")
    assert f"**{len(expected):,} mistakes** — with confidence ≥ 50%" in texts(at)
    assert [i for i, _ in gallery(at)] == expected["index"].tolist()[:30]
    assert at.query_params["min_conf"] == "0.50"
    assert "true" not in at.query_params and "pred" not in at.query_params
    assert at.slider(key="filter_min_conf").value == 0.5
    # combined with a digit, and back to every mistake (0 leaves the URL)
    t = int(expected["true"].iloc[0])
    at.selectbox(key="filter_true").set_value(t).run()
    both = metrics.mistakes(ev, true=t, min_conf=0.5)
    assert f"**{len(both):,} mistakes** — true {t} with confidence ≥ 50%" in texts(at)
    at.slider(key="filter_min_conf").set_value(0.0).run()
    assert "min_conf" not in at.query_params
    assert f"**{len(metrics.mistakes(ev, true=t)):,} mistakes** — true {t}" in texts(at)


def test_a_pair_link_from_evaluate_resets_min_conf():
    at = app("pages/3_evaluate.py", iterations=ITER)
    pair_link = at.get("page_link")[0].proto
    assert "min_conf=0" in pair_link.query_string


def test_a_run_whose_logits_overflowed_has_no_confidence_section(monkeypatch):
    from ui import session

    real = metrics.evaluate

    def overflowed(*a, **k):
        ev = real(*a, **k)
        logits = ev.logits.copy()
        logits[0, 0] = np.inf
        return metrics.evaluation_from_probs(ev.probs, ev.y, logits)

    monkeypatch.setattr(metrics, "evaluate", overflowed)
    session.memory().clear()
    at = app("pages/3_evaluate.py", iterations=ITER, seed=5, tab="Confidence")
    assert "logits are not finite numbers" in texts(at)
    assert not [c for c in at.get("plotly_chart") if "reliability" in c.proto.id]

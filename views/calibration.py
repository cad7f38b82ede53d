"""Confidence: is "7, 98%" honest? Calibration of one run's dev predictions, and answering only
when sure — tables and plotly figures as plain functions (no Streamlit).

Temperature scaling is evaluated by two-fold cross-fitting, so no reported number was fitted on
itself: the dev set is split in two fixed halves (a seeded permutation); T fitted on half A scales
the logits of half B, T fitted on half B scales those of half A, and every "after" metric is
computed on the two held-out halves pooled (each image scored with the T of the other half).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnmath.calibration import (
    Reliability,
    RiskCoverage,
    Selective,
    brier,
    fit_temperature,
    reliability,
    risk_coverage,
    softmax_t,
    temperature_nll,
)
from views import figures, glossary
from views.format import shown_difference

BINS = 15
SPLIT_SEED = 0
COLORS = {
    "accuracy": "#1f77b4",
    "gap": "#d62728",
    "diagonal": "#555555",
    "count": "#9e9e9e",
    "curve": "#1f77b4",
    "threshold": "#d62728",
}

#: The metrics' entries in the glossary, where each is defined once (plain words + formula).
GLOSSARY_KEY = {"ECE": "ece", "MCE": "mce", "NLL": "nll", "Brier": "brier"}
#: One sentence per metric, shown beside the numbers.
EXPLAIN = {name: glossary.term(key).plain for name, key in GLOSSARY_KEY.items()}


@dataclass(frozen=True)
class Scores:
    """Calibration metrics of one set of probabilities."""

    ece: float
    mce: float
    nll: float
    brier: float
    accuracy: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"ECE": self.ece, "MCE": self.mce, "NLL": self.nll, "Brier": self.brier}


def _scores(probs: np.ndarray, y: np.ndarray, nll: float, bins: int) -> tuple[Scores, Reliability]:
    rel = reliability(probs, y, bins)
    correct = probs.argmax(axis=1) == y
    scores = Scores(rel.ece, rel.mce, nll, brier(probs, y), float(correct.mean()), len(y))
    return scores, rel


def split_halves(n: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Two fixed halves of ``range(n)`` (sorted indices; the first has n // 2), from a seeded
    permutation: the same halves in every session."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (two halves of one image or more), got {n!r}")
    perm = np.random.default_rng(seed).permutation(int(n))
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2 :])


@dataclass(frozen=True)
class Fold:
    fitted_on: str  # "A" or "B"
    reported_on: str
    n_fit: int
    n_reported: int
    temperature: float
    nll_before: float  # on the reported half
    nll_after: float


@dataclass(frozen=True)
class TemperatureEvaluation:
    """Before/after temperature scaling, every "after" number on held-out images."""

    folds: tuple[Fold, Fold]
    before: Scores  # T = 1 on the whole dev set (= the two halves pooled)
    after: Scores  # each half scaled with the T fitted on the other, pooled
    reliability_before: Reliability
    reliability_after: Reliability
    probs_after: np.ndarray  # (n, k) cross-fitted probabilities
    temperature_all: float  # T fitted on the whole dev set (shown for reference only)

    @property
    def temperatures(self) -> tuple[float, float]:
        return self.folds[0].temperature, self.folds[1].temperature


def two_fold_temperature(
    logits, y, *, seed: int = SPLIT_SEED, bins: int = BINS
) -> TemperatureEvaluation:
    """Fit T on each half of the dev set and score it on the other (see the module docstring)."""
    Z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if Z.ndim != 2 or Z.shape[0] != y.shape[0]:
        raise ValueError(
            f"logits must have shape (m, classes) with one row per label, got {Z.shape} for "
            f"{y.shape[0]} labels"
        )
    a, b = split_halves(len(y), seed)
    probs_after = np.empty_like(Z)
    folds = []
    nll_after_sum = 0.0
    for fit, rep, fit_name, rep_name in ((a, b, "A", "B"), (b, a, "B", "A")):
        t = fit_temperature(Z[fit], y[fit])
        probs_after[rep] = softmax_t(Z[rep], t)
        after = temperature_nll(Z[rep], y[rep], t)
        nll_after_sum += after * len(rep)
        folds.append(
            Fold(
                fit_name,
                rep_name,
                len(fit),
                len(rep),
                t,
                temperature_nll(Z[rep], y[rep]),
                after,
            )
        )
    before, rel_before = _scores(softmax_t(Z), y, temperature_nll(Z, y), bins)
    after, rel_after = _scores(probs_after, y, nll_after_sum / len(y), bins)
    return TemperatureEvaluation(
        folds=(folds[0], folds[1]),
        before=before,
        after=after,
        reliability_before=rel_before,
        reliability_after=rel_after,
        probs_after=probs_after,
        temperature_all=fit_temperature(Z, y),
    )


TABLE_DECIMALS = 4  # how the Evaluate page writes scores_table's numbers


def scores_table(te: TemperatureEvaluation) -> pd.DataFrame:
    """Rows ECE, MCE, NLL, Brier; columns before, after (cross-fitted T), change, meaning (one
    sentence; the page lists them as :func:`explanations`)."""
    before, after = te.before.as_dict(), te.after.as_dict()
    return pd.DataFrame(
        {
            "metric": list(before),
            "before": list(before.values()),
            "after": list(after.values()),
            # as the page writes the two (TABLE_DECIMALS): written 0.0306 and 0.0323, the change
            # is +0.0017 even when the unrounded ones differ by 0.00164
            "change": [
                float(shown_difference(after[k], before[k], f".{TABLE_DECIMALS}f")) for k in before
            ],
            "meaning": [EXPLAIN[k] for k in before],
        }
    )


def folds_table(te: TemperatureEvaluation) -> pd.DataFrame:
    """One row per fold: where T was fitted, its value, and the NLL of the other half."""
    return pd.DataFrame(
        [
            {
                "T fitted on": f"half {f.fitted_on} ({f.n_fit:,} images)",
                "T": f.temperature,
                "reported on": f"half {f.reported_on} ({f.n_reported:,} images)",
                "NLL before": f.nll_before,
                "NLL after": f.nll_after,
            }
            for f in te.folds
        ]
    )


def temperature_sentence(te: TemperatureEvaluation) -> str:
    """What the two Ts say, in words: both above 1, the network was overconfident; both below 1,
    underconfident; one on each side, neither consistently. Each verdict names its measure (the
    log loss of each half): :func:`plain_summary`, the Confidence tab's first sentence, compares
    average sureness with accuracy and may lean the other way (the notebook's run is
    "underconfident" by it and has one T on each side of 1)."""
    t_a, t_b = te.temperatures
    if t_a > 1 and t_b > 1:
        verdict = (
            "both above 1, so by the log loss the network is overconfident: dividing its logits by "
            "T softens its probabilities"
        )
    elif t_a < 1 and t_b < 1:
        verdict = (
            "both below 1, so by the log loss the network is underconfident: dividing its logits by "
            "T sharpens its probabilities"
        )
    else:
        verdict = (
            "one on each side of 1: one half's log loss is lowest with sharper probabilities, the "
            "other's with softer ones, so by this measure the network leans neither way on both "
            "halves (the tab's first sentence, sureness against accuracy on all dev images, is "
            "another measure)"
        )
    return (
        f"T = {t_a:.3f} fitted on half A (applied to half B) and {t_b:.3f} fitted on half B "
        f"(applied to half A): {verdict}. Temperature scaling never changes which digit is "
        f"predicted, so accuracy stays {te.before.accuracy:.1%}."
    )


def plain_summary(confidence, correct) -> str:
    """One sentence, no acronym: how sure the network is on average against how often it is
    right (``confidence``: probability of each predicted digit; ``correct``: whether it was right)."""
    sure = float(np.mean(confidence))
    right = float(np.mean(correct))
    gap = shown_difference(sure, right, ".1%")  # in points, as the two written shares give it
    if abs(gap) < 1:
        verdict = "its percentages can be taken at their word, on average"
    elif gap > 0:
        verdict = (
            f"it is overconfident, promising {abs(gap):.1f} percentage points more than it delivers"
        )
    else:
        verdict = (
            f"it is underconfident, right {abs(gap):.1f} percentage points more often than "
            "it claims"
        )
    return (
        f"On the dev images the network is on average **{sure:.1%} sure** of its answer and "
        f"**right {right:.1%}** of the time: {verdict}."
    )


def explanations() -> str:
    """The metrics, one sentence each, as a markdown list."""
    return "\n".join(
        f"- **{glossary.term(GLOSSARY_KEY[name]).name}**: {text}" for name, text in EXPLAIN.items()
    )


# ---- figures ------------------------------------------------------------------------------------
def _layout(fig: go.Figure, height: int, title: str | None) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=60, r=20, t=50 if title else 20, b=50),
        title=dict(text=title, x=0.01, xanchor="left") if title else None,
        font=dict(size=13),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return figures.white(fig)


def reliability_figure(rel: Reliability, title: str | None = None, height: int = 480) -> go.Figure:
    """The reliability diagram: accuracy per confidence bin (bars) against the diagonal (perfect
    calibration), the gap to each bin's mean confidence in red, and below it the number of
    images per bin. Empty bins draw nothing."""
    B = len(rel.counts)
    centres = (rel.edges[:-1] + rel.edges[1:]) / 2
    full = rel.counts > 0
    acc = np.where(full, rel.accuracy, np.nan)
    conf = np.where(full, rel.confidence, np.nan)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06
    )
    hover = [
        f"confidence {lo:.0%}–{hi:.0%}: {n:,} images<br>accuracy {a:.1%}, mean confidence "
        f"{c:.1%}<br>gap {c - a:+.1%}"
        if n
        else f"confidence {lo:.0%}–{hi:.0%}: no images"
        for lo, hi, n, a, c in zip(rel.edges[:-1], rel.edges[1:], rel.counts, acc, conf)
    ]
    fig.add_trace(
        go.Bar(
            x=centres,
            y=np.nan_to_num(acc),
            width=1 / B * 0.95,
            name="accuracy",
            marker_color=COLORS["accuracy"],
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    # The gap: a bar from the accuracy up (or down) to the mean confidence.
    fig.add_trace(
        go.Bar(
            x=centres,
            y=np.nan_to_num(conf - acc),
            base=np.nan_to_num(acc),
            width=1 / B * 0.95,
            name="gap to mean confidence",
            marker=dict(color="rgba(214,39,40,0.35)", line=dict(color=COLORS["gap"], width=1)),
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfect calibration",
            line=dict(color=COLORS["diagonal"], dash="dash"),
            hoverinfo="skip",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=centres,
            y=rel.counts,
            width=1 / B * 0.95,
            name="images per bin",
            marker_color=COLORS["count"],
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    _layout(fig, height, title)
    fig.update_layout(barmode="overlay", margin=dict(t=70))
    fig.update_xaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    fig.update_xaxes(
        range=[0, 1], tickformat=".0%", title_text="confidence (largest probability)", row=2, col=1
    )
    fig.update_yaxes(range=[0, 1], tickformat=".0%", title_text="accuracy", row=1, col=1)
    fig.update_yaxes(title_text="images", row=2, col=1)
    summary = f"ECE {rel.ece:.2%} · MCE {rel.mce:.2%} · {rel.n:,} images in {B} bins"
    fig.update_layout(
        title=dict(
            text=f"{title}<br><span style='font-size:12px'>{summary}</span>" if title else summary,
            x=0.01,
            xanchor="left",
        ),
        # Inside the top-left corner of the diagram: high accuracy at low confidence, rarely drawn.
        legend=dict(
            orientation="v",
            x=0.01,
            y=0.99,
            xanchor="left",
            yanchor="top",
            bgcolor="rgba(128,128,128,0.25)",  # grey veil: the theme's text reads on it, light or dark
        ),
    )
    return fig


def risk_coverage_figure(
    rc: RiskCoverage, threshold: float | None = None, height: int = 380
) -> go.Figure:
    """Risk (share of wrong answers among those given) against coverage (share of images
    answered), answering the most confident images first; the slider's threshold as a point."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([[0.0], rc.coverage]),
            y=np.concatenate([[rc.risk[0]], rc.risk]),
            mode="lines",
            line=dict(color=COLORS["curve"], shape="vh"),
            name=f"risk–coverage (area {rc.aurc:.4f})",
            customdata=np.concatenate([[rc.thresholds[0]], rc.thresholds]),
            hovertemplate="answer when confidence ≥ %{customdata:.1%}<br>%{x:.1%} answered, "
            "%{y:.1%} of them wrong<extra></extra>",
        )
    )
    if threshold is not None:
        s = rc.at(threshold)
        risk = 1 - s.accuracy if s.answered else 0.0
        fig.add_trace(
            go.Scatter(
                x=[s.coverage],
                y=[risk],
                mode="markers",
                marker=dict(color=COLORS["threshold"], size=12, symbol="diamond"),
                name=f"threshold {threshold:.0%}: {s.coverage:.1%} answered, {risk:.1%} wrong",
                hovertemplate="threshold %{text}<extra></extra>",
                text=[f"{threshold:.0%}"],
            )
        )
    fig.update_layout(
        xaxis=dict(title="coverage (share of images answered)", tickformat=".0%", range=[0, 1]),
        yaxis=dict(title="risk (share of answers wrong)", tickformat=".1%", rangemode="tozero"),
    )
    return _layout(fig, height, None)


@dataclass(frozen=True)
class ConfidenceReport:
    """What the Evaluate page's Confidence section shows, from one call."""

    temperature: TemperatureEvaluation
    risk: RiskCoverage  # of the uncalibrated probabilities: what the app shows as "98%"


def confidence_report(
    logits, y, probs=None, *, seed: int = SPLIT_SEED, bins: int = BINS
) -> ConfidenceReport:
    """Temperature evaluation from the ``logits``; the risk-coverage curve of ``probs`` (the
    probabilities the app shows, so its counts match the Mistakes page), else softmax(logits)."""
    te = two_fold_temperature(logits, y, seed=seed, bins=bins)
    return ConfidenceReport(te, risk_coverage(softmax_t(logits) if probs is None else probs, y))


def answer_when_sure(rc: RiskCoverage, threshold: float) -> Selective:
    """The numbers behind the slider: answered, "I don't know", coverage, accuracy."""
    return rc.at(threshold)

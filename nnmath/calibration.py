"""Calibration: how far the network's confidence can be trusted.

``probs`` is (m, k) class probabilities (rows sum to 1), ``y`` (m,) true classes 0..k-1, ``logits``
(m, k) the values softmax turns into ``probs`` (Z2 in the package notation). Everything is computed
in float64 whatever the input dtype. Top-label view throughout: the *confidence* of an image is its
largest probability, and it is *correct* when that class (argmax, the first on ties) is ``y``.

    reliability   bins of confidence: count, accuracy and mean confidence per bin, ECE and MCE
    nll           mean -log p_y                                  (0 = certain and right, inf if p_y = 0)
    brier         mean sum_k (p_k - onehot(y)_k)^2                (0 to 2)
    fit_temperature   T > 0 minimising the mean NLL of softmax(logits / T)
    risk_coverage     answer only when the confidence is >= a threshold: coverage, accuracy, AURC

Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural Networks" (ICML 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import check_int

# Rows of probabilities may miss 1 by float32 rounding (about 1e-7 per row); anything further off is
# not a probability row.
ROW_SUM_TOLERANCE = 1e-3
# fit_temperature searches T in this range: outside it, the NLL is still falling at the edge (e.g.
# every image right: the NLL goes down as T -> 0), and the edge is returned.
T_BOUNDS = (1e-2, 1e2)


# ---- validation ---------------------------------------------------------------------------------
def _as_matrix(values, name: str) -> np.ndarray:
    """(m, classes) finite float64, or a ValueError naming ``name`` and the first bad row."""
    A = np.asarray(values, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (m, classes) with at least one row and one class, "
            f"got shape {np.shape(values)}"
        )
    if not np.isfinite(A).all():
        row = int(np.flatnonzero(~np.isfinite(A).all(axis=1))[0])
        raise ValueError(f"{name} must be finite, got {A[row].tolist()} in row {row}")
    return A


def _as_probs(probs, name="probs") -> np.ndarray:
    P = _as_matrix(probs, name)
    bad = np.flatnonzero(((P < 0) | (P > 1)).any(axis=1))
    if bad.size:
        raise ValueError(
            f"{name} must lie in [0, 1], got {P[bad[0]].tolist()} in row {int(bad[0])}"
        )
    sums = P.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > ROW_SUM_TOLERANCE)
    if off.size:
        raise ValueError(
            f"{name} rows must sum to 1 (within {ROW_SUM_TOLERANCE:g}), row {int(off[0])} "
            f"sums to {sums[off[0]]!r}"
        )
    return P


def _as_logits(logits, name="logits") -> np.ndarray:
    return _as_matrix(logits, name)


def _as_labels(y, m: int, classes: int, name="y") -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (m,):
        raise ValueError(f"{name} must have one label per row: shape ({m},), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or np.any(y != np.round(y)):
            raise ValueError(f"{name} must hold integer labels 0..{classes - 1}, got {y.tolist()}")
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels 0..{classes - 1}, got dtype {y.dtype}")
    bad = np.flatnonzero((y < 0) | (y >= classes))
    if bad.size:
        raise ValueError(
            f"{name} must hold labels 0..{classes - 1}, got {y[bad[0]]} at index {int(bad[0])}"
        )
    return y.astype(np.int64)


def _top_label(P: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(confidence (m,), correct (m,) bool) of probabilities already validated."""
    pred = P.argmax(axis=1)  # (m,)
    return P[np.arange(len(y)), pred], pred == y


# ---- reliability --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reliability:
    """Confidence bins of one set of predictions. Bin k holds the confidences c with
    k/B < c <= (k+1)/B (c = 0 goes in bin 0). Empty bins have count 0 and NaN accuracy and
    confidence; they take no part in ECE or MCE."""

    edges: np.ndarray  # (B + 1,) k / B
    counts: np.ndarray  # (B,) int, images per bin
    accuracy: np.ndarray  # (B,) share of them predicted right (NaN when empty)
    confidence: np.ndarray  # (B,) their mean confidence (NaN when empty)
    ece: float  # sum_b (n_b / n) |acc_b - conf_b|
    mce: float  # max_b |acc_b - conf_b| over the non-empty bins

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def gap(self) -> np.ndarray:
        """(B,) accuracy - confidence: negative = overconfident (NaN when empty)."""
        return self.accuracy - self.confidence


def bin_index(confidence, bins: int) -> np.ndarray:
    """Bin of each confidence: k such that k/B < c <= (k+1)/B, and 0 for c = 0. Compared against
    the float edges k/B themselves, so a confidence equal to an edge lands in the bin below it."""
    edges = np.arange(bins + 1) / bins  # (B + 1,)
    k = np.searchsorted(edges, np.asarray(confidence, dtype=np.float64), side="left") - 1
    return np.clip(k, 0, bins - 1)


def reliability(probs, y, bins: int = 15) -> Reliability:
    """Top-label reliability of ``probs`` against the labels ``y`` in ``bins`` equal-width bins."""
    bins = check_int("bins", bins, 1)
    P = _as_probs(probs)
    y = _as_labels(y, P.shape[0], P.shape[1])
    conf, correct = _top_label(P, y)
    k = bin_index(conf, bins)  # (m,)
    counts = np.bincount(k, minlength=bins)  # (B,)
    right = np.bincount(k, weights=correct.astype(np.float64), minlength=bins)
    conf_sum = np.bincount(k, weights=conf, minlength=bins)
    full = counts > 0
    accuracy = np.full(bins, np.nan)
    confidence = np.full(bins, np.nan)
    accuracy[full] = right[full] / counts[full]
    confidence[full] = conf_sum[full] / counts[full]
    gaps = np.abs(accuracy[full] - confidence[full])
    ece = float(np.sum(counts[full] / counts.sum() * gaps))
    return Reliability(
        edges=np.arange(bins + 1) / bins,
        counts=counts.astype(np.int64),
        accuracy=accuracy,
        confidence=confidence,
        ece=ece,
        mce=float(gaps.max()),
    )


# ---- proper scores ------------------------------------------------------------------------------
def nll(probs, y) -> float:
    """Mean negative log-likelihood of the true class, -mean(log p_y). inf when some p_y is
    exactly 0 (the network ruled the right answer out); use :func:`temperature_nll` on logits
    for a finite value."""
    P = _as_probs(probs)
    y = _as_labels(y, P.shape[0], P.shape[1])
    p_true = P[np.arange(len(y)), y]
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(p_true)))


def brier(probs, y) -> float:
    """Mean over images of sum_k (p_k - onehot(y)_k)^2: 0 for certain and right, 2 for certain
    and wrong."""
    P = _as_probs(probs)
    y = _as_labels(y, P.shape[0], P.shape[1])
    D = P.copy()  # (m, k)
    D[np.arange(len(y)), y] -= 1
    return float(np.mean(np.sum(D * D, axis=1)))


# ---- temperature scaling ------------------------------------------------------------------------
def _log_softmax(Z: np.ndarray) -> np.ndarray:
    shifted = Z - Z.max(axis=1, keepdims=True)  # (m, k), max 0 per row
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_t(logits, T: float = 1.0) -> np.ndarray:
    """softmax(logits / T) in float64 (row max subtracted first)."""
    T = _check_t(T)
    return np.exp(_log_softmax(_as_logits(logits) / T))


def temperature_nll(logits, y, T: float = 1.0) -> float:
    """Mean NLL of softmax(logits / T), from the logits (log-sum-exp), so always finite."""
    T = _check_t(T)
    Z = _as_logits(logits)
    y = _as_labels(y, Z.shape[0], Z.shape[1])
    return float(-np.mean(_log_softmax(Z / T)[np.arange(len(y)), y]))


def _check_t(T) -> float:
    try:
        T = float(T)
    except (TypeError, ValueError):
        raise ValueError(f"T must be a number > 0, got {T!r}") from None
    if not (math.isfinite(T) and T > 0):
        raise ValueError(f"T must be > 0, got {T}")
    return T


def fit_temperature(logits, y, *, bounds: tuple[float, float] = T_BOUNDS) -> float:
    """The temperature T > 0 minimising the mean NLL of softmax(logits / T).

    With b = 1/T the NLL is f(b) = mean_i [logsumexp_k(b z_ik) - b z_iy], convex in b, with
    f'(b) = mean_i [E_p(b)[z_i] - z_iy] (expected logit minus the true one) increasing in b. The
    minimum is where f'(b) = 0: found by bisection on log b over 1/bounds, to a relative width of
    1e-12 (well inside the 1e-4 asked). When f' has one sign over the whole range, the NLL keeps
    falling towards that end and the bound there is returned (every image right and separable:
    the lower bound; true logits below the mean: the upper one).
    """
    lo_t, hi_t = (float(b) for b in bounds)
    if not (0 < lo_t < hi_t and math.isfinite(hi_t)):
        raise ValueError(f"bounds must be 0 < low < high < inf, got {bounds!r}")
    Z = _as_logits(logits)
    y = _as_labels(y, Z.shape[0], Z.shape[1])
    z_true = Z[np.arange(len(y)), y]  # (m,)

    def slope(b: float) -> float:  # f'(b)
        P = np.exp(_log_softmax(b * Z))  # (m, k)
        return float(np.mean(np.sum(P * Z, axis=1) - z_true))

    lo, hi = math.log(1 / hi_t), math.log(1 / lo_t)  # log b
    if slope(math.exp(lo)) >= 0:
        return hi_t
    if slope(math.exp(hi)) <= 0:
        return lo_t
    while hi - lo > 1e-12:
        mid = 0.5 * (lo + hi)
        if slope(math.exp(mid)) < 0:
            lo = mid
        else:
            hi = mid
    return float(1 / math.exp(0.5 * (lo + hi)))


# ---- answering only when sure -------------------------------------------------------------------
@dataclass(frozen=True)
class RiskCoverage:
    """Answer an image only when its confidence is >= a threshold. One entry per distinct
    confidence, highest first: answering every image at least that confident."""

    thresholds: np.ndarray  # (t,) distinct confidences, descending
    answered: np.ndarray  # (t,) int, images answered at that threshold
    coverage: np.ndarray  # (t,) answered / n
    accuracy: np.ndarray  # (t,) share right among the answered
    aurc: float  # area under risk (1 - accuracy) vs coverage, a step curve (lower is better)
    confidence: np.ndarray  # (n,) every image's confidence
    correct: np.ndarray  # (n,) bool

    @property
    def risk(self) -> np.ndarray:
        return 1 - self.accuracy

    @property
    def n(self) -> int:
        return len(self.confidence)

    def at(self, threshold: float) -> Selective:
        """What answering only when the confidence is >= ``threshold`` gives."""
        threshold = float(threshold)
        if not (0 <= threshold <= 1):
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        answer = self.confidence >= threshold
        answered = int(answer.sum())
        right = int(self.correct[answer].sum())
        return Selective(
            threshold=threshold,
            answered=answered,
            abstained=self.n - answered,
            right=right,
            coverage=answered / self.n,
            accuracy=right / answered if answered else float("nan"),
        )


@dataclass(frozen=True)
class Selective:
    threshold: float
    answered: int
    abstained: int  # "I don't know"
    right: int  # right answers among the answered
    coverage: float  # answered / n
    accuracy: float  # right / answered (NaN when nothing is answered)


def risk_coverage(probs, y) -> RiskCoverage:
    """The risk-coverage curve of ``probs`` against ``y``.

    Sorting the n images by confidence, highest first, and answering the first j of them has
    risk r_j = (mistakes among them) / j at coverage j / n. Images of equal confidence are
    answered together, so the curve has one point per distinct confidence. AURC is the area
    under this step curve: sum over the points of risk x (coverage gained there); without ties
    it is the mean of r_1 .. r_n.
    """
    P = _as_probs(probs)
    y = _as_labels(y, P.shape[0], P.shape[1])
    conf, correct = _top_label(P, y)
    n = len(y)
    order = np.argsort(-conf, kind="stable")
    c_sorted = conf[order]
    right_cum = np.cumsum(correct[order])  # (n,) right answers among the first j + 1
    # The last index of each run of equal confidences: where the next one differs, and the end.
    last = np.flatnonzero(np.append(c_sorted[1:] != c_sorted[:-1], True))
    answered = last + 1
    accuracy = right_cum[last] / answered
    coverage = answered / n
    gained = np.diff(coverage, prepend=0.0)
    aurc = float(np.sum((1 - accuracy) * gained))
    return RiskCoverage(
        thresholds=c_sorted[last],
        answered=answered.astype(np.int64),
        coverage=coverage,
        accuracy=accuracy,
        aurc=aurc,
        confidence=conf,
        correct=correct,
    )

"""What a trained network gets right and wrong: pure functions of labels and probabilities.

``probs`` is (m, 10) (rows sum to 1), ``y`` is (m,) true digits, ``pred`` = argmax of ``probs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from nnmath import CLASSES
from views.format import as_shown, listed


@dataclass(frozen=True)
class Evaluation:
    """Predictions of one run on one labelled set (read-only arrays)."""

    probs: np.ndarray  # (m, 10)
    y: np.ndarray  # (m,) true digit
    pred: np.ndarray  # (m,) predicted digit
    confidence: np.ndarray  # (m,) probability of the predicted digit
    loss: np.ndarray  # (m,) cross-entropy of the true digit, -log p_true
    logits: np.ndarray | None = None  # (m, 10) Z2, what softmax turned into probs (calibration)

    @property
    def correct(self) -> np.ndarray:
        return self.pred == self.y

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct)) if len(self.y) else float("nan")


def evaluation_from_probs(
    probs: np.ndarray, y: np.ndarray, logits: np.ndarray | None = None
) -> Evaluation:
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    pred = probs.argmax(axis=1)
    rows = np.arange(len(y))
    confidence = probs[rows, pred]
    loss = -np.log(np.clip(probs[rows, y], 1e-12, 1.0))
    arrays = dict(probs=probs, y=y, pred=pred, confidence=confidence, loss=loss)
    if logits is not None:
        arrays["logits"] = np.asarray(logits, dtype=np.float64)
    for a in arrays.values():
        a.flags.writeable = False
    return Evaluation(**arrays)


def evaluate(params, dataset, *, activation: str = "relu", block_rows: int = 4096) -> Evaluation:
    """Run ``params`` (nnmath.Params) on a labelled data.Dataset with the run's hidden
    ``activation``: probabilities and logits (nnmath.predict, in blocks of ``block_rows``)."""
    import nnmath

    logits, probs = nnmath.predict(params, dataset.X, activation=activation, block_rows=block_rows)
    return evaluation_from_probs(probs, dataset.labels, logits)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """(classes, classes) int counts: row = true digit, column = predicted digit."""
    y = np.asarray(y, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    return np.bincount(y * classes + pred, minlength=classes * classes).reshape(classes, classes)


def normalise_rows(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its total (share of each true digit predicted as each digit); 0 rows stay 0."""
    cm = np.asarray(cm, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def row_rounding_note(cm: np.ndarray) -> str:
    """What a reader adding up a row of the normalised confusion matrix gets, when it is not
    100%: each cell is written as a whole percent ("<1%" under half a percent, counted as 0),
    so a row of 113 images may read 99% or 101%. '' when every row adds up as written."""
    share = normalise_rows(cm)
    totals = np.asarray(cm).sum(axis=1)
    off = []
    for t in range(share.shape[0]):
        if totals[t] == 0:
            continue
        written = sum(int(as_shown(v, ".0%")) for v in share[t] if v >= 0.005)
        if written != 100:
            off.append(f"the {t}s' {written}%")
    if not off:
        return ""
    return (
        "Each share is rounded on its own: written whole (a “<1%” as 0), the rows add up to "
        f"{listed(off)}, not 100% (unrounded, every row is 100%; a cell's hover has its count)."
    )


def per_class(cm: np.ndarray) -> pd.DataFrame:
    """Per digit: precision, recall, F1 and support (0 where undefined, as scikit-learn's
    zero_division=0)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return pd.DataFrame(
        {
            "digit": np.arange(len(tp)),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": actual.astype(np.int64),
        }
    )


def confused_pairs(cm: np.ndarray, top: int = 10) -> pd.DataFrame:
    """The most frequent mistakes: true digit, predicted digit, count, and the share of that true
    digit's images that went there. Largest count first (ties: lower true, then lower predicted)."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    t, p = np.divmod(np.arange(k * k), k)
    off = t != p
    t, p = t[off], p[off]
    counts = cm[t, p]
    keep = counts > 0
    t, p, counts = t[keep], p[keep], counts[keep]
    order = np.lexsort((p, t, -counts))[:top]
    totals = cm.sum(axis=1)
    return pd.DataFrame(
        {
            "true": t[order],
            "predicted": p[order],
            "count": counts[order].astype(np.int64),
            "share": counts[order] / np.maximum(totals[t[order]], 1),
        }
    ).reset_index(drop=True)


SORTS = {"confidence": "most confident mistakes first", "loss": "highest loss first"}


def mistakes(
    ev: Evaluation,
    true: int | None = None,
    pred: int | None = None,
    sort: str = "confidence",
    min_conf: float | None = None,
) -> pd.DataFrame:
    """The misclassified images (optionally only true digit ``true`` / predicted ``pred`` / with a
    confidence of at least ``min_conf``: the confident mistakes), as a table indexed by position in
    the evaluated set: true, pred, confidence, p_true, loss."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    mask = ev.pred != ev.y
    if true is not None:
        mask &= ev.y == true
    if pred is not None:
        mask &= ev.pred == pred
    if min_conf is not None:
        if not 0 <= min_conf <= 1:
            raise ValueError(f"min_conf must be in [0, 1], got {min_conf}")
        mask &= ev.confidence >= min_conf
    idx = np.flatnonzero(mask)
    table = pd.DataFrame(
        {
            "index": idx,
            "true": ev.y[idx],
            "pred": ev.pred[idx],
            "confidence": ev.confidence[idx],
            "p_true": ev.probs[idx, ev.y[idx]],
            "loss": ev.loss[idx],
        }
    )
    key = "confidence" if sort == "confidence" else "loss"
    # Stable sort, descending, ties by position: the same order in every session.
    table = table.sort_values([key, "index"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


def confidence_split(ev: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    """Confidence of the right answers and of the wrong ones."""
    return ev.confidence[ev.correct], ev.confidence[~ev.correct]


class MistakesPage(NamedTuple):
    """One page of the Mistakes gallery."""

    table: pd.DataFrame  # every matching mistake (see mistakes())
    rows: pd.DataFrame  # the rows of this page
    images: np.ndarray  # (k, 28, 28) their images
    captions: list[str]  # "true→pred confidence" under each tile
    hover: list[str]  # the full story of each tile
    pages: int  # number of pages


def mistakes_page(
    ev: Evaluation,
    images: np.ndarray,
    *,
    true: int | None,
    pred: int | None,
    sort: str,
    page: int,
    per_page: int,
    min_conf: float | None = None,
) -> MistakesPage:
    """Page ``page`` (from 1, clamped) of the mistakes of ``ev`` (only those at least
    ``min_conf`` confident, when given); ``images`` are the evaluated set's images, in order."""
    table = mistakes(ev, true=true, pred=pred, sort=sort, min_conf=min_conf)
    pages = max(1, -(-len(table) // per_page))
    page = min(max(page, 1), pages)
    rows = table.iloc[(page - 1) * per_page : page * per_page]
    captions = [
        f"{t}→{p} {c:.0%}" for t, p, c in zip(rows["true"], rows["pred"], rows["confidence"])
    ]
    hover = [
        f"dev image {i}: true {t}, predicted {p} with {c:.1%} (p(true) {pt:.1%}, loss {loss:.2f})"
        for i, t, p, c, pt, loss in zip(
            rows["index"],
            rows["true"],
            rows["pred"],
            rows["confidence"],
            rows["p_true"],
            rows["loss"],
        )
    ]
    return MistakesPage(table, rows, images[rows["index"].to_numpy()], captions, hover, pages)

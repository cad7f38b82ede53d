"""The coach after a run: what happened, in one or two plain sentences, and the next step.

Pure functions of the run's own result (its history, status, settings and, when known, how many
hidden units died). The rules, checked in this order, the first that holds speaks:

    diverged                       -> a smaller alpha
    many dead units (ReLU)         -> another initialisation (or, at a large alpha, a smaller one)
    stuck near 10% (chance)        -> a larger alpha
    train and dev accuracy apart   -> weight decay (up to 10 units), else fewer hidden units
    still improving fast at the end -> continue: twice the iterations

Nothing stands out -> no advice (None). The thresholds are below, each with why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine.config import ALPHAS, MAX_ITERATIONS, Settings
from nnmath import Status
from views.format import pct as _pct
from views.format import shown_difference

DEAD_SHARE = 0.3  # a third of the hidden layer silent for every image: it has lost real capacity
LARGE_ALPHA = 2.0  # from here a large step is what kills units (the sample: 9 of 10 at alpha 2)
STUCK_ACCURACY = 0.2  # chance is 10%; below 20% the network has learned next to nothing
GAP = 0.08  # train minus dev accuracy: the notebook's run ends 2 points apart, 8 is drifting
NOTEBOOK_HIDDEN = 10  # up to the notebook's width, regularise rather than take units away
WEIGHT_DECAY = 0.01  # on 500 sample images at hidden 10: the gap 20.3 -> 16.7 points, dev +2
IMPROVING = 0.02  # dev accuracy gained over the last fifth of the run (the notebook's: +1.4)
LAST = 0.2  # "the end of the run": its last fifth
MIN_ITERATIONS = 10  # shorter runs have too little history to judge


def _apart(high: float, low: float) -> str:
    """``high`` − ``low`` in points as a reader computes it from the two written by ``_pct``
    (87.2% − 85.0% = 2.2, whatever their unrounded difference)."""
    return f"{shown_difference(high, low, '.1%'):.1f}"


@dataclass(frozen=True)
class Advice:
    rule: str  # "diverged", "dead units", "stuck", "apart", "improving"
    said: str  # what happened, plain words
    step: str  # the next step, as a link's label
    next: Settings  # the settings that set the next step up (a permalink of them)
    changes: tuple[str, ...]  # the settings it changes (a teacher's locked ones cannot be)


def _advice(rule: str, said: str, step: str, settings: Settings, **change) -> Advice:
    return Advice(rule, said, step, replace(settings, **change), tuple(change))


def _alpha(alpha: float, factor: float) -> float:
    """The alpha of the app's list nearest to alpha x factor (on a log scale)."""
    target = math.log(alpha * factor)
    return min(ALPHAS, key=lambda a: abs(math.log(a) - target))


def dead_units(params, X, *, activation: str = "relu", block_rows: int = 4096) -> int | None:
    """Hidden units whose ReLU is 0 for every image of X (the training set), or None when the
    activation is not ReLU (only a ReLU unit can die)."""
    if activation != "relu":
        return None
    from nnmath.probe import hidden_activations

    alive = np.zeros(params.hidden, bool)
    for r0 in range(0, X.shape[0], block_rows):
        alive |= (hidden_activations(params, X[r0 : r0 + block_rows]) > 0).any(axis=0)
    return int((~alive).sum())


def advise(
    result, settings: Settings, *, dead: int | None = None, max_iterations: int = MAX_ITERATIONS
) -> Advice | None:
    """The first rule (module docstring) that this run shows, or None when nothing stands out.
    ``result`` is the run's nnmath.TrainResult, ``settings`` those that named it."""
    h = result.history
    n = len(h.loss)
    if result.status == Status.STOPPED:
        return None  # stopped by its learner: Train already offers to continue it
    if result.status == Status.DIVERGED:
        alpha = _alpha(settings.alpha, 0.1)
        if alpha >= settings.alpha:
            return None  # already the smallest alpha on offer
        return _advice(
            "diverged",
            f"The loss blew up at iteration {result.diverged_at:,}: with alpha {settings.alpha:g} "
            "each step overshoots, so training stopped there.",
            f"Train with a smaller alpha ({alpha:g})",
            settings,
            alpha=alpha,
        )
    if n < MIN_ITERATIONS:
        return None
    hidden = settings.hidden
    if dead is not None and hidden > 0 and dead >= DEAD_SHARE * hidden:
        said = (
            f"{dead} of {hidden} hidden units are dead: they output 0 for every training image, "
            "so they get no gradient and never learn again."
        )
        if settings.alpha >= LARGE_ALPHA:
            alpha = _alpha(settings.alpha, 0.1)
            return _advice(
                "dead units",
                said + f" Steps as large as alpha {settings.alpha:g} push units there.",
                f"Train with a smaller alpha ({alpha:g})",
                settings,
                alpha=alpha,
            )
        init = "uniform" if settings.init == "he" else "he"
        return _advice(
            "dead units",
            said + " Another starting point may keep them alive.",
            f"Train with the {init} initialisation",
            settings,
            init=init,
        )
    # the final numbers are the result's (what the pages show), the trend the history's
    has_dev = not math.isnan(result.dev_accuracy)
    final = result.dev_accuracy if has_dev else result.train_accuracy
    acc = h.dev_accuracy if has_dev else h.train_accuracy
    which = "dev" if has_dev else "train"
    if final <= STUCK_ACCURACY:
        alpha = _alpha(settings.alpha, 10)
        if alpha > settings.alpha:
            return _advice(
                "stuck",
                f"{which.capitalize()} accuracy is {_pct(final)} after {result.iterations:,} "
                "iterations, "
                f"barely better than guessing (10%): with alpha {settings.alpha:g} each step "
                "is too small to get anywhere.",
                f"Train with a larger alpha ({alpha:g})",
                settings,
                alpha=alpha,
            )
    if has_dev:
        gap = result.train_accuracy - result.dev_accuracy
        said = (
            f"Train accuracy {_pct(result.train_accuracy)}, dev accuracy "
            f"{_pct(result.dev_accuracy)}: {_apart(result.train_accuracy, result.dev_accuracy)} "
            "points apart. The network is learning "
            "the training images' details rather than digits (overfitting)."
        )
        if gap >= GAP and hidden <= NOTEBOOK_HIDDEN and settings.weight_decay < WEIGHT_DECAY:
            return _advice(
                "apart",
                said,
                f"Train with weight decay {WEIGHT_DECAY:g} (a penalty on large weights)",
                settings,
                weight_decay=WEIGHT_DECAY,
            )
        if gap >= GAP and hidden > 1:
            fewer = max(1, hidden // 2)
            return _advice(
                "apart", said, f"Train with fewer hidden units ({fewer})", settings, hidden=fewer
            )
    start = n - max(1, int(n * LAST))  # the history's row of the last fifth's start
    gained = final - acc[start]
    if gained >= IMPROVING and result.iterations < max_iterations:
        more = min(2 * result.iterations, max_iterations)
        return _advice(
            "improving",
            f"{which.capitalize()} accuracy was still rising at the end: "
            f"+{_apart(final, acc[start])} points over the last {result.iterations - start:,} "
            f"iterations, from {_pct(acc[start])} at iteration {start:,} to {_pct(final)}.",
            f"Continue to {more:,} iterations",
            settings,
            iterations=more,
        )
    return None

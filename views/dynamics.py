"""Learning dynamics of one run, from its snapshots: when each digit is learned, the confusion
matrix at any snapshot, hidden units that died, and a 2-D map of the dev images' hidden layer.

:func:`dynamics` does all the forward passes at once (nnmath.probe.snapshot_passes: one matmul
per block of rows for every snapshot); the rest are plain functions of its result. No Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from nnmath import CLASSES
from nnmath.probe import hidden_activations, snapshot_passes
from views import figures
from views.compare_figures import RUN_COLOURS
from views.metrics import confusion_matrix

DIGIT_COLORS = RUN_COLOURS  # one qualitative colour per digit, as for overlaid runs


@dataclass(frozen=True)
class Dynamics:
    """Per-snapshot facts of one run (k snapshots)."""

    iterations: np.ndarray  # (k,) int   iteration of each snapshot
    dev_pred: np.ndarray  # (k, m_dev) int8 predicted digit of each dev image
    dev_y: np.ndarray  # (m_dev,) int  true digits
    active: np.ndarray  # (k, h) bool   unit non-zero for at least one TRAINING image
    per_digit: np.ndarray  # (k, 10) float  dev accuracy of each true digit (NaN: none of it)
    accuracy: np.ndarray  # (k,) float  dev accuracy

    @property
    def dead(self) -> np.ndarray:
        """(k, h) bool: unit zero for every training image at that snapshot."""
        return ~self.active

    @property
    def dead_count(self) -> np.ndarray:
        return self.dead.sum(axis=1)

    def index(self, iteration: int) -> int:
        """Position of a snapshot iteration (ValueError naming the choices otherwise)."""
        hits = np.flatnonzero(self.iterations == iteration)
        if not hits.size:
            raise ValueError(
                f"iteration must be a snapshot iteration {self.iterations.tolist()}, "
                f"got {iteration}"
            )
        return int(hits[0])

    def confusion(self, iteration: int) -> np.ndarray:
        """(10, 10) confusion matrix of the dev set at a snapshot."""
        return confusion_matrix(self.dev_y, self.dev_pred[self.index(iteration)])


def parse_snapshot(text: str, iterations) -> int:
    """A snapshot iteration from the URL (``at=250``): one of ``iterations``."""
    choices = [int(i) for i in iterations]
    try:
        i = int(str(text).strip())
    except ValueError:
        i = None
    if i not in choices:
        raise ValueError(f"at must be a snapshot iteration {choices}, got {text!r}")
    return i


def dynamics(result, train_X, dev_X, dev_y, *, activation: str = "relu") -> Dynamics:
    """The dynamics of ``result`` (nnmath.TrainResult): its snapshots on the dev images (answers)
    and on the training images (which hidden units fire at all)."""
    dev_y = np.asarray(dev_y).astype(np.int64)
    dev = snapshot_passes(result.snapshots, dev_X, activation=activation)
    train = snapshot_passes(result.snapshots, train_X, activation=activation)
    right = dev.pred == dev_y  # (k, m_dev)
    counts = np.bincount(dev_y, minlength=CLASSES)  # (10,)
    onehot = dev_y[:, None] == np.arange(CLASSES)  # (m_dev, 10)
    hits = right.astype(np.float64) @ onehot  # (k, 10) right answers per digit
    with np.errstate(invalid="ignore", divide="ignore"):
        per_digit = np.where(counts > 0, hits / counts, np.nan)
    return Dynamics(
        iterations=np.asarray(result.snapshot_iterations, dtype=np.int64),
        dev_pred=dev.pred,
        dev_y=dev_y,
        active=train.active,
        per_digit=per_digit,
        accuracy=right.mean(axis=1),
    )


def accuracy_text(dyn: Dynamics, iteration: int) -> str:
    k = dyn.index(iteration)
    right = int((dyn.dev_pred[k] == dyn.dev_y).sum())
    return f"dev accuracy {dyn.accuracy[k]:.1%} ({right:,} of {len(dyn.dev_y):,})"


def dead_text(dyn: Dynamics, iteration: int) -> str:
    """ "3 of 10 (1, 4, 7)": the dead units at a snapshot."""
    units = np.flatnonzero(dyn.dead[dyn.index(iteration)])
    return f"{len(units)} of {dyn.dead.shape[1]} ({', '.join(map(str, units)) or 'none'})"


def dead_caption(config, dyn: Dynamics, iteration: int) -> str:
    """What a dead unit is, and whether it stays dead: only plain gradient descent without weight
    decay leaves its weights alone for good. Momentum and Adam keep moving them on their running
    averages (the sample's Adam run, hidden 32, alpha 0.01, 200 iterations: unit 31, dead at
    iteration 50, had its 784 weights moved by 0.36 in all, |change| summed, by iteration 150),
    and weight decay shrinks them toward 0, leaving the unit its bias: either can switch it on
    again."""
    moved = []
    if config.optimizer != "gd":
        moved.append(f"{config.optimizer}'s running averages keep moving its weights for a while")
    if config.weight_decay:
        moved.append("weight decay keeps shrinking its weights")
    fate = (
        "so its weights never change again"
        if not moved
        else "yet " + " and ".join(moved) + ", which can switch it on again"
    )
    return (
        "A unit is dead when its ReLU outputs 0 for every training image: it passes nothing on "
        f"and gets no gradient from them, {fate}. At iteration {iteration:,}: "
        f"{dead_text(dyn, iteration)}."
    )


def no_dead_text(dyn: Dynamics) -> str | None:
    """What to say instead of a flat line at zero when no unit died at any snapshot (None when
    some did: then the chart shows when)."""
    if dyn.dead_count.any():
        return None
    its = dyn.iterations
    return (
        f"No hidden unit died in this run: each of the {dyn.dead.shape[1]} fires for some "
        f"training image at every snapshot, from iteration {int(its[0]):,} to {int(its[-1]):,}. "
        "Units die when the steps are too big: try alpha 2 on the Train page and come back."
    )


def first_passing(dyn: Dynamics, threshold: float = 0.8) -> list[int | None]:
    """For each digit, the first snapshot iteration whose dev accuracy on it is >= threshold
    (None: never)."""
    out: list[int | None] = []
    for d in range(CLASSES):
        hit = np.flatnonzero(dyn.per_digit[:, d] >= threshold)
        out.append(int(dyn.iterations[hit[0]]) if hit.size else None)
    return out


def passing_sentences(dyn: Dynamics, threshold: float = 0.8) -> list[str]:
    """One sentence per digit, the earliest learned first: "7 reaches 80% at iteration 150 (81.2%
    of its 100 dev images)", or "5 never reaches 80% (best 74.1%, at iteration 450)"."""
    firsts = first_passing(dyn, threshold)
    counts = np.bincount(dyn.dev_y, minlength=CLASSES)
    rows = []
    for d, it in enumerate(firsts):
        acc = dyn.per_digit[:, d]
        if counts[d] == 0:
            rows.append((np.inf, d, f"{d} has no dev image"))
        elif it is None:
            best = int(np.nanargmax(acc))
            rows.append(
                (
                    np.inf,
                    d,
                    f"{d} never reaches {threshold:.0%} (best {acc[best]:.1%}, at iteration "
                    f"{int(dyn.iterations[best]):,})",
                )
            )
        else:
            k = dyn.index(it)
            rows.append(
                (
                    it,
                    d,
                    f"{d} reaches {threshold:.0%} at iteration {it:,} ({acc[k]:.1%} of its "
                    f"{counts[d]:,} dev images)",
                )
            )
    return [text for _, _, text in sorted(rows)]


def pca_2d(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of the rows of ``A`` (m, h) by SVD of the centred
    matrix: (coordinates (m, 2), share of the variance each explains (2,)). Signs are fixed so
    the largest |loading| of each component is positive (the same data always gives the same
    picture). Fewer than 2 columns or rows are padded with zeros."""
    A = np.asarray(A, dtype=np.float64)
    C = A - A.mean(axis=0)
    U, S, Vt = np.linalg.svd(C, full_matrices=False)
    signs = np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])
    signs[signs == 0] = 1
    coords = (U * S * signs)[:, :2]
    total = float((S**2).sum())
    share = (S[:2] ** 2) / total if total > 0 else np.zeros(min(2, len(S)))
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
        share = np.pad(share, (0, 2 - len(share)))
    return coords, share


def hidden_map(params, dev_X, dev_y, *, activation: str = "relu"):
    """(coordinates (m, 2), variance shares (2,)) of the dev images' hidden activations A1."""
    return pca_2d(hidden_activations(params, dev_X, activation=activation))


# ---- figures ----------------------------------------------------------------------------------
def per_digit_figure(dyn: Dynamics, threshold: float = 0.8) -> go.Figure:
    """One line per digit: its dev accuracy at each snapshot, and the threshold as a dashed line."""
    fig = go.Figure()
    for d in range(CLASSES):
        fig.add_trace(
            go.Scatter(
                x=dyn.iterations,
                y=dyn.per_digit[:, d],
                mode="lines+markers",
                name=str(d),
                line=dict(color=DIGIT_COLORS[d], width=2),
                marker=dict(size=5),
                hovertemplate=f"digit {d}, iteration %{{x:,}}: %{{y:.1%}}<extra></extra>",
            )
        )
    # The threshold is named on the axis, in bold at its own tick: a label inside the plot lay on
    # the curves (right, where they end above it, and left, where some start near it).
    fig.add_hline(y=threshold, line_dash="dash", line_color="#888")
    ticks = [t for t in (0, 0.2, 0.4, 0.6, 0.8, 1.0) if abs(t - threshold) > 0.07]
    ticks = sorted([*ticks, threshold])
    fig.update_layout(
        xaxis_title="iteration (snapshots)",
        yaxis=dict(
            title="dev accuracy of the digit",
            range=[0, 1.02],
            tickvals=ticks,
            ticktext=[f"<b>{t:.0%}</b>" if t == threshold else f"{t:.0%}" for t in ticks],
        ),
        legend_title_text="digit",
    )
    return figures._layout(fig, height=420)


def dead_units_figure(dyn: Dynamics) -> go.Figure:
    """Dead hidden units (zero for every training image) at each snapshot; hover lists them. The
    counts are known at the snapshots only: markers there, joined by a dotted line (a step drawn
    at a snapshot said the units died exactly there)."""
    dead = dyn.dead
    names = [", ".join(str(u) for u in np.flatnonzero(row)) or "none" for row in dead]
    fig = go.Figure(
        go.Scatter(
            x=dyn.iterations,
            y=dyn.dead_count,
            mode="lines+markers",
            line=dict(color="#d62728", shape="linear", dash="dot"),
            customdata=names,
            hovertemplate="iteration %{x:,}: %{y} dead (units %{customdata})<extra></extra>",
        )
    )
    h = dead.shape[1]
    fig.update_layout(
        xaxis_title="iteration (counted at each snapshot)",
        yaxis=dict(title=f"dead units (of {h})", range=[-0.3, max(1, h) + 0.3], rangemode="tozero"),
    )
    return figures._layout(fig, height=300)


def confusion_figure(dyn: Dynamics, iteration: int) -> go.Figure:
    """The Evaluate page's confusion heatmap of the dev set at a snapshot."""
    fig = figures.confusion_heatmap(dyn.confusion(iteration))
    fig.update_layout(clickmode="none")
    return fig


def map_figure(coords: np.ndarray, share: np.ndarray, y: np.ndarray, pred=None) -> go.Figure:
    """The PCA map: a point per dev image, coloured by its true digit (one legend entry each);
    hover shows the image index, its digit and (with ``pred``) the network's answer. Each point's
    customdata is its dev index, so a click can show that image."""
    y = np.asarray(y)
    fig = go.Figure()
    for d in range(CLASSES):
        idx = np.flatnonzero(y == d)
        if not idx.size:
            continue
        said = (
            [""] * len(idx)
            if pred is None
            else [f", predicted {int(p)}" for p in np.asarray(pred)[idx]]
        )
        fig.add_trace(
            go.Scatter(
                x=coords[idx, 0],
                y=coords[idx, 1],
                mode="markers",
                name=str(d),
                marker=dict(color=DIGIT_COLORS[d], size=6, opacity=0.75),
                customdata=idx,
                text=[f"dev image {i}: digit {d}{s}" for i, s in zip(idx, said)],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis_title=f"component 1 ({share[0]:.0%} of the variance)",
        yaxis_title=f"component 2 ({share[1]:.0%} of the variance)",
        legend_title_text="digit",
        clickmode="event+select",
        dragmode=False,
    )
    return figures._layout(fig, height=520)


def selected_index(event) -> int | None:
    """The dev index of the point clicked on :func:`map_figure` (a st.plotly_chart event)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        points = getattr(getattr(event, "selection", None), "points", None)
    for p in points or []:
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd is not None:
            return int(cd)
    return None

"""The lab: switch hidden units off (or scale them) and see what the network then gets right,
and how dev accuracy falls as the images are corrupted. Plain functions, no Streamlit.

Switching a unit off is exact: the forward pass with that unit's activation multiplied by 0
(nnmath.probe.forward_with_units), the same as removing its column of W1 and row of W2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from data import corrupt
from nnmath.probe import predict_with_units
from views import figures
from views.compare import improvement
from views.compare_figures import confusion_change_figure, gallery_figure
from views.format import shown_difference
from views.metrics import confusion_matrix


# ---- the URL: off=1,4,7 and scale=3:0.5,5:2 ----------------------------------------------------
def parse_units(text: str | None, hidden: int) -> tuple[int, ...]:
    """``"1,4,7"`` -> (1, 4, 7): hidden units to switch off, each in 0..hidden-1, sorted, unique.
    Empty or None -> (). ValueError naming the parameter otherwise."""
    if text is None or not str(text).strip():
        return ()
    units = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            u = int(part)
        except ValueError:
            raise ValueError(f"off must list hidden units as whole numbers, got {part!r}") from None
        if not 0 <= u < hidden:
            raise ValueError(f"off: a hidden unit must be between 0 and {hidden - 1}, got {u}")
        units.add(u)
    return tuple(sorted(units))


def parse_scales(text: str | None, hidden: int) -> dict[int, float]:
    """``"3:0.5,5:2"`` -> {3: 0.5, 5: 2.0}: hidden unit -> factor on its activation."""
    if text is None or not str(text).strip():
        return {}
    out: dict[int, float] = {}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        unit, sep, factor = part.partition(":")
        try:
            u, f = int(unit), float(factor)
        except ValueError:
            raise ValueError(f"scale must read unit:factor (e.g. 3:0.5), got {part!r}") from None
        if not sep or not np.isfinite(f):
            raise ValueError(f"scale must read unit:factor (e.g. 3:0.5), got {part!r}")
        if not 0 <= u < hidden:
            raise ValueError(f"scale: a hidden unit must be between 0 and {hidden - 1}, got {u}")
        out[u] = f
    return dict(sorted(out.items()))


def parse_corruption(text: str) -> str:
    """A corruption name from the URL (``corrupt=noise``)."""
    if text not in corrupt.CORRUPTIONS:
        raise ValueError(f"corrupt must be one of {', '.join(corrupt.CORRUPTIONS)}, got {text!r}")
    return text


def parse_level(text: str, kind: str) -> float:
    """A level of corruption ``kind`` from the URL: one of corrupt.LEVELS[kind]."""
    levels = corrupt.LEVELS[kind]
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    for lv in levels:
        if np.isclose(value, lv):
            return lv
    raise ValueError(
        f"level for {kind} must be one of {', '.join(f'{lv:g}' for lv in levels)}, got {text!r}"
    )


def format_units(units) -> str | None:
    return ",".join(str(u) for u in sorted(units)) or None


def format_scales(scales: dict[int, float]) -> str | None:
    return ",".join(f"{u}:{f:g}" for u, f in sorted(scales.items())) or None


def unit_scale(hidden: int, off=(), scales=None) -> np.ndarray:
    """(hidden,) factors: 1 everywhere, ``scales`` where given, 0 for the units ``off``."""
    s = np.ones(hidden)
    for u, f in (scales or {}).items():
        s[u] = f
    s[list(off)] = 0
    return s


# ---- switching units off ------------------------------------------------------------------------
@dataclass(frozen=True)
class Ablation:
    scale: np.ndarray  # (h,) factor on each hidden unit's activation
    y: np.ndarray  # (m,) true digits
    pred_before: np.ndarray  # (m,) answers of the intact network
    pred_after: np.ndarray  # (m,) answers with the units scaled
    cm_before: np.ndarray  # (10, 10)
    cm_after: np.ndarray  # (10, 10)

    @property
    def accuracy_before(self) -> float:
        return float(np.mean(self.pred_before == self.y))

    @property
    def accuracy_after(self) -> float:
        return float(np.mean(self.pred_after == self.y))

    @property
    def changed(self) -> np.ndarray:
        """Dev indices whose answer changed."""
        return np.flatnonzero(self.pred_before != self.pred_after)

    @property
    def improvement(self) -> np.ndarray:
        return improvement(self.cm_before, self.cm_after)


def ablation(params, X, y, scale, *, activation: str = "relu") -> Ablation:
    """The intact network and the one with hidden activations times ``scale`` on images X."""
    y = np.asarray(y).astype(np.int64)
    h = params.hidden
    before = predict_with_units(params, X, np.ones(h), activation=activation).argmax(axis=1)
    after = predict_with_units(params, X, scale, activation=activation).argmax(axis=1)
    return Ablation(
        np.asarray(scale, dtype=float),
        y,
        before,
        after,
        confusion_matrix(y, before),
        confusion_matrix(y, after),
    )


def describe(ab: Ablation) -> str:
    """One sentence: the accuracy change, with the counts it comes from."""
    m = len(ab.y)
    right_b, right_a = int((ab.pred_before == ab.y).sum()), int((ab.pred_after == ab.y).sum())
    fixed = int(((ab.pred_before != ab.y) & (ab.pred_after == ab.y)).sum())
    broke = int(((ab.pred_before == ab.y) & (ab.pred_after != ab.y)).sum())
    return (
        f"Dev accuracy {ab.accuracy_before:.1%} → {ab.accuracy_after:.1%} "
        f"({right_b:,} → {right_a:,} of {m:,} right = {right_b:,} − {broke:,} broken + "
        f"{fixed:,} fixed); {len(ab.changed):,} images changed answer."
    )


def change_figure(ab: Ablation) -> go.Figure:
    """The Compare page's confusion-change heatmap, A = intact, B = with units off."""
    fig = confusion_change_figure(ab.improvement, ab.cm_before, ab.cm_after)
    fig.update_layout(title="Confusion change, changed − intact (blue: better)")
    heat = fig.data[0]
    heat.colorbar.title.text = "vs intact"
    # Compare's hover reads "A 12, B 9": here A is the intact network, B the changed one
    heat.customdata = np.array(
        [
            [c.replace(": A ", ": intact ").replace(", B ", ", changed ") for c in row]
            for row in heat.customdata
        ],
        dtype=object,
    )
    return fig


def changed_figure(ab: Ablation, images: np.ndarray, limit: int = 30) -> go.Figure:
    """The first ``limit`` dev images whose answer changed, captioned "true: before → after"."""
    idx = ab.changed[:limit]
    captions = [
        f"{ab.y[i]}: {ab.pred_before[i]}→{ab.pred_after[i]}"
        + (" ✓" if ab.pred_after[i] == ab.y[i] else "")
        for i in idx
    ]
    title = f"Changed answers ({len(ab.changed):,}" + (
        f", first {limit})" if len(ab.changed) > limit else ")"
    )
    # what a caption means under the title: on one line with it, it ran past the half-width
    # column's edge on a 1280 px desktop ("…: true digit: intact→chang")
    detail = "under each: true digit: intact → changed answer"
    return gallery_figure(np.asarray(images)[idx], captions, title, detail=detail)


# ---- robustness -------------------------------------------------------------------------------
def robustness(
    params, images, y, kinds=corrupt.CORRUPTIONS, *, levels=None, activation="relu", seed=0
) -> pd.DataFrame:
    """Dev accuracy of ``params`` on ``images`` (uint8 (m, 28, 28)) corrupted at each level:
    columns corruption, level, accuracy, right (how many images were read right) and images."""
    y = np.asarray(y).astype(np.int64)
    h = params.hidden
    rows = []
    for kind in kinds:
        for level in (levels or corrupt.LEVELS)[kind]:
            bad = corrupt.corrupt(images, kind, level, seed=seed)
            probs = predict_with_units(
                params, bad.reshape(len(bad), -1), np.ones(h), activation=activation
            )
            right = probs.argmax(axis=1) == y
            rows.append((kind, float(level), float(np.mean(right)), int(right.sum()), len(y)))
    return pd.DataFrame(rows, columns=["corruption", "level", "accuracy", "right", "images"])


def accuracy_text(table: pd.DataFrame, kind: str, level: float) -> str:
    """ "rotate at 30: dev accuracy **57.5%** (575 of 1,000 right; clean images: 85.0%, 850
    right)" from a :func:`robustness` table: each share with the count it is of, so that it can
    be checked."""
    rows = table[table["corruption"] == kind].set_index("level")
    hit = rows[np.isclose(rows.index, level)]
    if hit.empty:
        raise ValueError(f"level must be one of {rows.index.tolist()} for {kind}, got {level}")
    row = hit.iloc[0]
    notes = [f"{row['right']:,} of {row['images']:,} right"]
    if 0.0 in rows.index and not np.isclose(level, 0.0):
        clean = rows.loc[0.0]
        notes.append(f"clean images: {clean['accuracy']:.1%}, {clean['right']:,} right")
    return f"{kind} at {level:g}: dev accuracy **{row['accuracy']:.1%}** ({'; '.join(notes)})"


def augmented(settings, kind: str, level: float):
    """``settings`` trained with ``kind`` as augmentation, up to ``level`` (its size: thinner
    strokes count as much as thicker; level 0, the clean images, takes the largest level)."""
    size = abs(float(level)) or max(abs(v) for v in corrupt.LEVELS[kind])
    return replace(settings, augment=kind, augment_level=size)


def augmentation_text(table: pd.DataFrame, other: pd.DataFrame, kind: str, level: float) -> str:
    """How much training with the augmentation moved dev accuracy at this corruption level, and
    on the clean images."""

    def at(t, lv):
        part = t[t["corruption"] == kind].set_index("level")["accuracy"]
        return float(part[np.isclose(part.index, lv)].iloc[0])

    before, after = at(table, level), at(other, level)
    clean = 0.0 if 0.0 in set(table[table["corruption"] == kind]["level"]) else None
    text = (
        f"{kind} at {level:g}: dev accuracy **{before:.1%}** for this run, **{after:.1%}** "
        f"trained with {kind} augmentation ({shown_difference(after, before, '.1%'):+.1f} points)"
    )
    if clean is not None and level != clean:
        b, a = at(table, clean), at(other, clean)
        text += (
            f"; on the clean images {b:.1%} → {a:.1%} ({shown_difference(a, b, '.1%'):+.1f} points)"
        )
    return text + "."


def axis_title(kind: str) -> str:
    """A corruption's level in a few words, for its panel's axis title: "rotation" of
    corrupt.UNITS' "rotation (degrees, anticlockwise)" (the unit is in :func:`levels_caption`)."""
    return corrupt.UNITS[kind].split(" (")[0]


def levels_caption(kinds=corrupt.CORRUPTIONS) -> str:
    """The robustness panels' axes in full, from corrupt.UNITS: "The levels: noise std (share of
    255) · rotation (degrees, anticlockwise) · ..." """
    return "The levels: " + " · ".join(corrupt.UNITS[kind] for kind in kinds) + "."


def robustness_figure(
    table: pd.DataFrame,
    highlight: tuple[str, float] | None = None,
    other: pd.DataFrame | None = None,
    other_name: str = "",
) -> go.Figure:
    """One panel per corruption, two a row: dev accuracy against its level (the chosen one
    marked). With ``other``, a second run's curves beside them (``other_name``: e.g. trained with
    rotation). Two a row, each axis title a few words on one line (:func:`axis_title`; the units in
    :func:`levels_caption`): on a phone (390 px) a panel is ~120 px wide, four a row ran their
    titles into each other, and the whole units wrapped onto two or three lines."""
    kinds = list(dict.fromkeys(table["corruption"]))
    rows = -(-len(kinds) // 2)
    fig = make_subplots(
        rows=rows, cols=2, shared_yaxes=True, horizontal_spacing=0.08, vertical_spacing=0.3
    )
    for i, kind in enumerate(kinds):
        at = dict(row=i // 2 + 1, col=i % 2 + 1)
        if other is not None:
            theirs = other[other["corruption"] == kind]
            fig.add_trace(
                go.Scatter(
                    x=theirs["level"],
                    y=theirs["accuracy"],
                    mode="lines+markers",
                    name=other_name,
                    legendgroup="other",
                    showlegend=i == 0,
                    line=dict(color=figures.COLORS["right"], dash="dash"),
                    hovertemplate=f"{kind} %{{x:g}}: dev accuracy %{{y:.1%}} "
                    f"({other_name})<extra></extra>",
                ),
                **at,
            )
        part = table[table["corruption"] == kind]
        fig.add_trace(
            go.Scatter(
                x=part["level"],
                y=part["accuracy"],
                mode="lines+markers",
                name="this run" if other is not None else kind,
                legendgroup="this",
                showlegend=other is not None and i == 0,
                line=dict(color=figures.COLORS["dev"]),
                hovertemplate=f"{kind} %{{x:g}}: dev accuracy %{{y:.1%}}<extra></extra>",
            ),
            **at,
        )
        if highlight and highlight[0] == kind:
            hit = part[np.isclose(part["level"], highlight[1])]
            if len(hit):
                fig.add_trace(
                    go.Scatter(
                        x=hit["level"],
                        y=hit["accuracy"],
                        mode="markers",
                        marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(width=2)),
                        showlegend=False,
                        hoverinfo="skip",
                    ),
                    **at,
                )
        fig.update_xaxes(title_text=axis_title(kind), automargin=True, **at)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    fig.update_yaxes(title_text="dev accuracy", col=1)
    return figures._layout(fig, height=260 * rows)


def examples_figure(images: np.ndarray, kind: str, levels=None, count: int = 5) -> go.Figure:
    """The first ``count`` images at every level of one corruption: a row per image."""
    levels = (levels or corrupt.LEVELS)[kind]
    images = np.asarray(images)[:count]
    tiles = np.concatenate(
        [np.stack([corrupt.corrupt(img, kind, lv) for lv in levels]) for img in images]
    )
    captions = [f"{lv:g}" for _ in images for lv in levels]
    return gallery_figure(
        tiles, captions, f"{kind}: each row one dev image, levels left to right", len(levels)
    )

"""Plotly figures: plain functions (arrays/results -> go.Figure), no Streamlit, called by tests.

Conventions, so every screen reads the same way:
- 28x28 images are drawn as heatmaps with the y axis reversed: row 0 at the top, digits upright.
  Pixels use "Greys" (0 = white paper, 255 = black ink) on a fixed 0..255 range.
- Weights use a diverging scale symmetric around 0 (blue negative, white 0, red positive), with the
  same range on every panel of a figure, and a titled colour bar.
- Many small images are one heatmap (a mosaic with 1-pixel gaps), not many subplots: one trace is
  fast to build, send and draw. An invisible scatter point sits on each tile / cell, so clicks are
  reported by st.plotly_chart(on_select=...) (heatmaps themselves report no selection).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

SIDE = 28
GAP = 1
TILE = SIDE + GAP
DIGIT_SCALE = "Greys"
WEIGHT_SCALE = "RdBu_r"
COLORS = {
    "train": "#1f77b4",
    "dev": "#ff7f0e",
    "loss": "#8c8c8c",  # mid grey: a line seen on a light and a dark page
    "right": "#2ca02c",
    "wrong": "#d62728",
    "start": "#9e9e9e",
    "now": "#1f77b4",
}
MAX_CURVE_POINTS = 1500
FONT = dict(size=13)


TEMPLATE = "plotly_white"


@functools.cache
def _template_json() -> dict:
    return pio.templates[TEMPLATE].to_plotly_json()


def white(fig: go.Figure) -> go.Figure:
    """``fig.update_layout(template="plotly_white")``, the same figure, ~20x faster.

    Plotly checks a template given by name property by property and deep-copies it (~15-25 ms on
    these machines, most of the time a small figure takes to build: two of them were a third of
    Evaluate's rerun). The template is plotly's own, already checked, so it goes in as plotly gives
    a new figure its default template: unchecked (its layout's ``_validate`` off for the one
    assignment), and as a fresh copy of its own, so no two figures share one.
    tests/views/test_figures.py checks the result is the same JSON as update_layout's.
    """
    layout = fig.layout
    if not isinstance(getattr(layout, "_validate", None), bool):  # plotly changed its insides
        return fig.update_layout(template=TEMPLATE)
    checked = layout._validate
    layout._validate = False
    try:
        layout.template = go.layout.Template(_template_json(), _validate=False)
    finally:
        layout._validate = checked
    return fig


def _layout(fig: go.Figure, *, height: int, title: str | None = None, **kw) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=60, r=20, t=50 if title else 20, b=50),
        title=dict(text=title, x=0.01, xanchor="left") if title else None,
        font=FONT,
        **kw,
    )
    return white(fig)


def _clean(a) -> np.ndarray:
    """Float array with inf -> NaN (JSON has no inf; NaN draws as a gap)."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.nan)


# ---- training ---------------------------------------------------------------------------------
def whole_training_pass(config) -> bool:
    """Whether a run's history rows are of the whole training set as given (no mini-batches,
    dropout masks or augmented images), as its final loss and train accuracy are."""
    return (
        getattr(config, "batch_size", None) is None
        and not getattr(config, "dropout", 0.0)
        and getattr(config, "augment", "none") in ("none", None)
    )


def after_last_update(final, n: int) -> dict[str, float] | None:
    """A run's numbers after its last update, which its history of ``n`` rows (row i: after i
    updates) has no row for, so that its curves end on the numbers a page writes beside them:
    "dev_accuracy", and "loss" and "train_accuracy" when the history's are of the whole training
    set too (else nan: its rows are of batches). None when ``final`` (the run's result) adds
    nothing: none given, a diverged run, or a history of another length."""
    if final is None or final.iterations != n or final.diverged_at is not None:
        return None
    whole = whole_training_pass(final.config)
    return {
        "loss": float(final.loss) if whole else math.nan,
        "train_accuracy": float(final.train_accuracy) if whole else math.nan,
        "dev_accuracy": float(final.dev_accuracy),
    }


def training_curves(
    history,
    total: int | None = None,
    diverged_at: int | None = None,
    height: int = 460,
    final=None,
) -> go.Figure:
    """Loss (top) and train/dev accuracy (bottom) against iteration. ``total`` fixes the x range,
    so a chart drawn while training grows from left to right. ``diverged_at``: the iteration
    whose loss blew up, marked, and the x range ends near it (the curves that exist fill the
    chart). ``final``: the run's result (nnmath.TrainResult). The curves end on its numbers
    (after the last update, which the history has no row for): the dev accuracy always, the loss
    and train accuracy when the history's are of the whole training set too. A diverged run's
    kept parameters' loss and accuracies are drawn as points (a run that diverged on its first
    update has no curve at all, only the starting point it kept)."""
    n = len(history.loss)
    step = max(1, math.ceil(n / MAX_CURVE_POINTS))
    x = np.arange(0, n, step)
    loss = _clean(history.loss)[::step]
    train = _clean(history.train_accuracy)[::step]
    dev = _clean(history.dev_accuracy)[::step]
    end = after_last_update(final, n) if n and diverged_at is None else None
    if end is not None:  # the curves end on the numbers the page writes above the chart
        x = np.append(x, n)
        loss = np.append(loss, _clean([end["loss"]]))
        train = np.append(train, _clean([end["train_accuracy"]]))
        dev = np.append(dev, _clean([end["dev_accuracy"]]))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=loss,
            name="loss (train)",
            mode="lines",
            line=dict(color=COLORS["loss"]),
            xaxis="x",
            yaxis="y",
            hovertemplate="iteration %{x}<br>loss %{y:.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=train,
            name="train accuracy",
            mode="lines",
            line=dict(color=COLORS["train"]),
            xaxis="x2",
            yaxis="y2",
            hovertemplate="iteration %{x}<br>train %{y:.1%}<extra></extra>",
        )
    )
    if np.isfinite(dev).any():
        fig.add_trace(
            go.Scatter(
                x=x,
                y=dev,
                name="dev accuracy",
                mode="lines",
                line=dict(color=COLORS["dev"]),
                xaxis="x2",
                yaxis="y2",
                hovertemplate="iteration %{x}<br>dev %{y:.1%}<extra></extra>",
            )
        )
    xmax = max(total or 0, n - 1, 1)
    if diverged_at is not None:  # what happened fills the chart, not the iterations never run
        xmax = max(n - 1, diverged_at, 1) + max(1, diverged_at // 10)
    if final is not None and diverged_at is not None and n <= final.iterations:
        for value, name, color, axis, fmt in (
            (final.loss, "loss (train)", COLORS["loss"], "", ".4f"),
            (final.train_accuracy, "train accuracy", COLORS["train"], "2", ".1%"),
            (final.dev_accuracy, "dev accuracy", COLORS["dev"], "2", ".1%"),
        ):
            if np.isfinite(value):
                fig.add_trace(
                    go.Scatter(
                        x=[final.iterations],
                        y=[value],
                        name=f"{name}, iteration {final.iterations}",
                        mode="markers",
                        marker=dict(color=color, size=10),
                        xaxis="x" + axis,
                        yaxis="y" + axis,
                        hovertemplate=f"iteration %{{x}}<br>{name} %{{y:{fmt}}}<extra></extra>",
                    )
                )
    fig.update_layout(
        xaxis=dict(domain=[0, 1], anchor="y", range=[0, xmax], matches="x2", showticklabels=False),
        yaxis=dict(domain=[0.56, 1], title="loss", rangemode="tozero"),
        xaxis2=dict(domain=[0, 1], anchor="y2", range=[0, xmax], title="iteration"),
        yaxis2=dict(domain=[0, 0.46], title="accuracy", range=[0, 1], tickformat=".0%"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        hovermode="x unified",
    )
    if diverged_at is not None:
        for xref, yref in (("x", "y domain"), ("x2", "y2 domain")):
            fig.add_shape(
                type="line",
                x0=diverged_at,
                x1=diverged_at,
                y0=0,
                y1=1,
                xref=xref,
                yref=yref,
                line=dict(color=COLORS["wrong"], dash="dash"),
            )
        fig.add_annotation(
            x=diverged_at,
            y=1,
            xref="x",
            yref="paper",
            showarrow=False,
            text=f"diverged at iteration {diverged_at}",
            font=dict(color=COLORS["wrong"]),
            xanchor="left",
            yanchor="bottom",
        )
        if n == 0:
            fig.add_annotation(
                x=0.5,
                y=0.75,
                xref="paper",
                yref="paper",
                showarrow=False,
                text=(
                    f"The loss blew up at iteration {diverged_at}: no curve to draw, only the "
                    "starting point it kept"
                    if final is not None
                    else f"The loss blew up at iteration {diverged_at}: no curve to draw"
                ),
                font=dict(size=14, color=COLORS["wrong"]),
            )
    return _layout(fig, height=height)


# ---- mosaics of 28x28 images -----------------------------------------------------------------
def mosaic(images: np.ndarray, cols: int, fill: float = np.nan, vgap: int = GAP) -> np.ndarray:
    """(k, 28, 28) -> one 2-D float array of tiles, row-major, ``GAP`` pixels of ``fill`` between
    columns and ``vgap`` between rows (room for captions)."""
    images = np.asarray(images, dtype=np.float32)
    k = len(images)
    cols = max(1, min(cols, k)) if k else 1
    rows = max(1, math.ceil(k / cols))
    pitch = SIDE + vgap
    out = np.full((rows * pitch - vgap, cols * TILE - GAP), fill, dtype=np.float32)
    for i in range(k):
        r, c = divmod(i, cols)
        out[r * pitch : r * pitch + SIDE, c * TILE : c * TILE + SIDE] = images[i]
    return out


def tile_centres(k: int, cols: int, vgap: int = GAP) -> tuple[np.ndarray, np.ndarray]:
    """x, y (mosaic pixel coordinates) of the centre of each of ``k`` tiles."""
    i = np.arange(k)
    r, c = np.divmod(i, max(1, cols))
    return c * TILE + (SIDE - 1) / 2, r * (SIDE + vgap) + (SIDE - 1) / 2


CAPTION_GAP = 7  # mosaic rows between tile rows when tiles have captions
# The Data page's digits: at 7 rows a phone drew the gap ~8 px high, less than a caption, so each
# label touched the row above it and "2 2 3 3" read as the captions of the 0s over them. At 22
# rows (~26 px there) a label sits on its own tile with ~10 px clear above it.
DIGIT_CAPTION_GAP = 22


def _mosaic_figure(
    tiles: np.ndarray,
    *,
    zmin,
    zmax,
    colorscale,
    cols: int,
    captions: list[str] | None,
    hover: list[str] | None,
    colorbar_title: str | None,
    height: int | None,
    zmid=None,
    customdata=None,
    caption_color=None,
    caption_gap: int = 0,
) -> go.Figure:
    k = len(tiles)
    vgap = (caption_gap or CAPTION_GAP) if captions else GAP
    z = mosaic(tiles, cols, vgap=vgap)
    pitch = SIDE + vgap
    fig = go.Figure(
        go.Heatmap(
            z=np.round(z, 4) if z.dtype.kind == "f" else z,
            zmin=zmin,
            zmax=zmax,
            zmid=zmid,
            colorscale=colorscale,
            hoverinfo="skip",
            showscale=colorbar_title is not None,
            colorbar=dict(title=dict(text=colorbar_title), thickness=14)
            if colorbar_title
            else None,
        )
    )
    cols = max(1, min(cols, k)) if k else 1
    rows = max(1, math.ceil(k / cols))
    if k:
        cx, cy = tile_centres(k, cols, vgap)
        fig.add_trace(
            go.Scatter(
                x=cx,
                y=cy,
                mode="markers",
                customdata=customdata if customdata is not None else np.arange(k),
                marker=dict(size=12, opacity=0, color="rgba(0,0,0,0)"),
                selected=dict(marker=dict(opacity=0)),
                unselected=dict(marker=dict(opacity=0)),
                text=hover or [""] * k,
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
                name="tiles",
            )
        )
    annotations = []
    if captions:
        colors = caption_color or ["#222"] * k
        for i, text in enumerate(captions):
            r, c = divmod(i, cols)
            annotations.append(
                dict(
                    x=c * TILE + (SIDE - 1) / 2,
                    y=r * pitch - 0.6,
                    text=text,
                    showarrow=False,
                    yanchor="bottom",
                    xanchor="center",
                    font=dict(size=11, color=colors[i]),
                )
            )
    width_px = cols * TILE
    top = vgap if captions else 0
    height_px = rows * pitch + top
    fig.update_layout(
        xaxis=dict(visible=False, range=[-0.5, width_px - GAP - 0.5], constrain="domain"),
        yaxis=dict(
            visible=False,
            autorange=False,
            range=[rows * pitch - vgap - 0.5, -0.5 - top],
            scaleanchor="x",
            scaleratio=1,
            constrain="domain",
        ),
        annotations=annotations,
        plot_bgcolor="white",
        dragmode=False,
        clickmode="event+select",
        hoverlabel=dict(bgcolor="white"),
    )
    if height is None:
        height = int(min(900, max(160, 40 + 620 * height_px / max(width_px, 1))))
    return _style_mosaic(fig, height)


def _style_mosaic(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), font=FONT)
    return white(fig)


def tile_index(point: dict, cols: int, k: int, vgap: int = CAPTION_GAP) -> int | None:
    """Index (customdata) of the tile under a selected point of a mosaic figure, or its position
    computed from x/y when the point has no customdata; None when outside the tiles."""
    cd = point.get("customdata")
    if isinstance(cd, (list, tuple)) and cd:
        cd = cd[0]
    if cd is not None:
        try:
            return int(cd)
        except (TypeError, ValueError):
            pass
    x, y = point.get("x"), point.get("y")
    if x is None or y is None:
        return None
    c, r = int(round(float(x))) // TILE, int(round(float(y))) // (SIDE + vgap)
    i = r * cols + c
    return i if 0 <= c < cols and 0 <= i < k else None


def digit_grid(
    images: np.ndarray,
    captions: list[str],
    cols: int = 10,
    *,
    hover: list[str] | None = None,
    customdata=None,
    caption_colors=None,
    height: int | None = None,
    highlight: int | None = None,
) -> go.Figure:
    """Digits (k, 28, 28) uint8 as one mosaic, each with a caption above it; tile number
    ``highlight`` (position in ``images``) gets a frame."""
    fig = _mosaic_figure(
        np.asarray(images),
        zmin=0,
        zmax=255,
        colorscale=DIGIT_SCALE,
        cols=cols,
        captions=captions,
        hover=hover or captions,
        colorbar_title=None,
        height=height,
        customdata=customdata,
        caption_color=caption_colors,
        caption_gap=DIGIT_CAPTION_GAP,
    )
    k = len(images)
    shown_cols = max(1, min(cols, k)) if k else 1
    rows = max(1, math.ceil(k / shown_cols))
    if height is None:
        # as tall as the mosaic is ~400 px wide (a phone draws it ~340, the Data page's column on
        # a laptop ~450): the room a narrower screen leaves goes under the tiles, not above them
        units_high = rows * (SIDE + DIGIT_CAPTION_GAP) + DIGIT_CAPTION_GAP
        fig.update_layout(height=max(120, round(units_high * 400 / (shown_cols * TILE)) + 20))
        fig.update_yaxes(constraintoward="top")
    if highlight is not None and 0 <= highlight < len(images):
        r, c = divmod(highlight, shown_cols)
        x0, y0 = c * TILE - 0.5, r * (SIDE + DIGIT_CAPTION_GAP) - 0.5
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x0 + SIDE,
            y0=y0,
            y1=y0 + SIDE,
            line=dict(color=COLORS["now"], width=2),
        )
    return fig


def mean_digits(means: np.ndarray, counts: np.ndarray) -> go.Figure:
    """The average image of each digit (``means`` (10, 28, 28)), side by side."""
    captions = [f"{d}" for d in range(10)]
    hover = [f"average of {int(counts[d]):,} images of {d}" for d in range(10)]
    return _mosaic_figure(
        np.asarray(means),
        zmin=0,
        zmax=255,
        colorscale=DIGIT_SCALE,
        cols=10,
        captions=captions,
        hover=hover,
        colorbar_title=None,
        height=None,
    )


def paper(image: np.ndarray, scale: int = 3) -> np.ndarray:
    """One 28x28 digit as a picture (uint8, (28*scale, 28*scale)): black ink on white paper like
    the heatmaps' "Greys", each pixel a ``scale``-wide square so a browser that stretches it
    blurs it less."""
    ink = np.clip(np.asarray(image, dtype=np.float64), 0, 255)
    page = (255 - np.rint(ink)).astype(np.uint8)
    return np.repeat(np.repeat(page, scale, axis=0), scale, axis=1)


def digit_image(image: np.ndarray, title: str | None = None, height: int = 360) -> go.Figure:
    """One 28x28 digit, large, with pixel values on hover."""
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(image),
            zmin=0,
            zmax=255,
            colorscale=DIGIT_SCALE,
            showscale=False,
            hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    fig = _layout(fig, height=height, title=title)
    fig.update_layout(margin=dict(l=10, r=10, t=40 if title else 10, b=10))
    return fig


# ---- data -------------------------------------------------------------------------------------
def digit_counts(counts: np.ndarray, title: str | None = None) -> go.Figure:
    """Images per digit (``counts`` (10,))."""
    counts = np.asarray(counts, dtype=np.int64)
    fig = go.Figure(
        go.Bar(
            x=np.arange(10),
            y=counts,
            text=counts,
            textposition="outside",
            marker_color=COLORS["train"],
            cliponaxis=False,
            hovertemplate="digit %{x}: %{y:,} images<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="digit", tickmode="linear", dtick=1),
        yaxis=dict(title="images", rangemode="tozero"),
    )
    return _layout(fig, height=300, title=title)


def split_sizes(sizes: dict[str, int]) -> go.Figure:
    names = list(sizes)
    values = [sizes[n] for n in names]
    fig = go.Figure(
        go.Bar(
            y=names,
            x=values,
            orientation="h",
            text=[f"{v:,}" for v in values],
            textposition="auto",
            marker_color=[COLORS["train"], COLORS["dev"]][: len(names)]
            + [COLORS["start"]] * max(0, len(names) - 2),
        )
    )
    fig.update_layout(xaxis=dict(title="images"), yaxis=dict(autorange="reversed"))
    fig = _layout(fig, height=180)
    fig.update_layout(margin=dict(l=60, r=20, t=10, b=40))
    return fig


# ---- evaluation -------------------------------------------------------------------------------
def confusion_heatmap(cm: np.ndarray, normalised: bool = False) -> go.Figure:
    """Rows = true digit (0 at the top), columns = predicted digit. Each cell carries
    customdata [true, predicted] on an invisible clickable marker."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    totals = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    z = share if normalised else cm
    text = [
        [
            (f"{share[t, p]:.0%}" if share[t, p] >= 0.005 or cm[t, p] == 0 else "<1%")
            if normalised
            else f"{cm[t, p]:,}"
            for p in range(k)
        ]
        for t in range(k)
    ]
    # Colour the off-diagonal on its own scale: the diagonal would otherwise wash out the mistakes.
    off = z.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    vmax = float(np.nanmax(off)) if np.isfinite(off).any() and np.nanmax(off) > 0 else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(k),
            y=np.arange(k),
            colorscale="Blues",
            zmin=0,
            zmax=vmax,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=12),
            showscale=False,  # every cell prints its number; a colour bar only took width
            hoverinfo="skip",
        )
    )
    t, p = np.divmod(np.arange(k * k), k)
    hover = [
        f"true {a}, predicted {b}: {cm[a, b]:,} images ({share[a, b]:.1%} of {a}s)"
        + ("<br>click to see them" if a != b and cm[a, b] else "")
        for a, b in zip(t, p)
    ]
    fig.add_trace(
        go.Scatter(
            x=p,
            y=t,
            mode="markers",
            customdata=np.stack([t, p], axis=1),
            marker=dict(size=30, symbol="square", opacity=0, color="rgba(0,0,0,0)"),
            selected=dict(marker=dict(opacity=0)),
            unselected=dict(marker=dict(opacity=0)),
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
            name="cells",
        )
    )
    fig.update_layout(
        xaxis=dict(
            title="predicted digit",
            tickmode="linear",
            dtick=1,
            side="top",
            range=[-0.5, k - 0.5],
            constrain="domain",
        ),
        yaxis=dict(
            title="true digit",
            tickmode="linear",
            dtick=1,
            autorange=False,
            range=[k - 0.5, -0.5],
            scaleanchor="x",
            constrain="domain",
            constraintoward="top",
        ),
        clickmode="event+select",
        dragmode=False,
    )
    # Square cells, as large as the width allows: on a phone (358 px of chart) the plot is
    # ~290 px square; on a desktop column the height (440 - margins) is the limit.
    fig = _layout(fig, height=440)
    fig.update_layout(margin=dict(l=50, r=10, t=60, b=10))
    return fig


def per_class_bars(table) -> go.Figure:
    """Grouped bars of precision, recall and F1 per digit (``table`` from metrics.per_class)."""
    fig = go.Figure()
    for name, color in (("precision", "#1f77b4"), ("recall", "#ff7f0e"), ("f1", "#2ca02c")):
        fig.add_trace(
            go.Bar(
                x=table["digit"],
                y=table[name],
                name=name.upper() if name == "f1" else name,
                marker_color=color,
                hovertemplate=f"digit %{{x}}: {name} %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        xaxis=dict(title="digit", tickmode="linear", dtick=1),
        # from 0: a bar's height is its score (an axis from 65% drew a 77% bar a third as tall
        # as a 97% one); the table under the chart has the exact values
        yaxis=dict(title="score", tickformat=".0%", range=[0.0, 1.0], dtick=0.2),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return _layout(fig, height=340)


def confidence_histogram(right: np.ndarray, wrong: np.ndarray, bins: int = 20) -> go.Figure:
    """How sure the network is when it is right versus wrong (share of each group per bin)."""
    edges = np.linspace(0, 1, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for name, values, color in (
        ("right", right, COLORS["right"]),
        ("wrong", wrong, COLORS["wrong"]),
    ):
        counts, _ = np.histogram(np.clip(values, 0, 1), bins=edges)
        share = counts / max(len(values), 1)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=share,
                width=1 / bins * 0.95,
                name=f"{name} ({len(values):,})",
                marker_color=color,
                opacity=0.65,
                customdata=counts,
                hovertemplate=f"{name}: confidence %{{x:.0%}} ± {50 / bins:.1f}%"
                f"<br>%{{customdata}} images (%{{y:.1%}})<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="overlay",
        xaxis=dict(
            title="confidence (probability of the predicted digit)", tickformat=".0%", range=[0, 1]
        ),
        yaxis=dict(title="share of group", tickformat=".0%"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return _layout(fig, height=340)


def probability_bars(probs: np.ndarray, true: int, pred: int) -> go.Figure:
    """The 10 probabilities of one image: predicted digit red (if wrong), true digit green."""
    colors = [
        COLORS["right"] if d == true else COLORS["wrong"] if d == pred else "#b0b0b0"
        for d in range(10)
    ]
    title = (  # a right answer has no red bar: "predicted 9 (red)" sent the eye looking for one
        f"true and predicted {true} (green)"
        if pred == true
        else f"true {true} (green) · predicted {pred} (red)"
    )
    return digit_bars(probs, colors, title=title)


def digit_bars(probs, colors, *, title: str, height: int = 360) -> go.Figure:
    """Bars of the 10 probabilities of one image, each digit in its ``colors``, labelled in %."""
    probs = np.asarray(probs, dtype=float)
    fig = go.Figure(
        go.Bar(
            x=np.arange(10),
            y=probs,
            marker_color=list(colors),
            text=[f"{p:.0%}" if p >= 0.01 else "" for p in probs],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="digit", tickmode="linear", dtick=1),
        yaxis=dict(title="probability", range=[0, 1.1], tickformat=".0%"),
    )
    return _layout(fig, height=height, title=title)


# ---- weights ----------------------------------------------------------------------------------
def symmetric_limit(*arrays: np.ndarray) -> float:
    """max |value| over the arrays (finite values only), at least a tiny positive number."""
    m = 0.0
    for a in arrays:
        a = np.asarray(a)
        finite = a[np.isfinite(a)]
        if finite.size:
            m = max(m, float(np.abs(finite).max()))
    return m if m > 0 else 1e-6


UNIT_PX = 72  # a hidden unit's tile on a wide screen; five a row fit a phone at ~64 px


def hidden_units(
    W1: np.ndarray,
    cols: int = 10,
    limit: float | None = None,
    first: int = 0,
    count: int | None = None,
    start: np.ndarray | None = None,
) -> go.Figure:
    """Each hidden unit's 784 input weights as a 28x28 tile (units ``first`` .. ``first+count``),
    on one diverging scale symmetric around 0 (``limit`` fixes it, e.g. across replay frames).
    With ``start`` (W1 at initialisation) the tiles show what training changed, W1 - start: with
    the notebook's U[-0.5, 0.5] initialisation the random start hides the learned pattern."""
    W1 = np.asarray(W1)
    h = W1.shape[1]
    count = h - first if count is None else min(count, h - first)
    units = np.arange(first, first + count)
    shown = W1[:, units] if start is None else W1[:, units] - np.asarray(start)[:, units]
    tiles = shown.T.reshape(count, SIDE, SIDE)
    lim = limit if limit is not None else symmetric_limit(tiles)
    cols = min(cols, max(count, 1))
    captions = [str(u) for u in units]  # "unit 0unit 1…" ran together on a phone; hover says it
    what = (
        "weights from each pixel"
        if start is None
        else "change of its pixel weights since the start"
    )
    hover = [f"hidden unit {u}: {what}" for u in units]
    fig = _mosaic_figure(
        tiles,
        zmin=-lim,
        zmax=lim,
        zmid=0,
        colorscale=WEIGHT_SCALE,
        cols=cols,
        captions=captions,
        hover=hover,
        colorbar_title="weight" if start is None else "change",
        height=None,
        customdata=units,
    )
    # The colour bar lies above the tiles (a bar beside them took a fifth of a phone's width),
    # and the figure is as tall as UNIT_PX tiles need: a narrower screen draws them smaller,
    # from the top down (the room left is under the last row, not between bar and tiles).
    rows = max(1, math.ceil(count / cols))
    fig.update_traces(
        colorbar=dict(
            orientation="h",
            x=0.5,
            xanchor="center",
            y=1,
            yanchor="bottom",
            ypad=4,
            len=200,
            lenmode="pixels",
            thickness=12,
        ),
        selector=dict(type="heatmap"),
    )
    fig.update_yaxes(constraintoward="top")
    band = 56
    fig.update_layout(
        height=round(rows * (SIDE + CAPTION_GAP) * UNIT_PX / SIDE) + band + 10,
        margin=dict(l=10, r=10, t=band, b=10),
    )
    return fig


def output_weights(
    W2: np.ndarray, limit: float | None = None, height: int | None = None
) -> go.Figure:
    """W2 (hidden, 10): how much each hidden unit votes for each digit. ``height``: the
    figure's (e.g. that of the hidden units' tiles beside it, so that the two end together),
    at least 280 px; by default 22 px a unit, at most 700 px."""
    W2 = np.asarray(W2)
    h = W2.shape[0]
    lim = limit if limit is not None else symmetric_limit(W2)
    fig = go.Figure(
        go.Heatmap(
            z=W2,
            x=np.arange(10),
            y=np.arange(h),
            zmin=-lim,
            zmax=lim,
            zmid=0,
            colorscale=WEIGHT_SCALE,
            colorbar=dict(title=dict(text="weight"), thickness=14),
            hovertemplate="hidden unit %{y} → digit %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="digit (output)", tickmode="linear", dtick=1, side="top"),
        yaxis=dict(title="hidden unit", autorange="reversed", dtick=1 if h <= 20 else None),
    )
    fig = _layout(fig, height=max(280, int(min(700, 90 + 22 * h) if height is None else height)))
    fig.update_layout(margin=dict(l=60, r=20, t=60, b=20))
    return fig


def weight_histograms(
    start: dict[str, np.ndarray],
    now: dict[str, np.ndarray],
    labels: tuple[str, str] = ("start", "now"),
    bins: int = 40,
) -> go.Figure:
    """Distribution of W1 and W2 at two moments (e.g. initialisation and the current iteration),
    side by side, counts binned in numpy so the figure stays small whatever the hidden size."""
    fig = go.Figure()
    for j, name in enumerate(("W1", "W2")):
        a, b = np.asarray(start[name]).ravel(), np.asarray(now[name]).ravel()
        lim = symmetric_limit(a, b)
        edges = np.linspace(-lim, lim, bins + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        for values, label, color in (
            (a, labels[0], COLORS["start"]),
            (b, labels[1], COLORS["now"]),
        ):
            counts, _ = np.histogram(values[np.isfinite(values)], bins=edges)
            fig.add_trace(
                go.Bar(
                    x=centres,
                    y=counts,
                    width=(edges[1] - edges[0]),
                    name=label,
                    marker_color=color,
                    opacity=0.6,
                    legendgroup=label,
                    showlegend=j == 0,
                    xaxis=f"x{j + 1}",
                    yaxis=f"y{j + 1}",
                    hovertemplate=f"{name} {label}: %{{y:,}} weights near %{{x:.3f}}"
                    "<extra></extra>",
                )
            )
    # Each axis title in two short lines: on a phone a panel is ~125 px wide, and one-line
    # titles ran into each other. automargin makes room for the second line.
    fig.update_layout(
        barmode="overlay",
        xaxis1=dict(
            domain=[0, 0.46], anchor="y1", title="W1 weight<br>(pixel → hidden)", automargin=True
        ),
        yaxis1=dict(anchor="x1", title="weights"),
        xaxis2=dict(
            domain=[0.54, 1], anchor="y2", title="W2 weight<br>(hidden → digit)", automargin=True
        ),
        yaxis2=dict(anchor="x2"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return _layout(fig, height=340)

"""Plotly figures of the Runs, Sweep and Compare screens. Plain functions: data in, go.Figure out
(no streamlit), so tests check the specs without a browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnmath import Status
from views.compare import ledger_settings
from views.figures import after_last_update, whole_training_pass
from views.format import upper_first

# Qualitative colours for overlaid runs, and the fixed colours of special heatmap cells.
RUN_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
DIVERGED_COLOUR = "#7b2d26"  # dark brick red: "this setting blows up"
NOT_RUN_COLOUR = "#e6e6e6"  # light grey: nothing stored yet
# Diverging scale for improvement: red = worse, white = no change, blue = better.
IMPROVEMENT_SCALE = [
    [0.0, "#b2182b"],
    [0.25, "#ef8a62"],
    [0.5, "#f7f7f7"],
    [0.75, "#67a9cf"],
    [1.0, "#2166ac"],
]


# --------------------------------------------------------------------------------------------
# Runs screen
# --------------------------------------------------------------------------------------------
def curves_figure(
    histories: Mapping[str, object], finals: Mapping[str, object] | None = None
) -> go.Figure:
    """Loss (left) and train/dev accuracy (right) per iteration for each labelled run
    (label -> nnmath History). Dev accuracy solid, train dashed; one colour per run. ``finals``
    (label -> the run's result): the numbers after its last update, the table's, which the
    history has no row for, end its curves (loss and train accuracy only when the history's
    are of the whole training set, not of batches)."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Training loss", "Accuracy"), horizontal_spacing=0.08
    )
    for k, (label, history) in enumerate(histories.items()):
        colour = RUN_COLOURS[k % len(RUN_COLOURS)]
        loss = np.asarray(history.loss, dtype=float)
        dev = np.asarray(history.dev_accuracy, dtype=float)
        train = np.asarray(history.train_accuracy, dtype=float)
        steps = np.arange(loss.size)
        end = after_last_update((finals or {}).get(label), loss.size)
        if end is not None:  # the curves end on the table's numbers
            steps = np.append(steps, loss.size)
            loss = np.append(loss, end["loss"])
            train = np.append(train, end["train_accuracy"])
            dev = np.append(dev, end["dev_accuracy"])
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=loss,
                mode="lines",
                name=label,
                legendgroup=label,
                line=dict(color=colour),
                hovertemplate="iteration %{x}<br>loss %{y:.4f}",
            ),
            row=1,
            col=1,
        )
        if np.isfinite(dev).any():
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=dev,
                    mode="lines",
                    name=f"{label} · dev",
                    legendgroup=label,
                    showlegend=False,
                    line=dict(color=colour),
                    hovertemplate="iteration %{x}<br>dev accuracy %{y:.1%}",
                ),
                row=1,
                col=2,
            )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=train,
                mode="lines",
                name=f"{label} · train",
                legendgroup=label,
                showlegend=False,
                line=dict(color=colour, dash="dash"),
                hovertemplate="iteration %{x}<br>train accuracy %{y:.1%}",
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text="cross-entropy loss", row=1, col=1)
    fig.update_yaxes(
        title_text="accuracy (dev solid, train dashed)",
        range=[0, 1],
        tickformat=".0%",  # percent, as the runs table writes accuracies
        row=1,
        col=2,
    )
    fig.update_layout(
        height=420, margin=dict(l=60, r=20, t=50, b=50), legend=dict(orientation="h", y=-0.2)
    )
    return fig


def _ending_on(curve: np.ndarray, final, what: str) -> np.ndarray:
    """``curve`` (a history's ``what``) with the run's number after its last update appended,
    when ``final`` (its result) has one the history has no row for."""
    end = after_last_update(final, curve.size)
    if end is None or (what == "loss" and not whole_training_pass(final.config)):
        return curve  # (the history's loss is of batches: the whole-set number is not its next)
    return np.append(curve, end[what])


def group_curves_figure(
    groups: Mapping[str, Sequence[object]], finals: Mapping[str, Sequence[object]] | None = None
) -> go.Figure:
    """Seed groups (label -> the Histories of its seeds): per group a mean line with a ±1 sd
    band (sample sd, ddof=1, from views.significance.seed_band) and thin per-seed lines, for
    the training loss (left) and dev accuracy (right). One colour per group. ``finals`` (label
    -> its seeds' results, in the same order): the curves end on the numbers after the last
    update, so the mean line ends on the "over seeds" mean the table writes."""
    from views.significance import seed_band

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Training loss", "Dev accuracy"), horizontal_spacing=0.08
    )
    for k, (label, histories) in enumerate(groups.items()):
        colour = RUN_COLOURS[k % len(RUN_COLOURS)]
        ends = list((finals or {}).get(label, ())) or [None] * len(histories)
        for col, what, fmt in ((1, "loss", ".4f"), (2, "dev_accuracy", ".1%")):
            curves = [
                _ending_on(np.asarray(getattr(h, what), dtype=float), end, what)
                for h, end in zip(histories, ends)
            ]
            if not curves or not all(np.isfinite(c).any() for c in curves):
                continue
            mean, low, high = seed_band(curves)
            steps = np.arange(mean.size)
            for i, c in enumerate(curves):
                fig.add_trace(
                    go.Scatter(
                        x=np.arange(c.size),
                        y=c,
                        mode="lines",
                        name=f"{label} · seed {i + 1}",
                        legendgroup=label,
                        showlegend=False,
                        line=dict(color=colour, width=0.8),
                        opacity=0.35,
                        hoverinfo="skip",
                    ),
                    row=1,
                    col=col,
                )
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([steps, steps[::-1]]),
                    y=np.concatenate([high, low[::-1]]),
                    fill="toself",
                    fillcolor=colour,
                    opacity=0.2,
                    line=dict(width=0),
                    name=f"{label} · ±1 sd",
                    legendgroup=label,
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=mean,
                    mode="lines",
                    name=f"{label} (mean of {len(curves)} seeds)",
                    legendgroup=label,
                    showlegend=col == 1,
                    line=dict(color=colour, width=2.5),
                    hovertemplate=f"iteration %{{x}}<br>mean {what.replace('_', ' ')} %{{y:{fmt}}}",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text="cross-entropy loss", row=1, col=1)
    fig.update_yaxes(
        title_text="dev accuracy", range=[0, 1], tickformat=".0%", row=1, col=2
    )  # percent, as the runs table writes it
    fig.update_layout(
        height=420, margin=dict(l=60, r=20, t=50, b=50), legend=dict(orientation="h", y=-0.2)
    )
    return fig


# An empty first line for a label under a parallel-coordinates axis: plotly sets it 7 px into the
# number that ends the axis.
BELOW = "<br>"


def parallel_coordinates_figure(frame: pd.DataFrame) -> go.Figure:
    """Settings → dev accuracy, one line per run, coloured by dev accuracy (the last axis reads
    the colour, so there is no colour bar). alpha is on a log axis (ticks show the real values); a
    run without a dev accuracy sits at 0. Labels are short, in two lines and under the axes, so
    that five of them fit side by side on a phone (390 px) without running into each other.
    The seed has an axis only when the runs' seeds differ (one value says nothing), the other
    settings (optimizer, activation, ...) one each when they differ."""
    frame = frame.reset_index(drop=True)
    dev = frame["dev_accuracy"].fillna(0.0).to_numpy(dtype=float)
    log_alpha = np.log10(frame["alpha"].to_numpy(dtype=float))
    alphas = sorted(frame["alpha"].unique().tolist())
    dims = [
        dict(label=BELOW + "hidden<br>units", values=frame["hidden"].to_numpy(dtype=float)),
        dict(
            label=BELOW + "alpha<br>(log)",
            values=log_alpha,
            tickvals=np.log10(alphas).tolist(),
            ticktext=[f"{a:g}" for a in alphas],
        ),
        *(
            [
                dict(
                    label=BELOW + "seed",
                    values=frame["seed"].to_numpy(dtype=float),
                    tickvals=sorted(frame["seed"].unique().tolist()),
                )
            ]
            if frame["seed"].nunique() > 1
            else []
        ),
        *[_setting_axis(frame, name) for name in ledger_settings(frame)],
        dict(label=BELOW + "iterations", values=frame["iterations"].to_numpy(dtype=float)),
        dict(label=BELOW + "dev<br>accuracy", values=dev, range=[0, 1], tickformat=".0%"),
    ]
    fig = go.Figure(
        go.Parcoords(
            line=dict(color=dev, colorscale="Viridis", cmin=0, cmax=1, showscale=False),
            dimensions=dims,
            labelangle=0,
            # below the axes: a label's second line runs down, away from the axis (at the top
            # it ran into the number that ends the axis); BELOW keeps it off the bottom one
            labelside="bottom",
            # plotly's defaults come out near 8 px in a page-wide chart: readable sizes
            labelfont=dict(size=13),
            tickfont=dict(size=12),
            rangefont=dict(size=11),
        )
    )
    fig.update_layout(
        title=dict(text="Settings → dev accuracy (one line per run)", y=0.98),
        height=420,
        margin=dict(l=45, r=45, t=70, b=95),
    )
    return fig


def _setting_axis(frame: pd.DataFrame, name: str) -> dict:
    """A parallel-coordinates axis for one more setting (the optimizer, the activation, ...):
    its values as text, one tick each, in sorted order ("full batch" for no batch size)."""
    text = [_label(v) for v in frame[name]]
    ticks = sorted(set(text))
    return dict(
        label=BELOW + name.replace("_", "<br>"),
        values=[ticks.index(t) for t in text],
        tickvals=list(range(len(ticks))),
        ticktext=ticks,
    )


def accuracy_vs_time_figure(frame: pd.DataFrame) -> go.Figure:
    """Dev accuracy against training time, one point per run, one colour per hidden size;
    diverged runs in their own trace (dark red crosses, at the accuracy they stopped with)."""
    fig = go.Figure()

    def hover(part):
        return [
            f"hidden {h} · alpha {a:g} · seed {s}<br>{it} iterations · {st}"
            for h, a, s, it, st in zip(
                part["hidden"], part["alpha"], part["seed"], part["iterations"], part["status"]
            )
        ]

    diverged = frame["status"] == Status.DIVERGED
    for k, hidden in enumerate(sorted(frame["hidden"].unique().tolist())):
        part = frame[(frame["hidden"] == hidden) & ~diverged]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["seconds"],
                y=part["dev_accuracy"],
                mode="markers",
                name=f"hidden {hidden}",
                text=hover(part),
                marker=dict(size=10, color=RUN_COLOURS[k % len(RUN_COLOURS)]),
                hovertemplate="%{text}<br>%{x:.1f} s → dev accuracy %{y:.1%}<extra></extra>",
            )
        )
    if diverged.any():
        part = frame[diverged]
        fig.add_trace(
            go.Scatter(
                x=part["seconds"],
                y=part["dev_accuracy"].fillna(0.0),
                mode="markers",
                name="diverged",
                text=hover(part),
                marker=dict(size=11, symbol="x", color=DIVERGED_COLOUR),
                hovertemplate="%{text}<br>%{x:.1f} s → dev accuracy %{y:.1%}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Dev accuracy versus training time",
        xaxis_title="training time (s)",
        yaxis_title="dev accuracy",
        yaxis_range=[0, 1],
        yaxis_tickformat=".0%",  # percent, as the table above and every other page show it
        height=400,
        margin=dict(l=60, r=20, t=50, b=50),
        legend_title_text="runs",
    )
    return fig


# --------------------------------------------------------------------------------------------
# Sweep screen
# --------------------------------------------------------------------------------------------
def search_figure(table: pd.DataFrame) -> go.Figure:
    """A random search's settings: alpha (log scale) against hidden units, one marker per
    setting coloured by its mean dev accuracy over seeds (the text gives mean ± sd and the
    number of seeds); settings with a diverged seed are dark red crosses, settings not run yet
    grey."""
    from views.significance import summary

    fig = go.Figure()
    done, bad, pending = [], [], []
    for (alpha, hidden), cell in table.groupby(["alpha", "hidden"], sort=True):
        s = summary(cell.loc[cell["status"] != Status.DIVERGED, "dev_accuracy"])
        entry = (alpha, hidden, s, f"alpha {alpha:g} · hidden {hidden}<br>{s.text()}")
        if (cell["status"] == Status.DIVERGED).any():
            bad.append(entry)
        elif s.n:
            done.append(entry)
        else:
            pending.append(entry)
    if done:
        fig.add_trace(
            go.Scatter(
                x=[e[0] for e in done],
                y=[e[1] for e in done],
                mode="markers",
                name="trained",
                text=[e[3] for e in done],
                marker=dict(
                    size=14,
                    color=[e[2].mean for e in done],
                    colorscale="Viridis",
                    colorbar=dict(title="mean dev accuracy", tickformat=".0%"),
                    line=dict(width=1, color="#444"),
                ),
                hovertemplate="%{text}<extra></extra>",
            )
        )
    for entries, name, marker in (
        (bad, "diverged (a seed blew up)", dict(size=13, symbol="x", color=DIVERGED_COLOUR)),
        (pending, "not run yet", dict(size=11, color=NOT_RUN_COLOUR, line=dict(width=1))),
    ):
        if entries:
            fig.add_trace(
                go.Scatter(
                    x=[e[0] for e in entries],
                    y=[e[1] for e in entries],
                    mode="markers",
                    name=name,
                    text=[e[3] for e in entries],
                    marker=marker,
                    hovertemplate="%{text}<extra></extra>",
                )
            )
    fig.update_layout(
        title="Random search: each point one setting, coloured by mean dev accuracy over seeds",
        xaxis=dict(title="learning rate alpha (log scale)", type="log"),
        yaxis=dict(title="hidden units"),
        height=440,
        margin=dict(l=60, r=20, t=60, b=50),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


_AXIS_TITLES = {
    "hidden": "hidden units",
    "alpha": "learning rate alpha",
    "seed": "seed",
    "init": "initialisation",
    "dtype": "dtype",
    "batch_size": "batch size",
}


def heatmap_figure(data, links: np.ndarray | None = None, title: str | None = None) -> go.Figure:
    """Mean of the data's metric (dev accuracy, loss, ECE or NLL) over two settings
    (``views.grid.HeatmapData``); the better end of the colour scale is yellow whichever way
    the metric points. Cells show
    "mean ± spread"; diverged cells are dark red with the text "diverged"; cells with no run are
    grey; the best cell is outlined and starred. An invisible marker sits at each cell centre with
    ``customdata`` = the cell's link (``links[row, col]``) so a click can open that run."""
    xs = [_label(v) for v in data.x_values]
    ys = [_label(v) for v in data.y_values]
    state = data.state
    text = np.array(data.text, dtype=object)
    if data.best is not None:
        text[data.best] = "★ " + text[data.best]
    finite = data.mean[np.isfinite(data.mean)]
    zmin = float(finite.min()) if finite.size else 0.0
    zmax = float(finite.max()) if finite.size else 1.0
    if zmax - zmin < 0.01:
        zmin, zmax = zmin - 0.005, zmax + 0.005
    ok = np.isin(state, ["ok", "partial"])
    ok_z = np.where(ok, data.mean, np.nan)
    hover = np.empty(data.mean.shape, dtype=object)
    for i, yv in enumerate(data.y_values):
        for j, xv in enumerate(data.x_values):
            hover[i, j] = (
                f"{_AXIS_TITLES.get(data.y, data.y)} {_label(yv)} · "
                f"{_AXIS_TITLES.get(data.x, data.x)} {_label(xv)}<br>{data.text[i, j]}"
                f"<br>{data.count[i, j]} of {data.expected[i, j]} runs"
                f"{f', {data.diverged[i, j]} diverged' if data.diverged[i, j] else ''}"
            )
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            # Each trace labels only its own cells: plotly draws text on NaN cells too, and a white
            # label of an overlay on top of a bright cell would be unreadable.
            x=xs,
            y=ys,
            z=ok_z,
            zmin=zmin,
            zmax=zmax,
            colorscale="Viridis" if getattr(data, "higher_is_better", True) else "Viridis_r",
            text=np.where(ok, text, ""),
            texttemplate="%{text}",
            textfont=dict(size=13),
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            xgap=2,
            ygap=2,
            name=getattr(data, "label", "dev accuracy"),
            hoverinfo="skip" if links is not None else None,
            colorbar=dict(
                title=dict(text="mean<br>" + getattr(data, "label", "dev accuracy")),
                # accuracy in percent, as everywhere else in the app
                tickformat=".1%"
                if getattr(data, "metric", "dev_accuracy") == "dev_accuracy"
                else None,
            ),
        )
    )
    for mask_state, colour, name in (
        ("diverged", DIVERGED_COLOUR, "diverged"),
        ("not run", NOT_RUN_COLOUR, "not run"),
    ):
        mask = state == mask_state
        if mask.any():
            fig.add_trace(
                go.Heatmap(
                    x=xs,
                    y=ys,
                    z=np.where(mask, 1.0, np.nan),
                    zmin=0,
                    zmax=1,
                    colorscale=[[0, colour], [1, colour]],
                    showscale=False,
                    text=np.where(mask, text, ""),
                    texttemplate="%{text}",
                    textfont=dict(size=13, color="white" if mask_state == "diverged" else "#444"),
                    customdata=hover,
                    hovertemplate="%{customdata}<extra></extra>",
                    xgap=2,
                    ygap=2,
                    hoverinfo="skip" if links is not None else None,
                    name=name,
                )
            )
    if links is not None:
        # Heatmap cells cannot be selected in Streamlit; these near-invisible markers can. They
        # carry the hover text too (the heatmaps skip hover so the label is not shown twice).
        cx, cy, cd, ht = [], [], [], []
        for i, yl in enumerate(ys):
            for j, xl in enumerate(xs):
                if links[i, j]:
                    cx.append(xl)
                    cy.append(yl)
                    cd.append(links[i, j])
                    ht.append(hover[i, j] + "<br><i>click to open this run</i>")
        fig.add_trace(
            go.Scatter(
                x=cx,
                y=cy,
                customdata=cd,
                text=ht,
                mode="markers",
                name="open run",
                marker=dict(size=48, symbol="square", color="rgba(0,0,0,0.01)"),
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            )
        )
    if data.best is not None:
        i, j = data.best
        fig.add_shape(
            type="rect",
            x0=j - 0.5,
            x1=j + 0.5,
            y0=i - 0.5,
            y1=i + 0.5,
            line=dict(color="#ff2d95", width=4),
            xref="x",
            yref="y",
        )
    fig.update_xaxes(title_text=_AXIS_TITLES.get(data.x, data.x), type="category")
    fig.update_yaxes(title_text=_AXIS_TITLES.get(data.y, data.y), type="category")
    best_text = ""  # on a line of its own under the title: one line would not fit a phone
    if data.best is not None:
        i, j = data.best
        best_text = (
            f"best ★: {_AXIS_TITLES.get(data.y, data.y)} {_label(data.y_values[i])}, "
            f"{_AXIS_TITLES.get(data.x, data.x)} {_label(data.x_values[j])}"
        )
    fig.update_layout(
        title=dict(
            text=title
            or f"{upper_first(getattr(data, 'label', 'dev accuracy'))}, mean ± spread over seeds",
            subtitle=dict(text=best_text if title is None else ""),
        ),
        height=max(320, 90 * len(ys) + 150),
        margin=dict(l=70, r=20, t=80 if best_text else 60, b=60),
        plot_bgcolor="white",
        clickmode="event+select",
        dragmode=False,
    )
    return fig


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "full batch" if value is None else str(value)


# --------------------------------------------------------------------------------------------
# Compare screen
# --------------------------------------------------------------------------------------------
CHANGE_DETAIL = "blue = better, red = worse (off the diagonal: fewer errors)"


def confusion_change_figure(
    improvement: np.ndarray, cm_a: np.ndarray, cm_b: np.ndarray, detail: str = ""
) -> go.Figure:
    """Which (true, predicted) cells got better or worse from A to B. Colour = improvement
    (diverging, white at 0): blue = better (more correct on the diagonal, fewer errors off it),
    red = worse. Cell text is the signed change in that count. ``detail``: a line under the title
    (e.g. :data:`CHANGE_DETAIL`)."""
    improvement = np.asarray(improvement)
    change = np.asarray(cm_b) - np.asarray(cm_a)
    k = improvement.shape[0]
    labels = [str(d) for d in range(k)]
    limit = max(1, int(np.abs(improvement).max()))
    text = np.where(change == 0, "", np.char.mod("%+d", change))
    hover = np.empty(improvement.shape, dtype=object)
    for t in range(k):
        for p in range(k):
            kind = "correct" if t == p else f"true {t} read as {p}"
            verdict = (
                "better"
                if improvement[t, p] > 0
                else "worse"
                if improvement[t, p] < 0
                else "no change"
            )
            hover[t, p] = f"{kind}: A {cm_a[t, p]}, B {cm_b[t, p]} ({change[t, p]:+d}, {verdict})"
    fig = go.Figure(
        go.Heatmap(
            z=improvement,
            x=labels,
            y=labels,
            zmin=-limit,
            zmax=limit,
            zmid=0,
            colorscale=IMPROVEMENT_SCALE,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            xgap=1,
            ygap=1,
            colorbar=dict(
                title=dict(text="B vs A"),
                tickvals=[-limit, 0, limit],
                ticktext=[f"worse ({limit})", "same", f"better ({limit})"],
            ),
        )
    )
    # constrain="domain": the square cells shrink the plot area, not the axis ranges, so the
    # tick labels stay next to the grid (as on the Evaluate page)
    fig.update_xaxes(
        title_text="predicted label", type="category", side="bottom", constrain="domain"
    )
    fig.update_yaxes(
        title_text="true label", type="category", autorange="reversed", constrain="domain"
    )
    fig.update_layout(
        title=dict(
            text="Confusion change B − A",  # the details under it: one line overflows a phone
            subtitle=dict(text=detail),
        ),
        height=520,
        margin=dict(l=60, r=20, t=80 if detail else 60, b=50),
        yaxis_scaleanchor="x",
        plot_bgcolor="white",
    )
    return fig


GALLERY_COLUMNS = 5  # ten a row left a phone's captions ~3 px apart, read as one line
GALLERY_ROW_PX = 100  # a row's height (tile and caption) on a wide screen


def gallery_figure(
    images: np.ndarray,
    captions: Sequence[str],
    title: str,
    columns: int = GALLERY_COLUMNS,
    detail: str = "",
) -> go.Figure:
    """Digits as one mosaic (ink dark on white, upright), each tile captioned underneath, five a
    row as on the Weights page; ``detail``: a line under the title."""
    images = np.asarray(images).reshape(-1, 28, 28)
    n = len(images)
    fig = go.Figure()
    if n == 0:
        fig.add_annotation(
            text="none",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            font=dict(size=16),
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        fig.update_layout(
            title=dict(text=title, subtitle=dict(text=detail)),
            height=160,
            margin=dict(l=10, r=10, t=70 if detail else 50, b=10),
        )
        return fig
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    tile, pad, caption_h = 28, 2, 10
    cell_h = tile + pad + caption_h
    mosaic = np.full((rows * cell_h, columns * (tile + pad)), np.nan)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        mosaic[r * cell_h : r * cell_h + tile, c * (tile + pad) : c * (tile + pad) + tile] = image
    fig.add_trace(
        go.Heatmap(
            z=mosaic, colorscale="Greys", zmin=0, zmax=255, showscale=False, hoverinfo="skip"
        )
    )
    for k, caption in enumerate(captions[:n]):
        r, c = divmod(k, columns)
        fig.add_annotation(
            x=c * (tile + pad) + tile / 2,
            y=r * cell_h + tile + caption_h / 2 + 0.5,
            text=caption,
            showarrow=False,
            font=dict(size=12, color="#222"),
        )
    fig.update_xaxes(visible=False, range=[-1, columns * (tile + pad)])
    # a narrower screen draws the rows smaller from the top down: the room left is under them
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constraintoward="top")
    fig.update_layout(
        title=dict(text=title, subtitle=dict(text=detail)),
        height=int(60 + rows * GALLERY_ROW_PX) + (20 if detail else 0),
        plot_bgcolor="white",
        margin=dict(l=10, r=10, t=70 if detail else 50, b=10),
    )
    return fig

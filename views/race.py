"""A race of optimizers: the same network and data trained with two to four update rules at their
usual learning rates, curves overlaid. Plain functions, no Streamlit: what the racers are, the
URL's ``race`` value, the overlaid figure and the finishing table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.config import Settings
from views import figures
from views.format import decimals_apart, listed, pct, percent_column, shown_difference

#: The racers and the settings each changes: the usual learning rate of each rule for this
#: network (on the sample, 300 iterations: gd 0.1 as the notebook; momentum and Nesterov at 0.05
#: with mu 0.9 -- 0.1 moves as fast as gd at 1.0; Adam at 0.01, where 0.001 is still slow).
RACERS: dict[str, dict] = {
    "gd": {"optimizer": "gd", "alpha": 0.1},
    "momentum": {"optimizer": "momentum", "alpha": 0.05, "momentum": 0.9},
    "nesterov": {"optimizer": "nesterov", "alpha": 0.05, "momentum": 0.9},
    "adam": {"optimizer": "adam", "alpha": 0.01},
}
NAMES = {"gd": "GD", "momentum": "Momentum", "nesterov": "Nesterov", "adam": "Adam"}
DEFAULT_RACE = ("gd", "momentum", "adam")
MIN_RACERS, MAX_RACERS = 2, 4
COLORS = {"gd": "#444444", "momentum": "#1f77b4", "nesterov": "#2ca02c", "adam": "#d62728"}
#: The dev accuracy a racer's "reached at" column reports the first iteration of.
TARGET = 0.85


def parse_race(text: str | None) -> tuple[str, ...]:
    """The racers of the URL's ``race`` value ("gd,momentum,adam"); ValueError naming what is
    wrong. Order kept, duplicates dropped."""
    names = tuple(dict.fromkeys(t.strip() for t in (text or "").split(",") if t.strip()))
    unknown = [n for n in names if n not in RACERS]
    if unknown:
        raise ValueError(f"race must name racers of {', '.join(RACERS)}, got {unknown[0]!r}")
    if not MIN_RACERS <= len(names) <= MAX_RACERS:
        raise ValueError(
            f"a race needs {MIN_RACERS} to {MAX_RACERS} racers, got {len(names)} ({text!r})"
        )
    return names


def format_race(names: Sequence[str]) -> str:
    return ",".join(names)


def racers(settings: Settings, names: Sequence[str]) -> dict[str, Settings]:
    """Each racer's settings: ``settings`` (network, data, length, seed...) with the racer's
    optimizer and learning rate."""
    return {name: replace(settings, **RACERS[name]) for name in names}


def label(name: str, settings: Settings) -> str:
    return f"{NAMES[name]} (alpha {settings.alpha:g})"


def race_figure(
    histories: Mapping[str, object],
    labels: Mapping[str, str],
    total: int | None = None,
    finals: Mapping[str, object] | None = None,
) -> go.Figure:
    """Training loss (top) and dev accuracy (bottom) of every racer, overlaid: ``histories``
    maps a racer to its nnmath.History (possibly still growing). ``finals``: the racers' results,
    whose numbers after the last update (the table's, which the history has no row for) end
    the curves."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for name, history in histories.items():
        n = len(history.loss)
        x = np.arange(n)
        loss, dev = figures._clean(history.loss), figures._clean(history.dev_accuracy)
        end = figures.after_last_update((finals or {}).get(name), n)
        if end is not None:  # the curves end on the table's numbers
            x = np.append(x, n)
            loss = np.append(loss, figures._clean([end["loss"]]))
            dev = np.append(dev, figures._clean([end["dev_accuracy"]]))
        style = dict(color=COLORS[name], width=2)
        fig.add_trace(
            go.Scatter(
                x=x, y=loss, name=labels[name], legendgroup=name,
                line=style, hovertemplate="iteration %{x}<br>loss %{y:.4f}<extra></extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=x, y=dev, name=labels[name], legendgroup=name,
                showlegend=False, line=style,
                hovertemplate="iteration %{x}<br>dev accuracy %{y:.1%}<extra></extra>",
            ),
            row=2, col=1,
        )  # fmt: skip
    if total:
        fig.update_xaxes(range=[0, total])
    fig.update_yaxes(title_text="training loss", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="dev accuracy", tickformat=".0%", row=2, col=1)
    fig.update_xaxes(title_text="iteration", row=2, col=1)
    fig.update_layout(
        height=520,
        margin=dict(l=60, r=20, t=20, b=50),
        # above the curves, growing upward: on a phone its entries wrap to more rows and the
        # top margin grows to hold them (it covered the start of the loss curves)
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return figures.white(fig)


def race_table(results: Mapping[str, object], labels: Mapping[str, str]) -> pd.DataFrame:
    """One row per racer, best dev accuracy first: final loss and accuracies (in percent, for
    format.PERCENT_COLUMN), and the first iteration at which dev accuracy reached :data:`TARGET`
    (None: never)."""
    rows = []
    for name, r in results.items():
        dev = np.asarray(r.history.dev_accuracy)
        reached = np.flatnonzero(dev >= TARGET)  # row i: after i updates
        if not reached.size and _score(float(r.dev_accuracy)) >= TARGET:
            reached = np.array([r.iterations])  # only the final parameters (not in the history)
        rows.append(
            {
                "racer": labels[name],
                "dev accuracy": float(r.dev_accuracy),
                "train accuracy": float(r.train_accuracy),
                "loss": float(r.loss),
                f"dev ≥ {TARGET:.0%} at iteration": int(reached[0]) if reached.size else None,
                "status": str(r.status),
            }
        )
    frame = pd.DataFrame(rows)
    frame = frame.sort_values("dev accuracy", ascending=False, kind="stable").reset_index(drop=True)
    for column in ("dev accuracy", "train accuracy"):  # percent, drawn with PERCENT_COLUMN
        frame[column] = percent_column(frame[column])
    return frame


def winner(results: Mapping[str, object]) -> str:
    """The racer with the best final dev accuracy (the first listed on a tie)."""
    return max(results, key=lambda n: _score(results[n].dev_accuracy))


def winner_text(results: Mapping[str, object], labels: Mapping[str, str]) -> str:
    """The race's outcome in one sentence: the winner, its dev accuracy and its lead over the
    runner-up, both written with the decimals that tell them apart (two shares of a large dev set
    may both read 97.3%); a tie is said to be one, not won by the first listed."""
    best = winner(results)
    top = _score(results[best].dev_accuracy)
    tied = [n for n in results if _score(results[n].dev_accuracy) == top]
    after = f"after {results[best].iterations:,} iterations"
    if top < 0:  # no racer has a dev accuracy to compare (every one diverged to nan)
        return "No racer finished with a dev accuracy: each one diverged (see the table)."
    if len(tied) > 1:
        return (
            f"{listed(labels[n] for n in tied)} tied first: dev accuracy {pct(top)} each {after}."
        )
    rest = [n for n in results if n != best]
    second = max(rest, key=lambda n: _score(results[n].dev_accuracy))
    runner = _score(results[second].dev_accuracy)
    if runner < 0:  # every other racer diverged or has no dev accuracy
        return f"{labels[best]} finished first: dev accuracy {pct(top)} {after}."
    fmt = f".{decimals_apart(top, runner, start=1)}%"
    lead = shown_difference(top, runner, fmt)
    return (
        f"{labels[best]} finished first: dev accuracy {top:{fmt}} {after}, {lead} points ahead "
        f"of {labels[second]}, at {runner:{fmt}}."
    )


def _score(x: float) -> float:
    return x if math.isfinite(x) else -1.0

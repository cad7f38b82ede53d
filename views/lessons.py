"""The figures a lesson's read step can show (engine.lessons.FIGURES), for the step's run: plain
functions of the run's result, its data and the step's facts. No Streamlit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from engine.lessons import FIGURES
from views import explore, figures, metrics

ACCURACY_GRID = 0.2  # the curves' accuracy gridlines: 0%, 20%, … 100%


def figure(name: str, result, train, dev, scope: Mapping[str, Any]) -> go.Figure:
    """Figure ``name`` (one of engine.lessons.FIGURES) of a run: its nnmath.TrainResult, its
    training and dev sets (data.Dataset) and the step's facts (engine.lessons.facts)."""
    if name not in FIGURES:
        raise ValueError(f"name must be one of {', '.join(FIGURES)}, got {name!r}")
    if name == "curves":  # a gridline every 20%: "when did dev reach 80%?" is read off it
        fig = figures.training_curves(result.history, height=380)
        return fig.update_layout(yaxis2=dict(dtick=ACCURACY_GRID))
    if name == "digit":
        i = int(scope["image"])
        return figures.digit_image(
            dev.images[i], title=f"dev image {i}: a {scope['y']}", height=300
        )
    if name == "samples":
        images, captions, hover = explore.sample_grid(train, per_digit=3)
        return figures.digit_grid(images, captions, hover=hover)
    if name == "probabilities":
        return figures.probability_bars(scope["A2"], int(scope["y"]), int(scope["pred"]))
    if name == "confusion":
        return figures.confusion_heatmap(scope["confusion"])
    if name == "confidence":
        ev = metrics.evaluate(result.params, dev, activation=result.config.activation)
        return figures.confidence_histogram(*metrics.confidence_split(ev))
    if name == "hidden":
        return figures.hidden_units(result.params.W1, cols=5)
    if name == "hidden-change":  # the random start subtracted: the learned strokes show
        return figures.hidden_units(result.params.W1, cols=5, start=result.snapshot(0).W1)
    return figures.output_weights(result.params.W2)

"""Figures and sentences for "why did the network answer this?": plain functions of
:class:`nnmath.Explanation` / :class:`nnmath.Counterfactual` results, tested without Streamlit.

Colours: one diverging scale centred on zero everywhere on these screens. Red pushes toward the
answer being explained (``target``), blue toward the alternative (``versus``); on the
counterfactual's change map red is ink added, blue ink removed.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go

import nnmath
from nnmath.explain import PIECEWISE_LINEAR
from views.figures import COLORS, _layout, digit_bars, digit_image, symmetric_limit
from views.format import as_shown, decimals_adding_up, decimals_apart, written_sum

SCALE = "RdBu_r"  # negative blue, zero white, positive red
TOWARD = "#c62828"  # red end of SCALE
AGAINST = "#1565c0"  # blue end of SCALE


def default_pair(probs, true: int | None = None) -> tuple[int, int]:
    """(target, versus) to explain by default: the prediction versus the runner-up, or, for a
    mistake (``true`` known and different), the prediction versus the true digit."""
    # most likely first; among equal probabilities the lowest digit first, as argmax picks it
    order = np.argsort(-np.asarray(probs, dtype=float), kind="stable")
    pred = int(order[0])
    if true is not None and int(true) != pred:
        return pred, int(true)
    return pred, int(order[1])


def cannot_explain(activation: str) -> str | None:
    """Why the Why page cannot split a run with this hidden activation into exact shares, in
    plain words (None when it can: ReLU and identity)."""
    if activation in PIECEWISE_LINEAR:
        return None
    return (
        f"This run's hidden units use the {activation} activation, which is curved. Why can "
        "split an answer into exact shares only when each hidden unit is a straight line once "
        "the image has switched it on or off, as with ReLU (the notebook's) or identity. Train "
        "the same settings with ReLU to see every pixel's share."
    )


def logit_name(target: int, versus: int | None) -> str:
    """'z7 − z1' (or 'z7' when there is no alternative)."""
    return f"z{target}" if versus is None else f"z{target} − z{versus}"


def completeness_holds(e) -> bool:
    """Whether the explanation's numbers are finite, so its shares can add up to the logit
    difference: a run whose weights overflow (a model scaled by 1e300) gives inf and NaN, and
    "difference nan" is no check that held."""
    parts = (float(e.pixels.sum()), e.bias, e.total, float(e.hidden.sum()), e.output_bias)
    return all(math.isfinite(float(v)) for v in parts)


def not_finite_sentence(e) -> str:
    """What Why says instead of the completeness check when :func:`completeness_holds` fails."""
    return (
        f"The numbers of this explanation are not finite ({logit_name(e.target, e.versus)} = "
        f"{e.total:g}): this run's weights overflow on this image, so the pixels' shares cannot "
        "add up to the answer and no check is shown. Train with a smaller alpha, or use another "
        "model."
    )


#: At most this many decimals: the shares are float64 sums over a float32 network, whose own
#: logits agree with them to about 1e-6; more digits would be ones its forward pass disagrees with.
MOST_DECIMALS = 5


def decimals(e) -> int:
    """How many decimals the Why page writes this explanation's numbers with: the fewest (3 to
    MOST_DECIMALS) at which every sum it shows adds up as written: pixels + bias, the bias's two
    parts, the waterfall's three parts and the hidden units + output bias, each = z_target −
    z_versus. (With 3 for all, 2.698 − 0.345 − 0.395 = 1.958 stood under a total of 1.959.)
    For the few where none does: 3, and each sentence says what its written parts add up to."""
    if not completeness_holds(e):  # inf and nan add up to nothing at any precision
        return 3
    pixels, hidden_bias = float(e.pixels.sum()), e.bias - e.output_bias
    found = decimals_adding_up(
        [
            ((pixels, e.bias), e.total),
            ((hidden_bias, e.output_bias), e.bias),
            ((pixels, hidden_bias, e.output_bias), e.total),
            ((float(e.hidden.sum()), e.output_bias), e.total),
        ],
        most=MOST_DECIMALS,
    )
    return 3 if found is None else found


def _as_written(parts, total: float, d: int) -> str:
    """'' when ``parts`` written with ``d`` decimals add up to ``total`` written so; else what
    they do add up to, so that no written sum is left unexplained."""
    written = written_sum(parts, f".{d}f")
    if written == as_shown(total, f".{d}f"):
        return ""
    return f"; as written, rounded to {d} decimals, the two add up to {written}"


def completeness_sentence(e) -> str:
    """'the pixels' shares and the bias add up to the score difference exactly: 2.871 + 0.541 =
    3.412 = z7 − z1 (difference 2e-16, i.e. rounding)': the claim and its check, every number
    shown, with :func:`decimals` so that the numbers written add up too."""
    d = decimals(e)
    pixels = float(e.pixels.sum())
    diff = pixels + e.bias - e.total
    return (
        f"the pixels' shares and the bias add up to the score difference "
        f"{_exactly(diff, e.total)}: pixels + bias = {pixels:.{d}f} {_signed(e.bias, d)} = "
        f"{pixels + e.bias:.{d}f} = {logit_name(e.target, e.versus)} = {e.total:.{d}f} "
        f"({_difference(diff, e.total)}{_as_written((pixels, e.bias), e.total, d)})"
    )


def hidden_sentence(e) -> str:
    """The same check through the hidden units: 'hidden units + output bias = … = z7 − z1'."""
    d = decimals(e)
    hidden = float(e.hidden.sum())
    diff = hidden + e.output_bias - e.total
    return (
        f"The hidden units' shares and the output bias add up {_exactly(diff, e.total)} too: "
        f"hidden units + output bias = {hidden:.{d}f} {_signed(e.output_bias, d)} = "
        f"{hidden + e.output_bias:.{d}f} = {logit_name(e.target, e.versus)} = {e.total:.{d}f} "
        f"({_difference(diff, e.total)}{_as_written((hidden, e.output_bias), e.total, d)})"
    )


def answer_sentence(e, probs, true: int | None) -> str:
    """The Why page's first line: the answer, its probability, the truth, and the logit
    difference being explained (written with :func:`decimals`, as in the sums below it)."""
    probs = np.asarray(probs, dtype=float)
    pred = int(probs.argmax())
    said = f"It answers **{pred}** ({probs[pred]:.0%})" + (
        "" if true is None else f"; the true digit is **{true}**" + (" ✓" if true == pred else " ✗")
    )
    prefers = e.target if e.total > 0 else e.versus
    return (
        f"{said}. Explaining **{e.target}** rather than **{e.versus}**: "
        f"{logit_name(e.target, e.versus)} = **{e.total:.{decimals(e)}f}** (it prefers {prefers})."
    )


def bias_sentence(e) -> str:
    """The bias part and its two parts, which add up as written (or it says what they add up to)."""
    d = decimals(e)
    hidden_bias = e.bias - e.output_bias
    written = _as_written((hidden_bias, e.output_bias), e.bias, d)
    return (
        f"Bias part {e.bias:+.{d}f}: the active hidden units' biases {hidden_bias:+.{d}f} plus "
        f"the output bias of digit {e.target} minus that of digit {e.versus} "
        f"(b2[{e.target}] − b2[{e.versus}]) = {e.output_bias:+.{d}f}"
        + (f" ({written.removeprefix('; ')})." if written else ".")
    )


def _signed(v: float, d: int = 3) -> str:
    return f"+ {v:.{d}f}" if v >= 0 else f"− {-v:.{d}f}"


def _tiny(v: float) -> str:
    return "0" if v == 0 else f"{abs(v):.0e}"


def _rounding(diff: float, total: float) -> bool:
    """Whether the parts miss the total by float rounding only (~1e-15 of its size here)."""
    return abs(diff) <= 1e-9 * max(1.0, abs(total))


def _exactly(diff: float, total: float) -> str:
    return "exactly" if _rounding(diff, total) else "only approximately"


def _difference(diff: float, total: float) -> str:
    if diff == 0:
        return "difference 0"
    return f"difference {_tiny(diff)}" + (", i.e. rounding" if _rounding(diff, total) else "")


def _toward(e) -> str:
    return f"toward {e.target}" + ("" if e.versus is None else f" (red) vs {e.versus} (blue)")


def pixel_heatmap(e, height: int = 420) -> go.Figure:
    """Each pixel's share of ``total`` as a 28x28 map, on a scale centred on zero: red pixels
    push toward ``target``, blue toward ``versus``; the colour bar says so at its ends."""
    share = e.pixels.reshape(28, 28)
    limit = symmetric_limit(share)
    against = "lower" if e.versus is None else str(e.versus)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            zmin=-limit,
            zmax=limit,
            zmid=0,
            colorscale=SCALE,
            customdata=e.x.reshape(28, 28),
            colorbar=dict(
                title=dict(text="share", side="top"),
                tickvals=[-limit, 0, limit],
                ticktext=[f"→ {against}", "0", f"→ {e.target}"],
                thickness=14,
            ),
            hovertemplate="row %{y}, col %{x}: pixel %{customdata:.2f}, share %{z:+.4f}"
            "<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    fig = _layout(fig, height=height, title=f"Pixel shares {_toward(e)}")
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10))
    return fig


def hidden_bars(e, height: int = 320) -> go.Figure:
    """Each hidden unit's share A1_j · (W2[j, target] − W2[j, versus]); units that are off carry
    nothing and are marked so."""
    h = e.hidden.shape[0]
    on = e.active > 0
    colors = [TOWARD if v > 0 else AGAINST if v < 0 else "#b0b0b0" for v in e.hidden]
    fig = go.Figure(
        go.Bar(
            x=np.arange(h),
            y=e.hidden,
            marker_color=colors,
            text=["" if a else "off" for a in on],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="unit %{x}: %{y:+.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="hidden unit", tickmode="linear" if h <= 32 else "auto", dtick=1),
        yaxis=dict(title=f"share of {logit_name(e.target, e.versus)}", zeroline=True),
        showlegend=False,
    )
    return _layout(fig, height=height, title=f"Hidden units {_toward(e)}")


def parts_waterfall(e, height: int = 320) -> go.Figure:
    """pixels + hidden biases + output bias = total, as a waterfall whose last bar is the forward
    pass's own logit difference (so the reader sees the sum land on it)."""
    pixels = float(e.pixels.sum())
    hidden_bias = e.bias - e.output_bias
    d = decimals(e)  # the three bars' labels add up to the last one's as written
    names = [
        "pixels",
        "hidden biases (active units)",
        "output bias",
        logit_name(e.target, e.versus),
    ]
    fig = go.Figure(
        go.Waterfall(
            x=names,
            y=[pixels, hidden_bias, e.output_bias, e.total],
            measure=["relative", "relative", "relative", "total"],
            text=[f"{v:+.{d}f}" for v in (pixels, hidden_bias, e.output_bias)]
            + [f"{e.total:.{d}f}"],
            textposition="outside",
            increasing=dict(marker=dict(color=TOWARD)),
            decreasing=dict(marker=dict(color=AGAINST)),
            totals=dict(marker=dict(color="#8c8c8c")),  # mid grey: seen on light and dark pages
            connector=dict(line=dict(color="#999999", width=1)),
            hovertemplate="%{x}: %{y:+.4f}<extra></extra>",
        )
    )
    fig.update_layout(yaxis=dict(title="logit difference"), showlegend=False)
    fig = _layout(fig, height=height, title="Where the difference comes from")
    written = written_sum((pixels, hidden_bias, e.output_bias), f".{d}f")
    if completeness_holds(e) and written != as_shown(e.total, f".{d}f"):  # see decimals()
        fig.update_layout(title_subtitle_text=f"the three labels, rounded, add up to {written}")
    return fig


def activation_bars(A1, height: int = 280) -> go.Figure:
    """The hidden units' activations for one image (0 = off)."""
    A1 = np.asarray(A1, dtype=float)
    fig = go.Figure(
        go.Bar(
            x=np.arange(A1.shape[0]),
            y=A1,
            marker_color=[COLORS["now"] if a > 0 else "#b0b0b0" for a in A1],
            hovertemplate="unit %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="hidden unit", tickmode="linear" if A1.shape[0] <= 32 else "auto"),
        yaxis=dict(title="activation A1"),
    )
    return _layout(
        fig, height=height, title=f"Hidden units: {int((A1 > 0).sum())} of {A1.shape[0]} on"
    )


def change_heatmap(cf, height: int = 360) -> go.Figure:
    """The counterfactual's change x' − x as a 28x28 map: red ink added, blue ink removed."""
    change = cf.change.reshape(28, 28)
    limit = symmetric_limit(change)
    fig = go.Figure(
        go.Heatmap(
            z=change,
            zmin=-limit,
            zmax=limit,
            zmid=0,
            colorscale=SCALE,
            colorbar=dict(
                tickvals=[-limit, 0, limit],
                ticktext=["ink removed", "0", "ink added"],
                thickness=14,
            ),
            hovertemplate="row %{y}, col %{x}: %{z:+.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    fig = _layout(fig, height=height, title="The change")
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10))
    return fig


def changed_image(cf, height: int = 360) -> go.Figure:
    """The changed image, drawn like every digit in the app (0..255)."""
    return digit_image(
        cf.x.reshape(28, 28) * 255, title=f"Changed: reads {cf.target}", height=height
    )


def before_after_bars(before, after, target: int, height: int = 360) -> go.Figure:
    """The 10 probabilities before (grey) and after the change (blue; the target digit red,
    with its own legend entry so no bar is coloured against the legend). Only shares of 10% or
    more are labelled, in a readable size (plotly shrinks labels to the bar width otherwise)."""
    before, after = np.asarray(before, float), np.asarray(after, float)
    digits = np.arange(10)
    is_target = digits == target
    d = _after_decimals(after, target)  # the answer's label above the runner-up's

    def labels(p):
        return [f"{v:.{d}%}" if v >= 0.1 else "" for v in p]

    after_bar = dict(
        x=digits,
        offsetgroup="after",  # the target's bar sits where the other "after" bars do
        textposition="outside",
        cliponaxis=False,
        textfont=dict(size=12),
        hovertemplate="digit %{x}: %{y:.1%} after<extra></extra>",
    )
    fig = go.Figure(
        [
            go.Bar(
                x=digits,
                y=before,
                name="before",
                offsetgroup="before",
                marker_color="#b0b0b0",
                hovertemplate="digit %{x}: %{y:.1%} before<extra></extra>",
            ),
            go.Bar(
                y=np.where(is_target, np.nan, after),
                name="after",
                marker_color=COLORS["now"],
                text=labels(np.where(is_target, 0.0, after)),
                **after_bar,
            ),
            go.Bar(
                y=np.where(is_target, after, np.nan),
                name=f"after, digit {target}",
                marker_color=TOWARD,
                text=labels(np.where(is_target, after, 0.0)),
                **after_bar,
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        uniformtext=dict(minsize=11, mode="show"),
        xaxis=dict(title="digit", tickmode="linear", dtick=1),
        yaxis=dict(title="probability", range=[0, 1.15], tickformat=".0%"),
        # Below the chart, in the figure's bottom edge: above it, it ran into the title on a
        # phone and a narrow column. A container-placed legend reserves its own room.
        legend=dict(
            orientation="h", yref="container", y=0, yanchor="bottom", xref="container", x=0
        ),
    )
    return _layout(fig, height=height, title="Probabilities before and after")


def _runner_up(probs, target: int) -> int:
    """The most likely digit other than ``target``."""
    others = np.asarray(probs, dtype=float).copy()
    others[target] = -np.inf
    return int(np.argmax(others))


def _after_decimals(probs, target: int) -> int:
    """Decimals for the probabilities after the change: enough that the target, which the
    network now answers, is written above the runner-up (a change just past the boundary leaves
    them both at 48%)."""
    probs = np.asarray(probs, dtype=float)
    other = probs[_runner_up(probs, target)]
    return decimals_apart(probs[target], other) if probs[target] > other else 0


def _at_least(v: float, digits: int = 3) -> str:
    """A lower bound written with ``digits`` significant digits, rounded down from the float's
    exact value: 0.0010071 is 'at least 0.001' (never the 0.00101 that rounding to nearest
    writes, which it is not), and so is 0.00100999999999818."""
    if not math.isfinite(v) or v <= 0:
        return f"{v:.{digits}g}"
    exact = Decimal(v)  # the binary value itself: no rounding on the way
    step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    down = exact.quantize(step, rounding=ROUND_FLOOR)
    return f"{float(down):.{digits}g}"


def switched_units(params, image, changed, activation: str = "relu") -> tuple[int, ...]:
    """The hidden units that the counterfactual ``changed`` (784 floats in [0, 1]) switches on or
    off relative to ``image`` (0..255), in float64 as nnmath.counterfactual tests patterns."""
    if activation not in PIECEWISE_LINEAR:
        return ()
    slope = PIECEWISE_LINEAR[activation]
    W1, b1 = np.asarray(params.W1, np.float64), np.asarray(params.b1, np.float64)
    x = np.asarray(image, np.float64).reshape(-1) / 255.0
    before, after = slope(x @ W1 + b1), slope(np.asarray(changed, np.float64) @ W1 + b1)
    return tuple(int(u) for u in np.flatnonzero(before != after))


def counterfactual_sentence(cf, switched: tuple[int, ...] | None = None) -> str:
    """What the counterfactual did, in words and numbers: how many pixels it moves by more than
    0.01 (and how many by less, so the count matches the change map, where every changed pixel
    is coloured), and the new answer's probability beside the runner-up's. ``switched``
    (:func:`switched_units`): the hidden units it turns on or off; the search may settle in
    another pattern than the image's, and is then the nearest only among that pattern's images."""
    change = cf.change
    moved = int((np.abs(change) > 0.01).sum())
    slight = int(((np.abs(change) > 0) & (np.abs(change) <= 0.01)).sum())
    if not cf.flipped:
        return (
            f"No change found that makes it answer {cf.target}: the closest attempt moved "
            f"{moved} pixels by more than 0.01 (distance {cf.distance:.3f}) and it still answers "
            f"{int(np.argmax(cf.probs))}."
        )
    if cf.distance == 0:
        return f"It already answers {cf.target}: nothing to change."
    region = ""
    if switched:  # the search settled in another pattern than the image's: say which units
        units = ", ".join(str(u) for u in switched)
        which = f"unit {units}" if len(switched) == 1 else f"units {units}"
        region = f" (it switches hidden {which} on or off, unlike the original)"
    elif switched is not None:
        region = " (the same hidden units on as the original)"
    exact = (
        f"the nearest such image among those with its hidden units on and off{region}"
        if cf.exact_in_pattern
        else f"the nearest found, not provably the nearest{region}"
    )
    lead = min(cf.lead, cf.lead_run_dtype)
    second = _runner_up(cf.probs, cf.target)
    d = _after_decimals(cf.probs, cf.target)
    return (
        f"Change {moved} pixels by more than 0.01"
        + (f" ({slight} more by less)" if slight else "")
        + f", the largest by {np.abs(change).max():.2f} on the 0–1 pixel scale (L2 distance "
        f"{cf.distance:.3f}), and it answers {cf.target} ({cf.probs[cf.target]:.{d}%}, ahead of "
        f"{second} at {cf.probs[second]:.{d}%}; its score beats every other digit's by {_at_least(lead)} "
        f"or more, whether computed in float32 or float64): {exact}."
    )


class Why(NamedTuple):
    """Everything the Why page draws for one image."""

    explanation: Any  # nnmath.Explanation of target vs versus
    counterfactual: Any  # nnmath.Counterfactual toward versus
    probs: np.ndarray  # (10,) the network's probabilities for the image
    target: int
    versus: int
    switched: tuple[int, ...] = ()  # hidden units the counterfactual turns on or off


def why(
    params, image, *, true: int | None = None, target=None, versus=None, activation="relu"
) -> Why:
    """Explain ``target`` vs ``versus`` for one image (defaults from :func:`default_pair`) and
    find the counterfactual that makes the network answer ``versus`` instead (``activation``:
    the run's hidden activation)."""
    probs = look(params, image, activation=activation).probs
    d_target, d_versus = default_pair(probs, true)
    target = d_target if target is None else int(target)
    versus = d_versus if versus is None else int(versus)
    if versus == target:  # a pair from a link that names one digit twice: compare with the next
        versus = next(int(d) for d in np.argsort(-probs, kind="stable") if int(d) != target)
    cf = nnmath.counterfactual(params, image, versus, activation=activation)
    return Why(
        nnmath.explain(params, image, target, versus, activation=activation),
        cf,
        probs,
        target,
        versus,
        switched_units(params, image, cf.x, activation),
    )


class Look(NamedTuple):
    probs: np.ndarray  # (10,)
    hidden: np.ndarray  # (h,) activations A1
    prediction: int


def look(params, image, *, activation="relu") -> Look:
    """What the network makes of one image (28, 28) uint8: probabilities, hidden activations
    (``activation``: the run's hidden activation)."""
    X = nnmath.scale_pixels(np.asarray(image).reshape(1, 784), params.dtype)
    cache = nnmath.forward_propagation(params, X, activation=activation)
    return Look(cache.A2[0], cache.A1[0], int(np.argmax(cache.A2[0])))


def prediction_bars(probs, height: int = 300) -> go.Figure:
    """The 10 probabilities of one image with no known label: the prediction highlighted."""
    pred = int(np.argmax(np.asarray(probs, dtype=float)))
    colors = [COLORS["now"] if d == pred else "#b0b0b0" for d in range(10)]
    return digit_bars(
        probs, colors, title=f"The 10 probabilities: {pred} is the most likely", height=height
    )

"""The Math page's content: one image through one training step, equation by equation, in the
notebook's order, each with its LaTeX (the notation of nnmath's package docstring), the line of
nnmath/network.py that computes it (read from the source), its shape and its real numbers.

The numbers are nnmath.trace_step's, which calls the library's own functions. No Streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from nnmath.network import make_predictions, scale_pixels
from nnmath.trace import SourceLine, StepTrace, equation_line, trace_step
from views import figures
from views.format import shown_difference, written_sum


@dataclass(frozen=True)
class Equation:
    name: str  # the quantity, as in nnmath's notation (also the key of equation_line)
    latex: str
    meaning: str
    numpy: str = ""  # the same line as a textbook writes it in NumPy (m images as rows)


# In the order of forward_propagation, cross_entropy, backward_propagation and update_params.
FORWARD = (
    Equation(
        "Z1",
        r"Z_1 = X\,W_1 + b_1",
        "Each hidden unit adds up the pixels, each times its weight, plus its bias.",
        numpy="Z1 = X @ W1 + b1",
    ),
    Equation(
        "A1",
        r"A_1 = g(Z_1) = \max(Z_1, 0)",
        "ReLU: a unit with a negative sum outputs 0 (it is silent for this image).",
        numpy="A1 = np.maximum(Z1, 0)",
    ),
    Equation(
        "Z2",
        r"Z_2 = A_1\,W_2 + b_2",
        "Each digit's score: the hidden outputs, each times its vote for that digit, plus a bias.",
        numpy="Z2 = A1 @ W2 + b2",
    ),
    Equation(
        "A2",
        r"A_2 = \mathrm{softmax}(Z_2),\quad A_{2,k} = \frac{e^{Z_{2,k}}}{\sum_j e^{Z_{2,j}}}",
        "Scores become probabilities that add up to 1.",
        numpy="A2 = np.exp(Z2) / np.exp(Z2).sum(axis=1, keepdims=True)",
    ),
    Equation(
        "L",
        r"L = -\frac{1}{m}\sum Y \odot \log A_2 = -\log A_{2,y}\quad(m = 1)",
        "The loss: minus the log of the probability given to the true digit.",
        numpy="L = -np.log(A2[np.arange(m), Y]).mean()",
    ),
)
BACKWARD = (
    Equation(
        "dZ2",
        r"dZ_2 = \frac{1}{m}(A_2 - Y)",
        "How the loss changes with each score: the probabilities minus the one-hot answer.",
        numpy="dZ2 = (A2 - one_hot(Y)) / m",
    ),
    Equation(
        "dW2",
        r"dW_2 = A_1^\top dZ_2",
        "Each hidden→digit weight's gradient: the unit's output times the digit's error.",
        numpy="dW2 = A1.T @ dZ2",
    ),
    Equation(
        "db2",
        r"db_2 = \sum_{\text{rows}} dZ_2",
        "Summed over the images (here one).",
        numpy="db2 = dZ2.sum(axis=0)",
    ),
    Equation(
        "dZ1",
        r"dZ_1 = (dZ_2\,W_2^\top) \odot g'(Z_1),\quad g'(z) = [z > 0]",
        "The error sent back to each hidden unit; silent units (Z1 ≤ 0) get none.",
        numpy="dZ1 = (dZ2 @ W2.T) * (Z1 > 0)",
    ),
    Equation(
        "dW1",
        r"dW_1 = X^\top dZ_1",
        "Each pixel→unit weight's gradient: the pixel times the unit's error, so one 28×28 "
        "image per unit (the digit itself, scaled by that unit's dZ1).",
        numpy="dW1 = X.T @ dZ1",
    ),
    Equation(
        "db1",
        r"db_1 = \sum_{\text{rows}} dZ_1",
        "Summed over the images (here one).",
        numpy="db1 = dZ1.sum(axis=0)",
    ),
)
UPDATE = Equation(
    "W1",
    r"W \leftarrow W - \alpha\, dW\quad\text{for } W_1, b_1, W_2, b_2",
    "One step downhill, alpha times the gradient.",
    numpy="W1 = W1 - alpha * dW1  # and the same for b1, W2, b2",
)

# Lines of network.py shown with an equation: dZ1 is computed in two lines (dA1, then times
# g'(Z1)), the update in four.
LINES = {"dZ1": ("dA1", "dZ1"), "W1": ("W1", "b1", "W2", "b2")}


def source_lines(name: str) -> list[SourceLine]:
    """The lines of nnmath/network.py that compute ``name``, read from the source."""
    return [equation_line(n) for n in LINES.get(name, (name,))]


def parse_source(text: str, sources) -> str:
    """Where the image comes from (``source=drawn``): one of ``sources`` (``drawn`` only when a
    drawing is in this session)."""
    if text not in sources:
        if text == "drawn":
            raise ValueError("no drawing in this session (draw one on the Draw page)")
        raise ValueError(f"source must be one of {', '.join(sources)}, got {text!r}")
    return text


def parse_dev_index(text: str, n: int) -> int:
    """A dev image index from the URL (``image=7``): a whole number in 0..n-1."""
    try:
        i = int(str(text).strip())
    except ValueError:
        raise ValueError(f"image must be a whole number (a dev index), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"image must be a dev index between 0 and {n - 1}, got {i}")
    return i


def shape(a) -> str:
    return "(" + ", ".join(str(n) for n in np.shape(a)) + ")"


@dataclass(frozen=True)
class MathStep:
    trace: StepTrace
    iteration: int
    dead: np.ndarray  # (h,) bool: zero for every training image at this snapshot
    full_before: float | None  # whole-training-set loss at this iteration (history)
    full_after: float | None  # ... after the full-batch step (None: the run ends here)


def math_step(
    result, x, y, iteration: int, dead=None, *, activation: str = "relu", next_loss=None
) -> MathStep:
    """The step of the snapshot ``iteration`` of ``result`` (nnmath.TrainResult) on image ``x``
    with label ``y``, at the run's alpha, and the same step's full-batch effect from the history
    (row i of the history is the loss of the params after i updates). At the run's last
    iteration the history has no next row: ``next_loss`` (the training loss after one more
    update, e.g. from nnmath.continue_training) fills it, else the step is reported missing."""
    params = result.snapshot(int(iteration))
    t = trace_step(params, x, y, result.config.alpha, activation=activation)
    loss = np.asarray(result.history.loss)
    before = float(loss[iteration]) if iteration < len(loss) else float(result.loss)
    if iteration + 1 < len(loss):
        after: float | None = float(loss[iteration + 1])
    elif iteration + 1 == result.iterations:
        after = float(result.loss)
    elif next_loss is not None:
        after = float(next_loss)
    else:
        after = None
    h = params.hidden
    dead = np.zeros(h, bool) if dead is None else np.asarray(dead, bool)
    return MathStep(t, int(iteration), dead, before, after)


def answer(result, image) -> int:
    """The digit the run's final network gives ``image`` (28x28 or 784 pixels, 0..255): what a
    drawing is followed toward on Math until the learner says otherwise."""
    X = scale_pixels(np.asarray(image).reshape(1, -1), result.params.dtype)  # (1, 784)
    return int(make_predictions(X, result.params, activation=result.config.activation)[0])


def header_text(what: str, ms: MathStep, iterations: int) -> str:
    """What is shown: the image, the iteration, and the dead units (listed)."""
    t = ms.trace
    dead = ", ".join(str(u) for u in np.flatnonzero(ms.dead)) or "none"
    return (
        f"**{what}**, parameters after **{ms.iteration:,}** of the run's {iterations:,} updates "
        f"(hidden {t.A1.shape[1]}, alpha {t.alpha:g}). Dead units (zero for every training "
        f"image at this iteration) are marked †: {dead}."
    )


def pixels_text(t: StepTrace) -> str:
    return (
        f"shape **{shape(t.X)}** · {int((t.X > 0).sum())} of 784 pixels are not 0 · "
        f"largest {float(t.X.max()):.3f}"
    )


def _loss(x: float) -> float:
    """A loss as written: never below 0 (-log of a float32 probability that rounds to 1 can come
    out as -1e-8, which read '-0.0000')."""
    return float(x) if x > 0 else 0.0


def loss_text(t: StepTrace) -> str:
    return f"loss for this image: **{_loss(t.loss):.4f}** (a number, shape ())"


def _down_or_up(before: float, after: float, fmt: str = ".4f") -> str:
    """'down 0.0123': the change as the two written numbers give it (their difference, not the
    rounded difference of the unrounded ones, which can miss it by 0.0001)."""
    change = shown_difference(after, before, fmt)
    return f"{'down' if after < before else 'up'} {abs(change):{fmt}}"


def loss_sentence(ms: MathStep, config=None) -> str:
    """What the notebook's plain step W − alpha dW on this image did to its loss; with the run's
    ``config`` (nnmath.TrainConfig), it also says when that is not how the run itself steps
    (another optimizer, a schedule or weight decay), so the numbers are not taken for the run's."""
    t = ms.trace
    before, after = _loss(t.loss), _loss(t.loss_after)
    text = (
        f"After this one step (alpha {t.alpha:g}, on this image alone) the loss on this image "
        f"goes from {before:.4f} to {after:.4f} ({_down_or_up(before, after)}); "
        f"its probability of the true digit {t.y} from {t.A2[0, t.y]:.4f} to "
        f"{t.A2_after[0, t.y]:.4f}."
    )
    if config is None:
        return text
    other = [config.optimizer] if config.optimizer != "gd" else []
    if config.schedule != "constant":
        other.append(f"a {config.schedule} learning-rate schedule")
    if config.weight_decay:
        other.append(f"weight decay {config.weight_decay:g}")
    if not other:
        return text
    return text + (
        " This is the notebook's plain step; the run itself steps with "
        + " and ".join(other)
        + " (below)."
    )


def full_batch_sentence(ms: MathStep, n_train: int, batch_size: int | None = None) -> str:
    """What the run's own step did at this iteration to the loss of the whole training set."""
    if batch_size is not None:
        return (
            f"This run steps on mini-batches of {batch_size:,} images: its history holds each "
            "iteration's loss on its own batch, so the whole training loss before and after "
            "its step at this iteration is not recorded."
        )
    if ms.full_after is None:
        return (
            f"The run ends at iteration {ms.iteration:,} (it diverged): the whole training loss "
            f"is {ms.full_before:.4f}, and no full-batch step follows."
        )
    return (
        f"The run's own step at iteration {ms.iteration:,} averages the gradient over all "
        f"{n_train:,} training images: it took the whole training loss from "
        f"{ms.full_before:.4f} to {ms.full_after:.4f} "
        f"({_down_or_up(ms.full_before, ms.full_after)})."
    )


def probability_text(p: float, loss: float) -> str | None:
    """``p`` with the fewest decimals (4 or more) whose minus log, written to 4 decimals, is
    ``loss`` written so: -log(0.6123) is 0.4905 while the loss of p = 0.61234 is 0.4904. None when
    no writing up to 15 decimals does (p underflowed to 0 while the loss, from the logits, did
    not)."""
    want = format(_loss(loss), ".4f")
    for d in range(4, 16):
        text = format(p, f".{d}f")
        if float(text) > 0 and format(_loss(-math.log(float(text))), ".4f") == want:
            return text
    return None


def loss_equation(t: StepTrace) -> str:
    """The loss with its number: -log(A2[y]) = -log(0.6123) = 0.4906 (LaTeX), the probability
    written with the digits that make the equation hold as written (≈ when none do)."""
    p, loss = float(t.A2[0, t.y]), _loss(t.loss)
    text = probability_text(p, t.loss)
    if text is None:
        return rf"L = -\log A_{{2,{t.y}}} \approx -\log({p:.4g}) \approx {loss:.4f}"
    return rf"L = -\log A_{{2,{t.y}}} = -\log({text}) = {loss:.4f}"


# ---- figures ----------------------------------------------------------------------------------
def step_figures(ms: MathStep) -> dict[str, go.Figure]:
    """The numbers of every quantity of the step, keyed by its name (Z1 … db1)."""
    t = ms.trace
    h = t.A1.shape[1]
    units = [str(u) for u in range(h)]
    digits = [str(d) for d in range(10)]
    silent = (t.Z1 <= 0).reshape(-1)

    def unit_bars(name: str, fmt: str):
        return vector_figure(
            getattr(t, name),
            units,
            f"{name} per hidden unit",
            detail="grey: Z1 ≤ 0, silent for this image · †: dead",
            marked=ms.dead,
            mark_text="†",
            grey=silent,
            fmt=fmt,
        )

    def digit_bars(name: str, title: str, fmt: str, detail: str = ""):
        return vector_figure(getattr(t, name), digits, title, detail=detail, highlight=t.y, fmt=fmt)

    return {
        "Z1": unit_bars("Z1", ".3f"),
        "A1": unit_bars("A1", ".3f"),
        "Z2": digit_bars("Z2", "Z2: score of each digit", ".3f", "green: the true digit"),
        "A2": digit_bars("A2", "A2: probability of each digit", ".3f", a2_detail(t)),
        "dZ2": digit_bars("dZ2", "dZ2 per digit", ".4f"),
        "dW2": matrix_figure(t.dW2, "dW2 = A1ᵀ dZ2", x_title="digit", y_title="hidden unit"),
        "db2": digit_bars("db2", "db2 per digit", ".4f"),
        "dZ1": unit_bars("dZ1", ".4f"),
        "dW1": dW1_figure(t.dW1, t.dZ1),
        "db1": unit_bars("db1", ".4f"),
    }


def a2_detail(t: StepTrace) -> str:
    """The A2 chart's line under its title. Its ten labels are rounded to 3 decimals, and the
    page says the probabilities add up to 1: when the labels add up to 0.999 or 1.001, it says
    so (short: it must fit a phone's width), or a reader who adds them finds the claim false."""
    written = written_sum(np.asarray(t.A2, dtype=np.float64).reshape(-1), ".3f")
    if written == 1:
        return "green: the true digit · the labels add up to 1.000"
    return f"green: the true digit · the labels add up to {written} (rounding)"


def vector_figure(
    values,
    labels,
    title: str,
    *,
    detail: str = "",
    marked=None,
    mark_text: str = "",
    grey=None,
    highlight: int | None = None,
    fmt: str = ".3f",
) -> go.Figure:
    """One bar per entry of a (1, n) or (n,) vector, its value written on it. ``marked`` (bool,
    n): entries labelled ``mark_text`` (e.g. dead units); ``grey``: entries drawn grey (zero for
    this image); ``highlight``: one entry drawn in the 'true' colour; ``detail``: a line under
    the title (what the colours mean), so that the title fits a phone's width."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    n = len(v)
    colors = [figures.COLORS["now"]] * n
    for i in range(n):
        if grey is not None and grey[i]:
            colors[i] = "#bdbdbd"
        if highlight is not None and i == highlight:
            colors[i] = figures.COLORS["right"]
    names = [
        f"{lab}{' ' + mark_text if marked is not None and marked[i] else ''}"
        for i, lab in enumerate(labels)
    ]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=v,
            marker_color=colors,
            text=[format(x, fmt) for x in v],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:.6g}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    fig = figures._layout(fig, height=300, title=title)
    fig.update_layout(margin=dict(l=50, r=20, t=70 if detail else 50, b=60))
    if detail:
        fig.update_layout(title_subtitle_text=detail)
    return fig


def cell_labels(M) -> np.ndarray:
    """The numbers written in a heatmap's cells: two significant digits of the largest |value|,
    every cell to the same decimals, and blank where that rounds to zero (the colour already says
    so). Short labels stay readable on a phone: plotly shrinks a cell's text until it fits, and
    ten "0.000"-long labels a row drew ~6 px text at 390 px. Hovering shows the exact value."""
    M = np.asarray(M, dtype=np.float64)
    lim = figures.symmetric_limit(M)
    decimals = max(0, 1 - int(np.floor(np.log10(lim))))
    rounded = np.round(np.nan_to_num(M, nan=0.0), decimals)
    return np.where(
        (rounded == 0) | ~np.isfinite(M),
        "",
        np.vectorize(lambda a: f"{a:.{decimals}f}".replace("-", "−"))(rounded),
    )


def matrix_figure(M, title: str, *, x_title: str, y_title: str) -> go.Figure:
    """A diverging heatmap of a gradient matrix (e.g. dW2, hidden × digit): short numbers in the
    cells (``cell_labels``), the exact value on hover."""
    M = np.asarray(M, dtype=np.float64)
    lim = figures.symmetric_limit(M)
    fig = go.Figure(
        go.Heatmap(
            z=M,
            x=np.arange(M.shape[1]),
            y=np.arange(M.shape[0]),
            zmin=-lim,
            zmax=lim,
            zmid=0,
            colorscale=figures.WEIGHT_SCALE,
            text=cell_labels(M) if M.size <= 400 else None,
            texttemplate="%{text}" if M.size <= 400 else None,
            colorbar=dict(title=dict(text="gradient"), thickness=14),
            hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}: %{{z:.6g}}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title=x_title, dtick=1, side="top"),
        yaxis=dict(title=y_title, autorange="reversed", dtick=1 if M.shape[0] <= 20 else None),
    )
    fig = figures._layout(fig, height=int(min(700, max(280, 90 + 26 * M.shape[0]))), title=title)
    fig.update_layout(margin=dict(l=60, r=20, t=80, b=20))
    return fig


def dW1_figure(dW1, dZ1, max_units: int = 100) -> go.Figure:
    """dW1 (784, h): one 28×28 image per hidden unit (the first ``max_units``), each the image
    times that unit's dZ1, on one diverging scale."""
    dW1 = np.asarray(dW1)
    dz = np.asarray(dZ1).reshape(-1)
    count = min(dW1.shape[1], max_units)
    fig = figures.hidden_units(dW1, cols=5, count=count)  # five a row: readable on a phone
    fig.data[1].text = [f"unit {u}: dW1 = X × dZ1[{u}] = X × {dz[u]:.5f}" for u in range(count)]
    fig.data[0].colorbar.title.text = "gradient"
    return fig


# ---- the optimizer's update of one weight -----------------------------------------------------
#: The update rule of each optimizer, in nnmath.optim's notation (torch.optim's conventions:
#: velocity starts at 0, so the first v is g; Adam's bias corrections use the step count t + 1).
OPTIMIZER_EQUATIONS: dict[str, tuple[str, ...]] = {
    "gd": (r"w \leftarrow w - \eta_t\, g",),
    "momentum": (r"v \leftarrow \mu\, v + g", r"w \leftarrow w - \eta_t\, v"),
    "nesterov": (r"v \leftarrow \mu\, v + g", r"w \leftarrow w - \eta_t\,(g + \mu\, v)"),
    "adam": (
        r"m \leftarrow \beta_1 m + (1 - \beta_1)\, g",
        r"v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2",
        r"\hat m = m / (1 - \beta_1^{\,t+1}),\quad \hat v = v / (1 - \beta_2^{\,t+1})",
        r"w \leftarrow w - \eta_t\, \hat m / (\sqrt{\hat v} + \varepsilon)",
    ),
}
DECAY_EQUATION = (
    r"g = \partial L / \partial w + \lambda\, w \quad (\text{weights only, not biases})"
)
SCHEDULE_EQUATIONS = {
    "constant": r"\eta_t = \alpha",
    "step": r"\eta_t = \alpha\, \gamma^{\lfloor t / N \rfloor}",
    "cosine": r"\eta_t = \alpha\, (1 + \cos(\pi t / T)) / 2",
}


@dataclass(frozen=True)
class WeightUpdate:
    """One weight's update at update t of the run, with its optimizer state: every number."""

    optimizer: str
    name: str  # "W2"
    index: tuple[int, ...]  # which entry of it
    t: int  # the update's index (0-based; torch's step count is t + 1)
    lr: float  # eta_t, the schedule's rate
    rows: tuple[tuple[str, float], ...]  # (LaTeX symbol, value), in the order of the equations
    before: float
    after: float
    dtype: str = "float64"  # what nnmath computed it in (the run's parameters')


def weight_update(result, at: int, trace: StepTrace) -> WeightUpdate:
    """The update at iteration ``at`` of the entry of W2 that this image's gradient moves most,
    under the run's optimizer: its state is the run's own after ``at`` updates (velocity, m, v
    from the snapshot), the gradient this image's (trace), the new values nnmath.optim.step's."""
    from nnmath.network import Grads
    from nnmath.optim import init_state, learning_rate, step

    config = result.config
    params = trace.params
    state = result.snapshot_state(at) or init_state(config.optimizer, params)
    grads = Grads(trace.dW1, trace.db1, trace.dW2, trace.db2)
    updated, new_state = step(params, grads, state, config, at)
    index = np.unravel_index(int(np.argmax(np.abs(trace.dW2))), trace.dW2.shape)
    w, dw = float(params.W2[index]), float(trace.dW2[index])
    lam = config.weight_decay
    g = dw + lam * w
    lr = learning_rate(config, at)
    rows: list[tuple[str, float]] = [(r"w", w), (r"\partial L / \partial w", dw)]
    if lam:
        rows += [(r"\lambda", lam), (r"g", g)]
    rows.append((r"\eta_t", lr))
    old = {k.split("/")[0]: float(v[index]) for k, v in state.items() if k.endswith("/W2")}
    new = {k.split("/")[0]: float(v[index]) for k, v in new_state.items() if k.endswith("/W2")}
    if config.optimizer in ("momentum", "nesterov"):
        rows += [(r"\mu", config.momentum), (r"v_{\text{before}}", old["velocity"]),
                 (r"v", new["velocity"])]  # fmt: skip
    if config.optimizer == "adam":
        c1, c2 = 1 - config.beta1 ** (at + 1), 1 - config.beta2 ** (at + 1)
        rows += [
            (r"\beta_1", config.beta1),  # without them m, v and w_after cannot be checked
            (r"\beta_2", config.beta2),
            (r"\varepsilon", config.eps),
            (r"m_{\text{before}}", old["m"]),
            (r"m", new["m"]),
            (r"v_{\text{before}}", old["v"]),
            (r"v", new["v"]),
            (r"1 - \beta_1^{\,t+1}", c1),
            (r"1 - \beta_2^{\,t+1}", c2),
            (r"\hat m", new["m"] / c1),
            (r"\hat v", new["v"] / c2),
        ]
    after = float(updated.W2[index])
    rows.append((r"w_{\text{after}}", after))
    return WeightUpdate(
        config.optimizer,
        "W2",
        tuple(int(i) for i in index),
        at,
        lr,
        tuple(rows),
        w,
        after,
        str(params.W2.dtype),
    )


def optimizer_equations(config) -> tuple[str, ...]:
    """The chosen optimizer's equations (LaTeX), with weight decay's and the schedule's."""
    lines = [SCHEDULE_EQUATIONS[config.schedule]]
    lines.append(DECAY_EQUATION if config.weight_decay else r"g = \partial L / \partial w")
    return (*lines, *OPTIMIZER_EQUATIONS[config.optimizer])


def latex_number(value: float, fmt: str = ".6g") -> str:
    """``value`` in LaTeX: 1e-08 as 10^{-8} and 2.5e-05 as 2.5 \\times 10^{-5} (KaTeX set the
    plain "1e-08" as "1e − 08", a subtraction)."""
    text = format(value, fmt)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = rf"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa} \times {power}"


def weight_update_latex(u: WeightUpdate) -> str:
    """The numbers as one aligned LaTeX block: symbol = value, one per line."""
    body = r" \\ ".join(rf"{symbol} &= {latex_number(value)}" for symbol, value in u.rows)
    return r"\begin{aligned}" + body + r"\end{aligned}"


def weight_update_sentence(u: WeightUpdate) -> str:
    where = f"{u.name}[{', '.join(str(i) for i in u.index)}]"
    state = {
        "gd": "plain gradient descent keeps no state",
        "momentum": "its velocity v is the run's own after these updates",
        "nesterov": "its velocity v is the run's own after these updates",
        "adam": "m and v are the run's own running means after these updates",
    }[u.optimizer]
    return (
        f"The weight {where} (hidden unit {u.index[0]} → digit {u.index[1]}, the one this "
        f"image's gradient moves most) at update t = {u.t:,}: {state}; the gradient is this "
        f"image's (the run's own step averages all training images). It goes from "
        f"{u.before:.6g} to {u.after:.6g}. Every number below is rounded to 6 significant digits"
        + (
            "; nnmath computes the update in float32 (about 7), so working it out again from "
            "them can miss w_after's last digit."
            if u.dtype == "float32"
            else "."
        )
    )

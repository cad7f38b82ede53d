"""Math: one image through one training step, each equation with nnmath's line and the numbers."""

import streamlit as st

from ui import inside, session
from ui.explain import drawn_digit
from ui.state import init_state
from views import dynamics as dv
from views import figures, glossary
from views import math_step as mv

settings = init_state()
st.title("Math: one image, one step")
st.caption(
    "The network's equations in the notebook's order, for one image at one moment of training: "
    "each equation, the line of nnmath that computes it (read from its source), the shape, "
    "and the real numbers. Samples are rows; m = 1 here (one image)."
)

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()
session.stop_without_history(run, "one training step at a snapshot of its training")
r = run.result
frames = session.snapshot_iterations(run)
drawn = drawn_digit()

c1, c2, c3 = st.columns([2, 2, 3])
SOURCES = ["dev", "drawn"] if drawn is not None else ["dev"]
if st.session_state.get("math_source") not in (None, *SOURCES):  # the drawing is gone
    st.session_state["math_source"] = "dev"
# Read (and checked) even without a drawing, so a link's source=drawn says what is missing.
source_key = inside.url_value("source", "math_source", lambda v: mv.parse_source(v, SOURCES), "dev")
if len(SOURCES) > 1:
    source = c1.radio(
        "Image",
        SOURCES,
        format_func={"dev": "a dev image", "drawn": "your drawing"}.get,
        horizontal=True,
        key=source_key,
    )
else:  # no drawing: a radio with one option would be a dead control
    source = "dev"
    c1.markdown("Without a drawing, the step follows **a dev image**.")
    c1.page_link(
        "pages/9_draw.py", label="Draw your own digit to follow it", icon=":material/draw:"
    )

if source == "drawn":
    # The loss needs a true digit: the network's own answer unless the learner says otherwise
    # (set again for each new drawing).
    guess = mv.answer(r, drawn)
    if st.session_state.get("_math_label_of") != drawn.tobytes():
        st.session_state["_math_label_of"] = drawn.tobytes()
        st.session_state["math_label"] = guess
    label = c2.selectbox(
        "Which digit did you draw?",
        list(range(10)),
        key="math_label",
        help="The loss and the gradients below pull the network toward this digit.",
    )
    c2.caption(
        f"The network reads it as **{guess}**"
        + (
            ": the step below trains toward that answer; pick another digit if you drew one."
            if int(label) == guess
            else f"; you say {label}, so the step trains toward {label}."
        )
    )
    x, y = drawn, int(label)
    what = f"your drawing (true digit {label}, " + (
        "the network's own answer)" if int(label) == guess else "as you say)"
    )
    inside.remember(source="drawn", image=None)
else:
    index = c2.number_input(
        f"Dev image (0–{run.dev.n - 1:,})",
        min_value=0,
        max_value=run.dev.n - 1,
        step=1,
        key=inside.url_value("image", "math_image", lambda v: mv.parse_dev_index(v, run.dev.n), 0),
    )
    x, y = run.dev.images[int(index)], int(run.dev.labels[int(index)])
    what = f"dev image {int(index)} (true digit {y})"
    inside.remember(source=None, image=int(index))
at = c3.select_slider(
    "Iteration (a snapshot of the run)",
    options=frames,
    key=inside.url_value("at", "math_at", lambda v: dv.parse_snapshot(v, frames), frames[-1]),
)
inside.remember(at=int(at))

dyn = inside.dynamics(run)
ms = mv.math_step(
    r,
    x,
    y,
    int(at),
    dyn.dead[dyn.index(int(at))],
    next_loss=inside.next_loss(run) if int(at) == r.iterations else None,
)
t = ms.trace
figs = mv.step_figures(ms)
st.markdown(mv.header_text(what, ms, r.iterations))


def code(eq: mv.Equation) -> None:
    """The equation as a textbook writes it in NumPy, and nnmath's own line(s) folded below."""
    st.code(eq.numpy, language="python", wrap_lines=True)
    lines = mv.source_lines(eq.name)
    where = ", ".join(str(line.lineno) for line in lines)
    with st.expander(
        f"nnmath's own code ({lines[0].file}, line{'s' if len(lines) > 1 else ''} {where})"
    ):
        st.code("\n".join(line.text for line in lines), language="python", wrap_lines=True)


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displayModeBar": False})


def section(eq: mv.Equation, value, fig, *, wide: bool = False) -> None:
    """The equation, its line of nnmath and its shape on the left, its numbers on the right
    (under it when ``wide``)."""
    st.subheader(eq.name)
    left, right = st.columns([2, 3]) if not wide else (st.container(), None)
    with left:
        st.latex(eq.latex)
        st.caption(eq.meaning)
        code(eq)
        st.markdown(f"shape **{mv.shape(value)}**")
    with right or st.container():
        chart(fig, eq.name)


st.header("Forward propagation")
st.subheader("X: the image")
a, b = st.columns([2, 3])
with a:
    st.latex(r"X = \text{pixels} / 255 \in [0, 1]^{1 \times 784}")
    st.markdown(mv.pixels_text(t))
with b:
    chart(figures.digit_image(x, height=260), "x")

*forward, L = mv.FORWARD
for eq in forward:
    section(eq, getattr(t, eq.name), figs[eq.name])
st.subheader("L: the loss for this image", help=glossary.help("cross-entropy"))
st.latex(L.latex)
st.caption(L.meaning)
code(L)
st.latex(mv.loss_equation(t))
st.markdown(mv.loss_text(t))

st.header("Backward propagation", help=glossary.help("gradient"))
for eq in mv.BACKWARD:
    section(eq, getattr(t, eq.name), figs[eq.name], wide=eq.name == "dW1")

st.header("The update", help=glossary.help("gradient-descent"))
st.latex(mv.UPDATE.latex + rf",\quad \alpha = {t.alpha:g}")
st.caption(mv.UPDATE.meaning)
code(mv.UPDATE)
st.success(mv.loss_sentence(ms, r.config))
st.info(mv.full_batch_sentence(ms, run.train.n, r.config.batch_size))

st.header(f"The update with the run's optimizer: {r.config.optimizer}")
st.caption(
    "As torch.optim writes it (velocity starts at 0; Adam's bias corrections use the step count "
    "t + 1), with the run's learning-rate schedule and weight decay."
)
for line in mv.optimizer_equations(r.config):
    st.latex(line)
update = mv.weight_update(r, int(at), t)
st.markdown(mv.weight_update_sentence(update))
st.latex(mv.weight_update_latex(update))

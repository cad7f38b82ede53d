"""Math: one image through one training step, each equation with nnmath's line and the numbers."""

import streamlit as st

from dashboard import figures, session
from dashboard.state import init_state
from ui import inside
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
r = run.result
frames = session.snapshot_iterations(run)
drawn = inside.drawn_digit()

c1, c2, c3 = st.columns([2, 2, 3])
SOURCES = ["dev", "drawn"] if drawn is not None else ["dev"]
source = c1.radio(
    "Image",
    SOURCES,
    format_func={"dev": "a dev image", "drawn": "your drawing"}.get,
    horizontal=True,
    key=inside.url_value("source", "math_source", lambda v: v if v in SOURCES else "dev", "dev"),
)


def _index(v: str) -> int:
    i = int(v)
    if not 0 <= i < run.dev.n:
        raise ValueError(f"image must be a dev index between 0 and {run.dev.n - 1}, got {i}")
    return i


def _at(v: str) -> int:
    i = int(v)
    if i not in frames:
        raise ValueError(f"at must be a snapshot iteration {frames}, got {i}")
    return i


if source == "drawn":
    label = c2.selectbox("Its true digit (you say)", list(range(10)), key="math_label")
    x, y, what = drawn, int(label), f"your drawing (true digit {label}, as you say)"
    inside.remember(source="drawn", image=None)
else:
    index = c2.number_input(
        f"Dev image (0–{run.dev.n - 1:,})",
        min_value=0,
        max_value=run.dev.n - 1,
        step=1,
        key=inside.url_value("image", "math_image", _index, 0),
    )
    x, y = run.dev.images[int(index)], int(run.dev.labels[int(index)])
    what = f"dev image {int(index)} (true digit {y})"
    inside.remember(source=None, image=int(index))
at = c3.select_slider(
    "Iteration (a snapshot of the run)",
    options=frames,
    key=inside.url_value("at", "math_at", _at, frames[-1]),
)
inside.remember(at=int(at))

dyn = inside.dynamics(run)
ms = mv.math_step(r, x, y, int(at), dyn.dead[dyn.index(int(at))])
t = ms.trace
h = t.A1.shape[1]
st.markdown(
    f"**{what}**, parameters after **{int(at):,}** of the run's {r.iterations:,} updates "
    f"(hidden {h}, alpha {t.alpha:g}). Dead units (zero for every training image at this "
    f"iteration) are marked †: {', '.join(map(str, mv.np.flatnonzero(ms.dead))) or 'none'}."
)


def code(name: str) -> None:
    lines = mv.source_lines(name)
    st.code("\n".join(line.text for line in lines), language="python")
    where = ", ".join(str(line.lineno) for line in lines)
    st.caption(f"{lines[0].file}, line{'s' if len(lines) > 1 else ''} {where}")


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displayModeBar": False})


units = [str(u) for u in range(h)]
digits = [str(d) for d in range(10)]
silent = (t.Z1 <= 0).reshape(-1)

st.header("Forward propagation")
st.subheader("X: the image")
st.latex(r"X = \text{pixels} / 255 \in [0, 1]^{1 \times 784}")
a, b = st.columns([1, 3])
with a:
    chart(figures.digit_image(x, height=260), "x")
with b:
    st.markdown(
        f"shape **{mv.shape(t.X)}** · {int((t.X > 0).sum())} of 784 pixels are not 0 · "
        f"largest {t.X.max():.3f}"
    )

for eq in mv.FORWARD:
    st.subheader(eq.name if eq.name != "L" else "L: the loss for this image")
    st.latex(eq.latex)
    st.caption(eq.meaning)
    code(eq.name)
    if eq.name == "L":
        st.latex(mv.loss_equation(t))
        st.markdown(f"loss for this image: **{t.loss:.4f}** (a number, shape ())")
        continue
    value = getattr(t, eq.name)
    st.markdown(f"shape **{mv.shape(value)}**")
    if eq.name in ("Z1", "A1"):
        fig = mv.vector_figure(
            value,
            units,
            f"{eq.name} per hidden unit (grey: Z1 ≤ 0, silent for this image; †: dead)",
            marked=ms.dead,
            mark_text="†",
            grey=silent,
        )
    elif eq.name == "A2":
        fig = mv.vector_figure(
            value, digits, "A2: probability of each digit (green: the true one)", highlight=y
        )
    else:
        fig = mv.vector_figure(value, digits, "Z2: score of each digit", highlight=y)
    chart(fig, eq.name)

st.header("Backward propagation")
for eq in mv.BACKWARD:
    st.subheader(eq.name)
    st.latex(eq.latex)
    st.caption(eq.meaning)
    code(eq.name)
    value = getattr(t, eq.name)
    st.markdown(f"shape **{mv.shape(value)}**")
    if eq.name == "dW2":
        fig = mv.matrix_figure(value, "dW2 = A1ᵀ dZ2", x_title="digit", y_title="hidden unit")
    elif eq.name == "dW1":
        fig = mv.dW1_figure(value, t.dZ1)
    elif eq.name in ("dZ2", "db2"):
        fig = mv.vector_figure(value, digits, f"{eq.name} per digit", highlight=y, fmt=".4f")
    else:
        fig = mv.vector_figure(
            value,
            units,
            f"{eq.name} per hidden unit (grey: silent for this image)",
            marked=ms.dead,
            mark_text="†",
            grey=silent,
            fmt=".4f",
        )
    chart(fig, eq.name)

st.header("The update")
st.latex(mv.UPDATE.latex + rf",\quad \alpha = {t.alpha:g}")
st.caption(mv.UPDATE.meaning)
code("W1")
st.success(mv.loss_sentence(ms))
st.info(mv.full_batch_sentence(ms, run.train.n))

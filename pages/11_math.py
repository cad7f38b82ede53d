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
    if drawn is None:
        c1.caption("Draw a digit on the Draw page to follow it here.")
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
ms = mv.math_step(
    r,
    x,
    y,
    int(at),
    dyn.dead[dyn.index(int(at))],
    next_loss=inside.next_loss(run) if int(at) == r.iterations else None,
)
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


def section(eq: mv.Equation, value, fig, *, wide: bool = False) -> None:
    """The equation, its line of nnmath and its shape on the left, its numbers on the right
    (under it when ``wide``)."""
    st.subheader(eq.name)
    left, right = st.columns([2, 3]) if not wide else (st.container(), None)
    with left:
        st.latex(eq.latex)
        st.caption(eq.meaning)
        code(eq.name)
        st.markdown(f"shape **{mv.shape(value)}**")
    with right or st.container():
        chart(fig, eq.name)


units = [str(u) for u in range(h)]
digits = [str(d) for d in range(10)]
silent = (t.Z1 <= 0).reshape(-1)


def unit_bars(name: str, fmt: str = ".3f"):
    return mv.vector_figure(
        getattr(t, name),
        units,
        f"{name} per hidden unit (grey: Z1 ≤ 0, silent for this image; †: dead)",
        marked=ms.dead,
        mark_text="†",
        grey=silent,
        fmt=fmt,
    )


st.header("Forward propagation")
st.subheader("X: the image")
a, b = st.columns([2, 3])
with a:
    st.latex(r"X = \text{pixels} / 255 \in [0, 1]^{1 \times 784}")
    st.markdown(
        f"shape **{mv.shape(t.X)}** · {int((t.X > 0).sum())} of 784 pixels are not 0 · "
        f"largest {t.X.max():.3f}"
    )
with b:
    chart(figures.digit_image(x, height=260), "x")

Z1, A1, Z2, A2, L = mv.FORWARD
section(Z1, t.Z1, unit_bars("Z1"))
section(A1, t.A1, unit_bars("A1"))
section(Z2, t.Z2, mv.vector_figure(t.Z2, digits, "Z2: score of each digit", highlight=y))
section(
    A2,
    t.A2,
    mv.vector_figure(
        t.A2, digits, "A2: probability of each digit (green: the true one)", highlight=y
    ),
)
st.subheader("L: the loss for this image")
st.latex(L.latex)
st.caption(L.meaning)
code("L")
st.latex(mv.loss_equation(t))
st.markdown(f"loss for this image: **{t.loss:.4f}** (a number, shape ())")

st.header("Backward propagation")
dZ2, dW2, db2, dZ1, dW1, db1 = mv.BACKWARD
section(dZ2, t.dZ2, mv.vector_figure(t.dZ2, digits, "dZ2 per digit", highlight=y, fmt=".4f"))
section(
    dW2,
    t.dW2,
    mv.matrix_figure(t.dW2, "dW2 = A1ᵀ dZ2", x_title="digit", y_title="hidden unit"),
)
section(db2, t.db2, mv.vector_figure(t.db2, digits, "db2 per digit", highlight=y, fmt=".4f"))
section(dZ1, t.dZ1, unit_bars("dZ1", ".4f"))
section(dW1, t.dW1, mv.dW1_figure(t.dW1, t.dZ1), wide=True)
section(db1, t.db1, unit_bars("db1", ".4f"))

st.header("The update")
st.latex(mv.UPDATE.latex + rf",\quad \alpha = {t.alpha:g}")
st.caption(mv.UPDATE.meaning)
code("W1")
st.success(mv.loss_sentence(ms))
st.info(mv.full_batch_sentence(ms, run.train.n, r.config.batch_size))

"""Weights: what each hidden unit looks for, how hidden units vote for digits, replayed over training."""

import streamlit as st

from ui import session
from ui.state import init_state
from views import figures

settings = init_state()
st.title("Weights")
st.caption(
    "Each hidden unit multiplies every pixel by a weight: red pixels push the unit up, blue "
    "ones push it down (white: ignored). Slide through training to watch them form."
)

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()
r = run.result
if run.uploaded:
    st.info(f"{session.NO_HISTORY.capitalize()}: the weights of the {run.label}, as uploaded.")
frames = session.snapshot_iterations(run)
if len(frames) > 1:
    iteration = st.select_slider(
        "Iteration (replay from the snapshots saved during training)",
        options=frames,
        value=frames[-1],
        key="replay",
    )
else:
    iteration = frames[-1]
params, start, limits = session.weights_at(run, iteration)
h = params.hidden
MAX_UNITS = 100
first = 0
if h > MAX_UNITS:
    first = st.slider(
        f"Hidden units shown ({MAX_UNITS} at a time, of {h})",
        0,
        h - MAX_UNITS,
        0,
        step=10,
        key="units_from",
    )

# What each unit looks for beside how it votes (row u of W2 is unit u): side by side on a
# desktop, one under the other on a phone, where the tiles, five a row, fill the width.
# W2 is as tall as the tiles: with 64 units they ran on ~500 px below its 700 px; as tall, its
# rows are 5 units to a row of tiles (~18 px a unit), each about level with those units' tiles.
units, votes = st.columns([3, 2])
with units:
    st.subheader(f"What each hidden unit looks for (iteration {iteration:,})")
    SHOW = {"change": "what training changed (now − start)", "weights": "the weights themselves"}
    show = st.radio(
        "Show",
        list(SHOW),
        format_func=SHOW.get,
        horizontal=True,
        key="w1_show",
        help="The notebook starts from random weights U[-0.5, 0.5]; that noise hides the "
        "pattern learned on top of it, which 'what training changed' shows alone.",
    )
    unchanged = show == "change" and iteration == 0 and not run.uploaded
    if unchanged:  # now − start is zero everywhere: grey tiles that would say nothing
        st.info(
            "Nothing has changed yet at iteration 0: training has not made a single update. "
            "Shown instead: the starting weights themselves (random noise). "
            + (
                "Move the slider to a later iteration to see what training changed."
                if len(frames) > 1
                else "This run kept no update (it diverged at once): train it with a smaller alpha."
            )
        )
    changes = show == "change" and not unchanged
    tiles = figures.hidden_units(
        params.W1,
        cols=5,  # ~64 px a tile on a phone (ten a row were 26 px); the same on a desktop
        first=first,
        count=min(h, MAX_UNITS),
        limit=limits["dW1" if changes else "W1"],
        start=start.W1 if changes else None,
    )
    st.plotly_chart(
        tiles,
        width="stretch",
        key="w1",
        config={"displayModeBar": False},
    )
with votes:
    st.subheader("Hidden unit → digit (W2)")
    st.caption("Red: the unit votes for the digit; blue: against it.")
    st.plotly_chart(
        figures.output_weights(params.W2, limit=limits["W2"], height=tiles.layout.height),
        width="stretch",
        key="w2",
        config={"displayModeBar": False},
    )
st.subheader("Weights at the start and now")
st.caption("Grey: the initial weights (iteration 0); blue: at the iteration above.")
st.plotly_chart(
    figures.weight_histograms(
        {"W1": start.W1, "W2": start.W2},
        {"W1": params.W1, "W2": params.W2},
        labels=("start (iteration 0)", f"iteration {iteration:,}"),
    ),
    width="stretch",
    key="hist",
    config={"displayModeBar": False},
)

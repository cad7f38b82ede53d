"""Draw: draw a digit and watch the current run read it, as MNIST would have stored it."""

import random

import streamlit as st

from data import from_drawing
from ui import session
from ui.explain import DRAWN, DRAWN_KEY, drawn_digit, set_drawn_digit
from ui.state import init_state
from views import explain as views
from views import figures

settings = init_state()
st.title("Draw")
st.caption(
    "Draw a digit with the mouse (or a finger). It is cropped, scaled to 20 pixels and centred "
    "in 28×28 the way MNIST's digits were, then read by the current run."
)

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()
if run.trained_now:  # drop training's progress placeholders above the pad: were they to vanish on
    st.rerun()  # the next run, the pad would move in the page and remount empty after a stroke
params = run.result.params
ss = st.session_state
ss.setdefault("pad_n", 0)
ss.setdefault("draw_source", "pad")

pad_col, seen_col = st.columns([1, 1])
with pad_col:
    from streamlit_drawable_canvas import st_canvas  # only this page needs the component

    st.markdown("**The pad** (its toolbar: undo, redo, delete)")
    st.write("")  # room for the pad's floating toolbar

    pad = st_canvas(
        stroke_width=22,  # about 2 MNIST pixels once 280 px are scaled down to 20-28
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=280,
        width=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"pad_{ss['pad_n']}",
    )
    row = st.container(horizontal=True)  # one row, also on a phone: the answer stays in view
    if row.button("Clear", icon=":material/ink_eraser:", key="clear_pad"):
        ss["pad_n"] += 1
        ss["draw_source"] = "pad"
        ss.pop("_pad_seen", None)
        ss.pop(DRAWN_KEY, None)
        st.rerun()
    if row.button("Take a dev image instead", icon=":material/casino:", key="take_dev"):
        ss["draw_source"] = random.Random(ss.get("_dev_picks", 0)).randrange(run.dev.n)
        ss["_dev_picks"] = ss.get("_dev_picks", 0) + 1

image_data = pad.image_data
stroke = None if image_data is None else pad.image_bytes
if stroke is not None and stroke != ss.get("_pad_seen"):  # a new stroke: the pad again
    ss["_pad_seen"] = stroke
    ss["draw_source"] = "pad"

source = ss["draw_source"]
if source == "pad":
    drawing = from_drawing(image_data) if image_data is not None else None
    if drawing is not None and drawing.message is None:
        set_drawn_digit(drawing.image)
    image = drawn_digit() if drawing is None else drawing.image
    message = drawing.message if drawing is not None else None
    what = "your drawing"
else:
    image, message = run.dev.images[source], None
    what = f"dev image {source} (true digit {int(run.dev.labels[source])})"

with seen_col:  # on a phone the columns stack: the answer comes right below the pad
    if image is None or message is not None or not image.any():
        st.info(message or "Draw a digit on the pad: the network's view of it appears here.")
        st.stop()
    seen = views.look(params, image, activation=run.result.config.activation)
    st.markdown(f"### It reads **{seen.prediction}** ({seen.probs[seen.prediction]:.0%})")
    st.plotly_chart(
        figures.digit_image(image, title=f"What the network sees: {what}", height=300),
        width="stretch",
        key="seen",
        config={"displayModeBar": False},
    )

c1, c2 = st.columns(2)
c1.plotly_chart(
    views.prediction_bars(seen.probs),
    width="stretch",
    key="probs",
    config={"displayModeBar": False},
)
c2.plotly_chart(
    views.activation_bars(seen.hidden),
    width="stretch",
    key="hidden",
    config={"displayModeBar": False},
)
st.page_link(
    "pages/10_why.py",
    label=f"Why {seen.prediction}? See exactly which pixels and hidden units decide it",
    icon=":material/help:",
    query_params={**settings.to_query(), "image": DRAWN if source == "pad" else str(source)},
)

"""Why: exactly which pixels and hidden units make the network prefer one digit to another, and
the smallest change found that would change its mind."""

import streamlit as st

from ui import session
from ui.explain import (
    DRAWN,
    drawn_digit,
    image_changed,
    linked,
    param_from_url,
    parse_digit,
    parse_image,
    remember_why,
)
from ui.state import init_state
from views import explain as views
from views import figures, glossary

settings = init_state()
st.title("Why?")
st.caption(
    "Once an image fixes which hidden units are on, the network is linear: the difference of two "
    "logits is exactly a sum of one share per pixel plus a bias part. No approximation."
)

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()
params, dev = run.result.params, run.dev
act = run.result.config.activation  # the run's hidden activation (an uploaded model's too)
ss = st.session_state

image_key = param_from_url("image", lambda v: parse_image(v, dev.n))
if ss.get(image_key) is None:
    ss[image_key] = DRAWN if drawn_digit() is not None else 0
if ss[image_key] == DRAWN and drawn_digit() is None:
    st.warning("No digit drawn in this session yet: showing dev image 0. Draw one on Draw.")
    st.page_link("pages/9_draw.py", label="Draw a digit", icon=":material/draw:")
    ss[image_key] = 0
choices = ([DRAWN] if drawn_digit() is not None else []) + list(range(dev.n))
target_key = param_from_url("target", parse_digit)
versus_key = param_from_url("versus", parse_digit)
c1, c2, c3 = st.columns([2, 1, 1])
picked = c1.selectbox(
    "Image",
    choices,
    key=image_key,
    format_func=lambda i: "the digit you drew" if i == DRAWN else f"dev image {i}",
)
if picked == DRAWN:
    image, true = drawn_digit(), None
else:
    image, true = dev.images[picked], int(dev.labels[picked])
default_target, default_versus = views.default_pair(
    views.look(params, image, activation=act).probs, true
)
new_image = image_changed(picked)  # another image: its own default pair, unless a link gave one
for name, key, default in (
    ("target", target_key, default_target),
    ("versus", versus_key, default_versus),
):
    if ss.get(key) is None or (new_image and not linked(name)):
        ss[key] = default
target = c2.selectbox("Explain the answer", list(range(10)), key=target_key)
versus = c3.selectbox("…rather than", list(range(10)), key=versus_key)
remember_why(image=picked, target=target, versus=versus)
if versus == target:
    st.info("Pick two different digits to compare.")
    st.stop()

try:
    w = views.why(params, image, true=true, target=target, versus=versus, activation=act)
except ValueError as e:  # nnmath.explain: exact shares need a piecewise-linear activation
    st.info(views.cannot_explain(act) or f"No exact explanation for this run: {e}.")
    st.stop()
e, cf = w.explanation, w.counterfactual
st.markdown(views.answer_sentence(e, w.probs, true))

left, right = st.columns([1, 1])
left.plotly_chart(
    figures.digit_image(image, title="The image", height=420),
    width="stretch",
    key="chart_image",
    config={"displayModeBar": False},
)
right.plotly_chart(
    views.pixel_heatmap(e), width="stretch", key="chart_pixels", config={"displayModeBar": False}
)
holds = views.completeness_holds(e)  # a model whose weights overflow: no green "difference nan"
if holds:
    st.success("Completeness: " + views.completeness_sentence(e))
else:
    st.warning(views.not_finite_sentence(e))
b1, b2 = st.columns([3, 2])
b1.plotly_chart(
    views.hidden_bars(e), width="stretch", key="chart_hidden", config={"displayModeBar": False}
)
b2.plotly_chart(
    views.parts_waterfall(e), width="stretch", key="chart_parts", config={"displayModeBar": False}
)
st.caption(views.bias_sentence(e) + (" " + views.hidden_sentence(e) + "." if holds else ""))

st.subheader(f"What would make it answer {versus}?", help=glossary.help("counterfactual"))
st.markdown(views.counterfactual_sentence(cf, w.switched))
k1, k2, k3 = st.columns(3)
k1.plotly_chart(
    views.changed_image(cf), width="stretch", key="cf_image", config={"displayModeBar": False}
)
k2.plotly_chart(
    views.change_heatmap(cf), width="stretch", key="cf_change", config={"displayModeBar": False}
)
k3.plotly_chart(
    views.before_after_bars(w.probs, cf.probs, versus),
    width="stretch",
    key="cf_probs",
    config={"displayModeBar": False},
)

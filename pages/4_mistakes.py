"""Mistakes: the dev images the network gets wrong, most confident (or highest loss) first."""

import streamlit as st

from engine.config import format_min_conf, parse_min_conf
from ui import gallery, session
from ui.state import filter_from_url, init_state, remember_filters
from views import figures
from views.metrics import SORTS

settings = init_state()
st.title("Mistakes")
st.caption(
    "The misclassified dev images. Caption: true → predicted, and the confidence of the "
    "(wrong) prediction. Click the button under an image to see it large with its 10 probabilities."
)

ANY = "any"  # in the boxes: a box holding None shows its placeholder "Choose an option"
DIGITS = [ANY, *range(10)]
PER_PAGE = 30
COLS = 10
f1, f2, f3, f4 = st.columns([1, 1, 1.4, 2])
true = f1.selectbox("True digit", DIGITS, key=filter_from_url("true", none_as=ANY))
pred = f2.selectbox("Predicted digit", DIGITS, key=filter_from_url("pred", none_as=ANY))
true, pred = (None if d == ANY else d for d in (true, pred))
min_conf = f3.slider(
    "Confidence at least",
    0.0,
    1.0,
    step=0.01,
    format="%.2f",
    key=filter_from_url("min_conf", parse_min_conf),
    help="Only the confident mistakes: wrong answers given with at least this probability "
    "(0 = every mistake). The Evaluate page links here with its confidence threshold.",
)
sort = f4.radio("Order", list(SORTS), format_func=SORTS.get, horizontal=True, key="sort")
remember_filters(true=true, pred=pred, min_conf=format_min_conf(min_conf))

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()

page = int(st.session_state.get("mistakes_page", 1))
table, rows, images, captions, hover, pages = session.mistakes_page(
    run, true, pred, sort, page, PER_PAGE, min_conf=min_conf or None
)
what = (
    ("true " + str(true) if true is not None else "")
    + (" predicted as " + str(pred) if pred is not None else "")
    + (f" with confidence ≥ {min_conf:.0%}" if min_conf else "")
)
if table.empty:
    st.success(
        f"No mistakes{' for ' + what.strip() if what else ''} on the {run.dev.n:,} dev images."
    )
    st.stop()
st.markdown(
    f"**{len(table):,} mistakes**{' — ' + what.strip() if what else ''} "
    f"out of {run.dev.n:,} dev images."
)

if st.session_state.get("mistakes_page", 1) > pages:
    st.session_state["mistakes_page"] = pages
if pages > 1:
    st.number_input(
        f"Page (of {pages}, {PER_PAGE} images each)",
        min_value=1,
        max_value=pages,
        step=1,
        key="mistakes_page",
    )
choices = rows["index"].tolist()
if st.session_state.get("picked") not in choices:
    st.session_state["picked"] = choices[0]
# Tiles that wrap to the screen (10 a row on a desktop, 4 on a phone); one click or tap on a
# tile's caption shows that image large below (it sets the "picked" selectbox).
gallery.digit_gallery(
    images, captions, choices, state_key="picked", key="gallery", alt=hover, cols=COLS
)

st.subheader("One image, large")
picked = st.selectbox(
    "Image",
    choices,
    key="picked",
    format_func=lambda i: f"dev image {i}: " + captions[choices.index(i)],
)
image, probs, t, p = session.dev_image(run, picked)
c1, c2 = st.columns([2, 3])
c1.plotly_chart(
    figures.digit_image(image, title=f"dev image {picked}: true {t}"),
    width="stretch",
    key="big",
    config={"displayModeBar": False},
)
c2.plotly_chart(
    figures.probability_bars(probs, t, p),
    width="stretch",
    key="probs",
    config={"displayModeBar": False},
)
st.page_link(  # a short label: a page link is one line, cut at a phone's width
    "pages/10_why.py",
    label=f"Why {p}, not {t}?",
    icon=":material/help:",
    query_params={**settings.to_query(), "image": str(picked)},
)
st.caption(f"Which pixels made it say {p} rather than {t}, and what would change its mind.")

"""Lab: switch hidden units off (or scale them), and corrupt the dev images, and see what the
network then gets right."""

import streamlit as st

from data import corrupt
from ui import inside, session
from ui.state import init_state
from views import lab

settings = init_state()
st.title("Lab")
st.caption(
    "Experiments on the trained network. Switching a unit off multiplies its activation by 0 in "
    "an exact forward pass: the network without that unit, nothing retrained."
)

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()
r = run.result
h = r.params.hidden


def chart(fig, key: str):
    st.plotly_chart(fig, width="stretch", key=key, config={"displayModeBar": False})


st.header("Switch hidden units off")
c1, c2, c3 = st.columns([3, 1, 1])
off = c1.multiselect(
    f"Hidden units off (of {h})",
    list(range(h)),
    key=inside.url_value("off", "lab_off", lambda v: list(lab.parse_units(v, h)), []),
)
inside.scale_from_url(h, "lab_scale_unit", "lab_scale_factor")
unit = c2.selectbox(
    "Scale one unit",
    [inside.NO_UNIT, *range(h)],
    key="lab_scale_unit",
    format_func=lambda u: "none" if u == inside.NO_UNIT else f"unit {u}",
)
factor = c3.number_input("by the factor", step=0.25, key="lab_scale_factor")
scales = {} if unit == inside.NO_UNIT else {int(unit): float(factor)}
inside.remember(off=lab.format_units(off), scale=lab.format_scales(scales))

if not off and not scales:  # the intact network: an all-grey matrix and no changed answer
    st.info(
        "Nothing switched off yet: pick one or more hidden units above (or scale one), and "
        "here you will see how dev accuracy moves, which confusions grow or shrink, and the "
        "images whose answer changes. The Weights page shows what each unit looks for."
    )
else:
    scale = lab.unit_scale(h, off=off, scales=scales)
    ab = inside.ablation(run, scale)
    st.markdown(f"**{lab.describe(ab)}**")
    if len(ab.changed) == 0:
        st.info(
            "No dev image changed its answer: the network does as well without this change. "
            "Try switching off more units, or others."
        )
    else:
        a, b = st.columns([1, 1])
        with a:
            chart(lab.change_figure(ab), "lab_change")
        with b:
            chart(lab.changed_figure(ab, run.dev.images), "lab_changed")

st.header("Robustness: corrupted dev images")
st.caption(
    "Dev accuracy of the trained network as the images get noisier, rotated, shifted or "
    "their strokes thicker/thinner (level 0 = the clean images)."
)
table = inside.robustness(run)
d1, d2 = st.columns([1, 1])
kind = d1.selectbox(
    "Corruption (examples below, marked on its curve)",
    list(corrupt.CORRUPTIONS),
    key=inside.url_value("corrupt", "lab_corrupt", lab.parse_corruption, "noise"),
)
levels = list(corrupt.LEVELS[kind])
if st.session_state.get("lab_level") not in levels:
    st.session_state.pop("lab_level", None)
level = d2.select_slider(
    corrupt.UNITS[kind],
    options=levels,
    key=inside.url_value("level", "lab_level", lambda v: lab.parse_level(v, kind), levels[-1]),
)
inside.remember(corrupt=kind, level=f"{level:g}")
fix = session.lookup(lab.augmented(settings, kind, level))
fixed = fix.result if fix.settings != settings else None
if fix.settings != settings and fixed is None:
    name = f"{kind} up to {fix.settings.augment_level:g}"
    if st.button(
        f"Train the same settings with {name} augmentation",
        key="lab_train_fix",
        icon=":material/model_training:",
        help="Every training image corrupted anew each iteration (nnmath's augment setting); "
        "then both runs' curves side by side.",
    ):
        fix = session.current_run(fix.settings)
        fixed = None if fix is None else fix.result
other = None if fixed is None else inside.robustness(fix)
other_name = f"trained with {kind} augmentation" if fixed is not None else ""
chart(lab.robustness_figure(table, (kind, level), other, other_name), "robust")
st.caption(lab.levels_caption())
st.markdown(lab.accuracy_text(table, kind, level))
if other is not None:
    st.markdown(lab.augmentation_text(table, other, kind, level))
    st.page_link(
        "pages/2_train.py",
        label="Open the augmented run on the Train page",
        query_params=fix.settings.to_query(),
        icon=":material/model_training:",
    )
chart(lab.examples_figure(run.dev.images, kind), "examples")

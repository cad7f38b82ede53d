"""Learning dynamics: when each digit was learned, the confusion at any snapshot, dead hidden
units over training, and a map of the dev images' hidden layer."""

import streamlit as st

from ui import inside, session
from ui.state import init_state
from views import dynamics as dv
from views import figures, glossary

settings = init_state()
st.title("Learning dynamics")
st.caption(
    "The run replayed from its snapshots (the parameters saved every 50 iterations) on the "
    "dev images: what it got right when, and what happened inside."
)

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()
session.stop_without_history(run, "its learning dynamics (a replay of its snapshots)")
r = run.result
dyn = inside.dynamics(run)
frames = [int(i) for i in dyn.iterations]


def chart(fig, key: str, **kw):
    return st.plotly_chart(fig, width="stretch", key=key, config={"displayModeBar": False}, **kw)


st.subheader("When was each digit learned?")
threshold = st.select_slider(
    "Threshold",
    options=[0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
    value=0.8,
    format_func="{:.0%}".format,
    key="dyn_threshold",
)
left, right = st.columns([3, 2])
with left:
    chart(dv.per_digit_figure(dyn, threshold), "per_digit")
with right:
    st.caption(
        f"First snapshot at which each digit's dev accuracy reaches {threshold:.0%} "
        f"(snapshots at {', '.join(f'{i:,}' for i in frames[:6])}{'…' if len(frames) > 6 else ''})."
    )
    st.markdown("\n".join(f"- {s}" for s in dv.passing_sentences(dyn, threshold)))


at = st.select_slider(
    "Iteration (snapshot) for the confusion matrix and the map",
    options=frames,
    key=inside.url_value("at", "dyn_at", lambda v: dv.parse_snapshot(v, frames), frames[-1]),
)
inside.remember(at=int(at))
k = dyn.index(int(at))

c1, c2 = st.columns(2)
with c1:
    st.subheader(
        f"Confusion matrix at iteration {int(at):,}", help=glossary.help("confusion-matrix")
    )
    st.caption(f"{dv.accuracy_text(dyn, int(at))}. Rows: true digit; columns: the answer.")
    chart(dv.confusion_figure(dyn, int(at)), "cm_at")
with c2:
    st.subheader("Dead hidden units", help=glossary.help("dead-unit"))
    st.caption(dv.dead_caption(r.config, dyn, int(at)))
    none_died = dv.no_dead_text(dyn)
    if none_died:  # a flat line at zero would say nothing
        st.info(none_died)
    else:
        chart(dv.dead_units_figure(dyn), "dead")

st.subheader(f"The hidden layer as a map (iteration {int(at):,})", help=glossary.help("pca"))
st.caption(
    "Each dev image's hidden activations A1 (one number per unit), projected on their two "
    "principal components (PCA by SVD). Digits the network tells apart form separate clouds. "
    "Hover a point for its image index; click one to see the image."
)
coords, share = inside.hidden_map(run, int(at))
m1, m2 = st.columns([3, 1])
with m1:
    event = chart(
        dv.map_figure(coords, share, dyn.dev_y, pred=dyn.dev_pred[k]),
        "map",
        on_select="rerun",
        selection_mode="points",
    )
picked = dv.selected_index(event)
with m2:
    if picked is None:
        st.info("Click a point to see its image here.")
    else:
        st.plotly_chart(
            figures.digit_image(
                run.dev.images[picked],
                title=f"dev image {picked}: digit {int(dyn.dev_y[picked])}, "
                f"said {int(dyn.dev_pred[k][picked])}",
                height=300,
            ),
            width="stretch",
            key="map_image",
            config={"displayModeBar": False},
        )
        st.page_link(
            "pages/11_math.py",
            label="Open it on the Math page",
            query_params={**settings.to_query(), "image": str(picked), "at": str(int(at))},
            icon=":material/functions:",
        )

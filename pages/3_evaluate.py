"""Evaluate: which digits get confused, per-digit scores, and how sure the network is."""

import streamlit as st

from engine.config import run_label
from nnmath import Status
from ui import downloads, events, session, submission
from ui.state import init_state
from views import figures, metrics

settings = init_state()
st.title("Evaluate")
st.caption("How the current run does on the held-out dev images it never trained on.")

run = session.current_run(settings)
if run is None or run.result is None:
    st.stop()
r = run.result
ev = session.evaluation(run)
cm = metrics.confusion_matrix(ev.y, ev.pred)
st.markdown(
    f"**Run:** {run_label(settings, r.iterations)} · dev accuracy **{ev.accuracy:.1%}** "
    f"({int(ev.correct.sum()):,} of {len(ev.y):,} right)"
)
if r.status == Status.DIVERGED:
    st.error(f"This run diverged: {r.message}")

left, right = st.columns([3, 2])
with left:
    st.subheader("Confusion matrix")
    normalised = st.toggle("Share of each true digit (normalise rows)", key="cm_norm")
    st.caption(
        "Rows: the true digit; columns: what the network said. Off-diagonal cells are "
        "mistakes — click one to see those images on the Mistakes page."
    )
    event = st.plotly_chart(
        figures.confusion_heatmap(cm, normalised=normalised),
        width="stretch",
        on_select="rerun",
        selection_mode="points",
        key="cm",
        config={"displayModeBar": False},
    )
    pair = events.selected_cell(event)
    if pair is not None:
        true, pred = pair
        if true == pred:
            st.info(
                f"That cell holds the {cm[true, true]:,} images of {true} classified right: "
                "click an off-diagonal cell to see mistakes."
            )
        else:
            st.switch_page(
                "pages/4_mistakes.py",
                query_params={**settings.to_query(), "true": str(true), "pred": str(pred)},
            )
with right:
    st.subheader("Most confused pairs")
    pairs = metrics.confused_pairs(cm, top=8)
    if pairs.empty:
        st.success("No mistakes on the dev set.")
    for row in pairs.itertuples(index=False):
        st.page_link(
            "pages/4_mistakes.py",
            label=f"true **{row.true}** read as **{row.predicted}**: {row.count} images "
            f"({row.share:.0%} of the {row.true}s)",
            query_params={**settings.to_query(), "true": str(row.true), "pred": str(row.predicted)},
        )

st.subheader("Per digit: precision, recall, F1")
st.caption(
    "Precision: of the images called d, how many are d. Recall: of the d's, how many were "
    "found. F1: their harmonic mean."
)
table = metrics.per_class(cm)
c1, c2 = st.columns([3, 2])
c1.plotly_chart(
    figures.per_class_bars(table), width="stretch", key="prf", config={"displayModeBar": False}
)
# One decimal for every share (Streamlit's "percent" format drops trailing zeros: 97% beside 91.51%)
c2.dataframe(
    table.style.format("{:.1%}", subset=["precision", "recall", "f1"]),
    hide_index=True,
    width="stretch",
    column_config={
        "digit": st.column_config.NumberColumn("digit", format="%d", width="small"),
        "precision": st.column_config.Column("precision", width="small"),
        "recall": st.column_config.Column("recall", width="small"),
        "f1": st.column_config.Column("F1", width="small"),
        "support": st.column_config.NumberColumn("images", format="%d", width="small"),
    },
)

st.subheader("How sure is it?")
st.caption(
    "Confidence = probability of the predicted digit. A good network is sure when right "
    "and unsure when wrong; confident mistakes are the interesting ones."
)
right_conf, wrong_conf = metrics.confidence_split(ev)
st.plotly_chart(
    figures.confidence_histogram(right_conf, wrong_conf),
    width="stretch",
    key="confidence",
    config={"displayModeBar": False},
)

st.subheader("Take it with you")
st.caption(
    "This run's model (for numpy, the notebook, or predict.py on Kaggle's test.csv), a report "
    "to hand out that opens without a network, and the numbers behind the charts."
)
downloads.buttons(run, ev)

st.subheader("Make a Kaggle submission")
st.caption(
    "Kaggle's digit-recognizer scores predictions for its test.csv (28,000 images without "
    "labels): this run predicts them, you download submission.csv or submit it from here."
)
submission.section(run)

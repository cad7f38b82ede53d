"""Runs: every cached run on this dataset — table, curves, settings and time vs accuracy."""

import streamlit as st

from engine.config import run_label
from engine.notes import NOTE_MAX, parse_tags
from ui import session
from ui.state import init_state
from views import compare, significance
from views.compare_figures import (
    accuracy_vs_time_figure,
    curves_figure,
    group_curves_figure,
    parallel_coordinates_figure,
)
from views.format import MISSING, PERCENT_COLUMN, TRAINING_TIME_HELP, percent_column

NO_TOOLBAR = {"displayModeBar": False}  # plotly's toolbar would cover the legends

settings = init_state()
st.title("Runs")
st.caption(
    "Every run trained on this dataset by anyone on this server (the run cache). Sort by "
    "clicking a column header; select rows to overlay their curves, open, compare or "
    "delete them."
)

MAX_CURVES = 8

ds, train, dev = session.split_or_stop(settings.data)
store = session.store()
frame = compare.runs_frame(store.records(data=ds.fingerprint), store.annotations())
st.markdown(f"**Dataset:** {ds.name} — **{len(frame)} cached run(s)**.")
session.flag_unlisted_runs()
if frame.empty:
    st.info("No runs on this dataset yet: train one on the Train page, or launch a sweep.")
    st.page_link("pages/2_train.py", label="Train a run", icon=":material/fitness_center:")
    st.page_link("pages/7_sweep.py", label="Launch a sweep", icon=":material/grid_on:")
    st.stop()

# ---- filters ------------------------------------------------------------------------------------
f1, f2, f3 = st.columns([2, 2, 3])
statuses = f1.multiselect(
    "status", sorted(frame["status"].unique()), key="runs_status", placeholder="any status"
)
hidden = f2.multiselect(
    "hidden units",
    sorted(frame["hidden"].unique().tolist()),
    key="runs_hidden",
    placeholder="any size",
)
min_dev = f3.slider("minimum dev accuracy", 0, 100, 0, 1, format="%d%%", key="runs_min_dev")
g1, g2 = st.columns([2, 5])
all_tags = sorted({t for ts in frame["tags"] for t in ts.split(", ") if t})
tags = g1.multiselect("tags", all_tags, key="runs_tags", placeholder="any tag")
search = g2.text_input(
    "search notes and tags", "", key="runs_search", max_chars=100, placeholder="e.g. baseline"
)
view = compare.filter_runs(
    frame,
    status=statuses,
    hidden=hidden,
    min_dev_accuracy=min_dev / 100 if min_dev > 0 else None,
    tags=tags,
    text=search,
)
if len(view) != len(frame):
    st.caption(f"{len(view)} of {len(frame)} runs match these filters.")
shown = view.drop(columns=["run_id"]).assign(
    open=compare.ledger_links(view, settings.data),
    dev_accuracy=percent_column(view["dev_accuracy"]),
    train_accuracy=percent_column(view["train_accuracy"]),
)
# Room for the table's toolbar (search, download, full screen), which Streamlit draws above the
# table's top edge: without it the toolbar covered the search box (on a phone after a tap).
st.space("medium")
extra = compare.ledger_settings(view)  # the optimizer, activation ... when they differ
event = st.dataframe(
    shown,
    key="runs_table",
    on_select="rerun",
    selection_mode="multi-row",
    hide_index=True,
    placeholder=MISSING,
    width="stretch",
    column_order=[
        # the result first, pinned: on a phone the settings scroll under it, not it off-screen
        "dev_accuracy",
        "open",
        "hidden",
        "alpha",
        "seed",
        *extra,  # beside the other settings, not after the scroll
        "iterations",
        "status",
        "seeds",
        "train_accuracy",
        "loss",
        "dev_ece",
        "dev_nll",
        "seconds",
        "updated",
        # settings every listed run shares, and empty notes, would only widen the table
        *compare.ledger_text(view),
    ],
    column_config={
        **{name: name.replace("_", " ") for name in extra},  # "weight decay", not weight_decay
        "open": st.column_config.LinkColumn(
            "open", display_text="Evaluate ↗", help="Open this run on the Evaluate page"
        ),
        "hidden": st.column_config.NumberColumn("hidden", width="small"),
        "alpha": st.column_config.NumberColumn("alpha", format="%g", width="small"),
        "seed": st.column_config.NumberColumn("seed", width="small"),
        "iterations": st.column_config.NumberColumn(
            "iterations",
            width="small",
            help="Updates the run's parameters went through. A run that diverged keeps the "
            "parameters from before its loss blew up: diverged at iteration 1 means 0 iterations.",
        ),
        "dev_accuracy": st.column_config.NumberColumn(
            "dev accuracy", format=PERCENT_COLUMN, pinned=True
        ),
        "train_accuracy": st.column_config.NumberColumn("train accuracy", format=PERCENT_COLUMN),
        "loss": st.column_config.NumberColumn("loss", format="%.4f", width="small"),
        "dev_ece": st.column_config.NumberColumn(
            "dev ECE",
            format="%.4f",
            help="Expected calibration error on the dev set (15 bins): how far confidence is "
            "from accuracy. Empty for runs saved before it was recorded.",
        ),
        "dev_nll": st.column_config.NumberColumn(
            "dev NLL", format="%.4f", help="Mean −log p(true digit) on the dev set (the dev loss)."
        ),
        "seconds": st.column_config.NumberColumn(
            "time (s)", format="%.1f", width="small", help=TRAINING_TIME_HELP
        ),
        "updated": st.column_config.DatetimeColumn("updated (UTC)", format="MM-DD HH:mm"),
        "batch_size": st.column_config.NumberColumn(
            "batch size", help="Images per gradient step; empty = full batch (every image)."
        ),
        "seeds": st.column_config.TextColumn(
            "dev accuracy over seeds",
            help="The runs that differ from this one only in their seed: mean ± sample standard "
            "deviation of their dev accuracy, and how many seeds.",
        ),
    },
)
rows = list(event.selection.rows) if event and event.selection else []
selected = view.iloc[rows] if rows else view.iloc[:0]

# ---- actions on the selection -------------------------------------------------------------------
records = {r.run_id: r for r in store.records(data=ds.fingerprint)}
if selected.empty:
    st.caption("Select rows (tick boxes on the left) to overlay their curves and act on them.")
else:
    b1, b2, b3 = st.columns(3)
    if len(selected) == 1:
        one = records.get(selected["run_id"].iloc[0])
        if one is not None and b1.button("Open on Evaluate", key="runs_open", type="primary"):
            st.switch_page(
                "pages/3_evaluate.py",
                query_params=compare.permalink_params(one.config, one.iterations, settings.data),
            )
    if len(selected) == 2 and b2.button("Compare these two", key="runs_compare", type="primary"):
        a, b = selected["run_id"].tolist()
        st.switch_page("pages/8_compare.py", query_params={"a": a, "b": b})
    confirm = b3.checkbox(f"Delete {len(selected)} selected run(s)", key="runs_confirm_delete")
    if confirm and b3.button("Delete now", key="runs_delete"):
        for run_id in selected["run_id"]:
            store.delete(run_id)
        st.session_state.pop("runs_confirm_delete", None)
        st.rerun()

    if len(selected) == 1:
        run_id = selected["run_id"].iloc[0]
        note = store.annotation(run_id)
        with st.form("runs_note"):
            text = st.text_area("note on this run", note.note, max_chars=NOTE_MAX)
            tag_text = st.text_input("tags (comma-separated)", ", ".join(note.tags), max_chars=300)
            if st.form_submit_button("Save note and tags"):
                try:
                    store.annotate(run_id, note=text, tags=parse_tags(tag_text))
                except ValueError as e:
                    st.error(f"Not saved: {e}")
                else:
                    st.rerun()

    picked = [records[i] for i in selected["run_id"] if i in records][:MAX_CURVES]
    histories, groups = {}, {}  # label -> History; label -> the Histories of its seeds
    finals, group_finals = {}, {}  # the runs' results: their curves end on the table's numbers
    for members in significance.groups(picked).values():
        loaded = [(m, r) for m in members if (r := store.load(m.run_id)) is not None]
        if loaded:
            first = loaded[0][0]
            label = significance.group_label(first.config, first.iterations, len(loaded))
            groups[label] = [r.history for _, r in loaded]
            group_finals[label] = [r for _, r in loaded]
        for m, r in loaded:
            histories[run_label(m.config, m.iterations)] = r.history
            finals[run_label(m.config, m.iterations)] = r
    if len(selected) > MAX_CURVES:
        st.caption(f"Curves of the first {MAX_CURVES} selected runs.")
    if any(len(h) > 1 for h in groups.values()) and st.toggle(
        "Group seeds: mean line, ±1 sd band, thin line per seed",
        value=True,
        key="runs_group_curves",
    ):
        st.plotly_chart(
            group_curves_figure({k: v for k, v in groups.items() if v}, group_finals),
            key="runs_group_chart",
            width="stretch",
            config=NO_TOOLBAR,
        )
    else:
        st.plotly_chart(
            curves_figure(histories, finals), key="runs_curves", width="stretch", config=NO_TOOLBAR
        )

# ---- the whole ledger ---------------------------------------------------------------------------
if len(view) >= 1:
    st.plotly_chart(
        parallel_coordinates_figure(view), key="runs_parcoords", width="stretch", config=NO_TOOLBAR
    )
    st.plotly_chart(
        accuracy_vs_time_figure(view), key="runs_time", width="stretch", config=NO_TOOLBAR
    )

"""Compare two runs: metrics side by side, where their confusion matrices differ, and the dev
images one gets right and the other wrong ("what this change fixed, what it broke")."""

import streamlit as st

from ui import session
from ui.state import init_state
from views import compare, significance
from views.compare_figures import CHANGE_DETAIL, confusion_change_figure, gallery_figure

settings = init_state()
st.title("Compare runs")
st.caption(
    "Run A is the baseline, run B the change. Only runs evaluated on the same dataset and "
    "dev split can be compared image by image."
)

MAX_IMAGES = 40

store = session.store()
records = store.records()
if len(records) < 2:
    st.info(
        "Compare needs at least two cached runs: train some on the Train page or launch a sweep."
    )
    st.page_link("pages/7_sweep.py", label="Launch a sweep", icon=":material/grid_on:")
    st.stop()

try:
    ds, train, dev = session.split(settings.data)
    here = ds.fingerprint
except Exception:  # the current dataset is unusable: still list every run
    here = None
# This dataset's runs first, then the others (newest first within each group).
records.sort(key=lambda r: r.config.data != here)
by_id = {r.run_id: r for r in records}
ids = list(by_id)


def default(param: str, fallback: int) -> int:
    wanted = st.query_params.get(param)
    return ids.index(wanted) if wanted in by_id else min(fallback, len(ids) - 1)


def label(run_id: str) -> str:
    r = by_id[run_id]
    other = "" if r.config.data == here else f" · {r.data_name or r.config.data}"
    return compare.record_label(r) + other


c1, c2 = st.columns(2)
a_id = c1.selectbox("Run A (before)", ids, index=default("a", 1), format_func=label, key="cmp_a")
b_id = c2.selectbox("Run B (after)", ids, index=default("b", 0), format_func=label, key="cmp_b")
st.query_params["a"], st.query_params["b"] = a_id, b_id  # the comparison is a shareable link
rec_a, rec_b = by_id[a_id], by_id[b_id]

verdict = compare.comparability(rec_a.config, rec_b.config)
if not verdict.ok:
    st.warning(f"Not comparable. {verdict.reason} Pick two runs on the same dataset.")
    st.stop()
if a_id == b_id:
    st.info(verdict.reason)

# The dev set both runs were evaluated on (the server's fixed split of their dataset).
try:
    _, _, dev = session.split(rec_a.data_key or settings.data)
except Exception as e:
    st.error(f"The dataset of these runs is not available on this server any more: {e}")
    st.stop()
if dev is None or dev.n != rec_a.config.dev_size:
    st.warning("The dev split of these runs cannot be rebuilt here (different dev size).")
    st.stop()
result_a, result_b = store.load(a_id), store.load(b_id)
if result_a is None or result_b is None:
    st.error("One of the runs was just deleted or evicted from the cache: pick another.")
    st.stop()

comparison = compare.compare_runs(result_a, result_b, dev)
st.subheader("Side by side")
differs, shared = compare.split_shared(comparison.metrics)
st.table(differs)
with st.expander(f"The {len(shared)} settings A and B share"):
    st.table(shared.rename(columns={"A": "A and B"}))
for name, rec in (("A", rec_a), ("B", rec_b)):
    note = store.annotation(rec.run_id)  # only these two: not every run's notes file
    if note.note or note.tags:
        tags = " ".join(f"`{t}`" for t in note.tags)
        st.markdown(f"**Run {name}:** {note.note} {tags}".strip())

st.subheader("Is B really better, or is it luck?")
paired = significance.paired_difference(
    comparison.pred_a == comparison.labels, comparison.pred_b == comparison.labels
)
st.markdown(paired.sentence())
st.caption(
    f"Method: [{paired.method}](glossary#paired-bootstrap): {paired.detail}. The dev images are "
    "resampled 10,000 times; the interval holds the middle 95% of B − A."
)
group_a, group_b = (significance.group_of(records, r) for r in (rec_a, rec_b))
if len(group_a) > 1 or len(group_b) > 1:
    sa, sb = (significance.summary([m.dev_accuracy for m in g]) for g in (group_a, group_b))
    st.markdown(
        f"Over seeds (runs that differ from it only in seed): A {sa.text()}, B {sb.text()}."
    )
    seeds = significance.group_difference(
        [m.dev_accuracy for m in group_a], [m.dev_accuracy for m in group_b]
    )
    st.markdown(seeds.sentence())
    st.caption(f"Method: [{seeds.method}](glossary#welch-t-interval): {seeds.detail}.")
st.caption(
    "A difference between two single runs may be one seed's luck: repeat each setting with "
    "several seeds and compare the groups."
)
r0, r1, r2 = st.columns([1, 2, 2], vertical_alignment="bottom")
n_seeds = r0.number_input(
    "repeats", 2, compare.MAX_REPEAT, 5, key="cmp_repeat_seeds", help="How many seeds."
)
for col, name, rec in ((r1, "A", rec_a), (r2, "B", rec_b)):
    col.page_link(
        "pages/7_sweep.py",
        label=f"Repeat run {name} with {n_seeds} seeds",
        icon=":material/repeat:",
        query_params=compare.repeat_params(
            rec.config, rec.iterations, rec.data_key or settings.data, n_seeds
        ),
    )
p1, p2 = st.columns(2)
for col, name, rec in ((p1, "A", rec_a), (p2, "B", rec_b)):
    col.page_link(
        "pages/3_evaluate.py",
        label=f"Open run {name} on Evaluate",
        icon=":material/open_in_new:",
        query_params=compare.permalink_params(
            rec.config, rec.iterations, rec.data_key or settings.data
        ),
    )

st.subheader("Where the confusion matrix changed")
st.plotly_chart(
    confusion_change_figure(
        comparison.improvement, comparison.cm_a, comparison.cm_b, detail=CHANGE_DETAIL
    ),
    key="cmp_confusion",
    width="stretch",
    config={"displayModeBar": False},
)

st.subheader("What B fixed, what B broke")
n_fixed, n_broke = len(comparison.fixed), len(comparison.broke)
st.markdown(
    f"Of {dev.n:,} dev images, B gets **{n_fixed} right that A got wrong** and "
    f"**{n_broke} wrong that A got right** (net {n_fixed - n_broke:+d}). Captions read "
    "*true: A's answer → B's answer*."
)
# Side by side on a desktop: alone, a gallery (five tiles a row, rows of a fixed height) was a
# strip down the middle, under half the width; two of them fill it and read as a pair. One under
# the other on a phone, where each has the whole width.
fixed_col, broke_col = st.columns(2)
for col, key, indices, title, detail in (
    (fixed_col, "cmp_fixed", comparison.fixed, f"Fixed by B ({n_fixed})", "A wrong, B right"),
    (broke_col, "cmp_broke", comparison.broke, f"Broken by B ({n_broke})", "A right, B wrong"),
):
    shown = indices[:MAX_IMAGES]
    captions = [
        f"{comparison.labels[i]}: {comparison.pred_a[i]}→{comparison.pred_b[i]}" for i in shown
    ]
    if len(indices) > MAX_IMAGES:
        detail += f" · the first {MAX_IMAGES} shown"
    col.plotly_chart(
        gallery_figure(dev.images[shown], captions, title, detail=detail),
        key=key,
        width="stretch",
        config={"displayModeBar": False},
    )

st.subheader("More runs: only what differs")
more = st.multiselect(
    "Runs to set side by side",
    ids,
    default=[a_id, b_id] if a_id != b_id else [a_id],
    format_func=label,
    key="cmp_more",
    max_selections=12,
)
if len(more) >= 2:
    differs, shared = compare.settings_side_by_side([by_id[i] for i in more])
    if differs.empty:
        st.markdown("These runs have the same settings.")
    else:
        st.space("medium")  # room for the table's toolbar, drawn above it (over the runs box)
        st.dataframe(differs, width="stretch")
    with st.expander(f"The {len(shared)} settings they share"):
        st.table(shared)

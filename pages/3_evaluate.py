"""Evaluate: which digits get confused, per-digit scores, and how sure the network is."""

import streamlit as st

from engine.config import format_min_conf
from nnmath import Status
from ui import downloads, events, session, submission
from ui.state import init_state
from views import calibration, figures, glossary, metrics
from views.format import MISSING

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
    f"**Run:** {run.label} · dev accuracy **{ev.accuracy:.1%}** "
    f"({int(ev.correct.sum()):,} of {len(ev.y):,} right)"
)
if run.uploaded:
    st.info(
        f"{session.NO_HISTORY.capitalize()}. Its dev set is the current dataset's "
        f"({run.dev.n:,} images); it may have seen them when it was trained elsewhere."
    )
if r.status == Status.DIVERGED:
    st.error(f"This run diverged: {r.message}")

# The learner's view first; the confidence section and the downloads on their own tabs, each
# drawn only when open (a tab switch reruns the page), so the first view is not slowed by them.
results_tab, confidence_tab, take_tab = st.tabs(
    ["Results", "Confidence", "Take it with you"],
    key="evaluate_tab",
    on_change="rerun",
)

if results_tab.open:
    with results_tab:
        left, right = st.columns([3, 2])
        with left:
            st.subheader("Confusion matrix", help=glossary.help("confusion-matrix"))
            normalised = st.toggle("Share of each true digit (normalise rows)", key="cm_norm")
            st.caption(
                "Rows: the true digit; columns: what the network said. Off-diagonal cells are "
                "mistakes — click one to see those images on the Mistakes page. The darker a "
                "mistake, the more images; the right answers on the diagonal are all dark."
            )
            event = st.plotly_chart(
                figures.confusion_heatmap(cm, normalised=normalised),
                width="stretch",
                on_select="rerun",
                selection_mode="points",
                key="cm",
                config={"displayModeBar": False},
            )
            events.one_tap_select("cm")  # one tap on a phone, not hover-then-tap
            if normalised and (note := metrics.row_rounding_note(cm)):
                st.caption(note)
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
                        query_params={
                            **settings.to_query(),
                            "true": str(true),
                            "pred": str(pred),
                            "min_conf": "0",
                        },
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
                    query_params={
                        **settings.to_query(),
                        "true": str(row.true),
                        "pred": str(row.predicted),
                        "min_conf": "0",
                    },
                )

        st.subheader("Per digit: precision, recall, F1")
        st.caption(
            "Precision: of the images called d, how many are d. Recall: of the d's, how many were "
            "found. F1: their harmonic mean."
        )
        table = metrics.per_class(cm)
        # The table under the bars, not beside them: beside, it had 40% of the row (321 px on a
        # 1280 px screen, ~220 px on a 1024 px one) and its last column was cut off; under them it
        # has the whole width on every screen, and its compact columns (312 px) fit a phone's.
        st.plotly_chart(
            figures.per_class_bars(table),
            width="stretch",
            key="prf",
            config={"displayModeBar": False},
        )
        st.space("medium")  # room for the table's toolbar, drawn above it (over the bars' axis)
        # One decimal for every share (Streamlit's "percent" format drops trailing zeros: 97% beside 91.51%)
        # As wide as the bars above it (at its content's 312 px it sat under their left end on a
        # desktop, apart from them): the compact widths are minimums, stretched to fill the row,
        # and each value left-aligned under its header (the headers are; far right, they drifted away).
        st.dataframe(
            table.style.format("{:.1%}", subset=["precision", "recall", "f1"]),
            hide_index=True,
            placeholder=MISSING,
            width="stretch",
            key="per_digit",
            column_config={
                "digit": st.column_config.NumberColumn(
                    "digit", format="%d", width=48, alignment="left"
                ),
                "precision": st.column_config.Column(
                    "precision", width=76, help=glossary.help("precision"), alignment="left"
                ),
                "recall": st.column_config.Column(
                    "recall", width=62, help=glossary.help("recall"), alignment="left"
                ),
                "f1": st.column_config.Column(
                    "F1", width=62, help=glossary.help("f1"), alignment="left"
                ),
                "support": st.column_config.NumberColumn(
                    "images", format="%d", width=62, alignment="left"
                ),
            },
        )
        wrong = int((~ev.correct).sum())
        if wrong:
            st.page_link(
                "pages/4_mistakes.py",
                label=f"See the {wrong:,} mistakes, most confident first",
                icon=":material/report:",
                query_params={**settings.to_query(), "true": "any", "pred": "any", "min_conf": "0"},
            )
        st.caption(
            "How sure it is, and whether its percentages can be trusted: the **Confidence** tab. "
            "The model, a report and the numbers to download: **Take it with you**."
        )

if confidence_tab.open:
    with confidence_tab:
        st.markdown(calibration.plain_summary(ev.confidence, ev.correct))
        st.subheader("How sure is it?", help=glossary.help("confidence"))
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

        report = session.confidence(run)
        if report is None:
            st.info(
                "This run's logits are not finite numbers (it overflowed): its confidence cannot be measured."
            )
        else:
            te = report.temperature
            st.subheader("Can you trust the percentages?", help=glossary.help("calibration"))
            st.caption(
                "A network is calibrated when, of the images it answers with 80% confidence, 80% are "
                "right. The reliability diagram bins the dev images by confidence and compares each bin's "
                "accuracy (bars) with the diagonal; the red part is the gap. Temperature scaling divides "
                "the logits by one number T, fitted to minimise the NLL. Honestly: T is fitted on one half "
                'of the dev set and every "after" number is measured on the other half, then the other '
                "way round, so no number was fitted on itself."
            )
            st.markdown(calibration.temperature_sentence(te))
            d1, d2 = st.columns(2)
            d1.plotly_chart(
                calibration.reliability_figure(te.reliability_before, title="As trained (T = 1)"),
                width="stretch",
                key="reliability_before",
                config={"displayModeBar": False},
            )
            d2.plotly_chart(
                calibration.reliability_figure(
                    te.reliability_after, title="After temperature scaling (T from the other half)"
                ),
                width="stretch",
                key="reliability_after",
                config={"displayModeBar": False},
            )
            st.dataframe(
                calibration.scores_table(te),
                hide_index=True,
                placeholder=MISSING,
                width="stretch",
                key="calibration_scores",
                column_config={
                    "metric": st.column_config.Column("metric", width="small"),
                    "before": st.column_config.NumberColumn(
                        "as trained", format="%.4f", width="small"
                    ),
                    "after": st.column_config.NumberColumn("after T", format="%.4f", width="small"),
                    "change": st.column_config.NumberColumn(
                        "change", format="%+.4f", width="small"
                    ),
                },
                column_order=["metric", "before", "after", "change"],
            )
            st.markdown("Lower is better for all four.\n" + calibration.explanations())
            with st.expander("The two folds"):
                st.dataframe(
                    calibration.folds_table(te),
                    hide_index=True,
                    placeholder=MISSING,
                    width="stretch",
                    key="calibration_folds",
                    column_config={
                        "T": st.column_config.NumberColumn("T", format="%.4f"),
                        "NLL before": st.column_config.NumberColumn(format="%.4f"),
                        "NLL after": st.column_config.NumberColumn(format="%.4f"),
                    },
                )
                st.caption(
                    f"Halves from a fixed permutation (seed {calibration.SPLIT_SEED}) of the "
                    f"{len(ev.y):,} dev images. For reference, T fitted on the whole dev set would be "
                    f"{te.temperature_all:.4f}; it is not used for any number above."
                )

            st.subheader("Answer only when sure")
            st.caption(
                'Say "I don\'t know" whenever the confidence (as trained, the percentage the app shows) is '
                "below a threshold. Coverage is the share of images answered; the curve shows the share of "
                "wrong answers at every coverage, answering the most confident images first."
            )
            threshold = st.slider(
                "Answer only when the confidence is at least",
                0.0,
                1.0,
                0.9,
                0.01,
                format="%.2f",
                key="threshold",
            )
            sel = calibration.answer_when_sure(report.risk, threshold)
            m1, m2, m3 = st.columns(3)
            m1.metric("Coverage (answered)", f"{sel.coverage:.1%}", help=glossary.help("coverage"))
            m2.metric(
                "Accuracy on the answered", "—" if sel.answered == 0 else f"{sel.accuracy:.1%}"
            )
            m3.metric("“I don't know”", f"{sel.abstained:,}")
            confident_mistakes = sel.answered - sel.right
            st.markdown(
                f'{sel.answered:,} answered + {sel.abstained:,} "I don\'t know" = {len(ev.y):,} dev '
                f"images; of the answered, {sel.right:,} right + {confident_mistakes:,} wrong."
            )
            st.plotly_chart(
                calibration.risk_coverage_figure(report.risk, threshold),
                width="stretch",
                key="risk_coverage",
                config={"displayModeBar": False},
            )
            st.page_link(
                "pages/4_mistakes.py",
                label=f"See the {confident_mistakes:,} confident mistakes (confidence ≥ {threshold:.0%})",
                icon=":material/report:",
                query_params={
                    **settings.to_query(),
                    "true": "any",
                    "pred": "any",
                    "min_conf": format_min_conf(threshold) or "0",
                },
            )

if take_tab.open:
    with take_tab:
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

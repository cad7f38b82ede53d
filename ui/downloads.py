"""Download buttons for the current run: model, predictor zip, report, history and per-digit CSV.

Each file is built only when its button is clicked (``data`` is a callable, run by Streamlit on
its own thread) and the click does not rerun the page (``on_click="ignore"``): the 5 MB report
costs nothing until somebody wants it. The files themselves come from views.export/report.
"""

from __future__ import annotations

import streamlit as st

from ui import session
from views import export, report

ZIP = "application/zip"
NPZ = "application/octet-stream"
CSV = "text/csv"
HTML = "text/html"


def run_export(run) -> export.RunExport:
    """The views.export view of a engine.runs.Run that has a result."""
    note = session.store().annotation(run.config.run_id)
    return export.RunExport(run.config, run.result, run.dataset, run.dev, note)


def buttons(run, ev) -> None:
    """The five downloads of ``run`` (a session.Run with a result; ``ev`` its dev evaluation)."""
    r = run_export(run)
    stem = (  # an uploaded model keeps its own name: nnmath-upload-<digest>
        f"nnmath-{run.config.model}"
        if run.config.model is not None
        else export.model_filename(r.config, r.result.iterations).removesuffix(".npz")
    )
    finite = r.result.params.is_finite()
    if not finite:
        st.warning(
            "This run diverged: its weights are not finite numbers, so there is no model to "
            "download. The report and the CSV files show how it went."
        )
    top = st.columns(3)
    top[0].download_button(
        "Model (.npz)",
        data=lambda: export.model_bytes(r),
        file_name=f"{stem}.npz",
        mime=NPZ,
        on_click="ignore",
        icon=":material/download:",
        disabled=not finite,
        key="dl_model",
        help="W1, b1, W2, b2 and the settings as JSON: numpy.load(..., allow_pickle=False) "
        "or nnmath.load_model reads it.",
    )
    top[1].download_button(
        "Model + predict.py (.zip)",
        data=lambda: export.bundle_zip(r),
        file_name=f"{stem}.zip",
        mime=ZIP,
        on_click="ignore",
        icon=":material/folder_zip:",
        disabled=not finite,
        key="dl_bundle",
        help="The model, a standalone predictor (NumPy only) and a README: "
        "python predict.py model.npz test.csv -o submission.csv",
    )
    top[2].download_button(
        "Run report (.html)",
        data=lambda: report.report_html(r, ev),
        file_name=f"{stem}-report.html",
        mime=HTML,
        on_click="ignore",
        icon=":material/description:",
        key="dl_report",
        help="One page that opens offline: settings, metrics, curves, confusion matrix, "
        "per-digit scores, the most confident mistakes and the hidden units.",
    )
    bottom = st.columns(3)
    bottom[0].download_button(
        "History (.csv)",
        data=lambda: export.history_csv(r.result.history),
        file_name=f"{stem}-history.csv",
        mime=CSV,
        on_click="ignore",
        icon=":material/table:",
        key="dl_history",
        help="One row per iteration: loss, train and dev accuracy, dev loss, seconds.",
    )
    bottom[1].download_button(
        "Per-digit scores (.csv)",
        data=lambda: export.per_digit_csv(ev),
        file_name=f"{stem}-per-digit.csv",
        mime=CSV,
        on_click="ignore",
        icon=":material/table:",
        key="dl_per_digit",
        help="Precision, recall, F1 and number of dev images of each digit.",
    )

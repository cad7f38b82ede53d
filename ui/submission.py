"""Evaluate's "Make a Kaggle submission": the current run predicts the competition's test.csv
(a file under data/downloads, e.g. the digit-recognizer download, or an upload), the result is
offered as submission.csv, and with credentials it is submitted through the Kaggle API.

Streamlit glue only: the predictions are nnmath.make_predictions (data.submission), the upload is
data.kaggle.submit. Credentials are read by data.kaggle and never shown.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine import datasets
from ui import host

UPLOAD = "upload"
STATE_KEY = "kaggle_submission"  # session_state: the last submission made on this page
COMPETITION_FILE = "competitions/digit-recognizer/"


def _label(key: str) -> str:
    return "Upload a test.csv…" if key == UPLOAD else key


@st.cache_resource(max_entries=2, show_spinner="Reading the test set…")
def _test_set(path: str, stamp: float, max_unpacked: int, max_images: int):
    import data

    return data.load_dataset(
        Path(path), part="test", max_unpacked=max_unpacked, max_images=max_images
    )


def _choices() -> tuple[list[str], dict[str, Path]]:
    files = datasets.local_files()
    keys = sorted(files, key=lambda k: (not k.startswith(COMPETITION_FILE), k))
    return [*keys, UPLOAD], files


def _predict(run, dataset, source: str) -> dict:
    import nnmath
    from data.submission import submission_csv

    labels = nnmath.make_predictions(
        dataset.X, run.result.params, activation=run.result.config.activation
    )
    return {
        "run_id": run.config.run_id,
        "iterations": run.result.iterations,
        "source": source,
        "name": dataset.name,
        "rows": len(labels),
        "labelled": dataset.has_labels,
        "text": submission_csv(labels),
    }


def section(run) -> None:
    """The whole section for ``run`` (a session.Run with a result)."""
    from data import kaggle

    choices, files = _choices()
    source = st.selectbox(
        "Test set",
        choices,
        format_func=_label,
        key="submission_source",
        help="Kaggle's digit-recognizer test.csv: 28,000 unlabelled images. Download the "
        "competition on the Data page (it lands under data/downloads), or upload test.csv.",
    )
    uploaded = None
    if source == UPLOAD:
        uploaded = st.file_uploader("test.csv (header pixel0..pixel783)", key="submission_upload")
    if st.button(
        "Make submission.csv", key="make_submission", disabled=source == UPLOAD and not uploaded
    ):
        try:
            with st.spinner("Predicting every image…"):
                if uploaded is not None:  # within the server's limits, as on the Data page
                    from ui import session

                    ds = session.read_upload(uploaded, part="test")
                    name = uploaded.name
                else:
                    path = files[source]
                    limit = host.read_limits()
                    ds = _test_set(
                        str(path),
                        path.stat().st_mtime,
                        limit["max_unpacked"],
                        limit["max_images"],
                    )
                    name = source
                st.session_state[STATE_KEY] = _predict(run, ds, name)
        except (ValueError, OSError) as e:  # data.DataError names the line and column
            st.session_state.pop(STATE_KEY, None)
            st.error(f"Could not read the test set, so no submission was made. {e}")
    made = st.session_state.get(STATE_KEY)
    if (
        not made
        or made["run_id"] != run.config.run_id
        or made["iterations"] != run.result.iterations
    ):
        return
    rows = made["rows"]
    kaggle_rows = kaggle.COMPETITION_TEST_ROWS[kaggle.COMPETITION]
    st.success(
        f"submission.csv: {rows:,} predictions for {made['name']} (ImageId 1..{rows:,}, Label)."
    )
    if made["labelled"] or rows != kaggle_rows:
        st.warning(
            f"Kaggle's digit-recognizer expects its test.csv: {kaggle_rows:,} unlabelled images. "
            f"This file has {rows:,} rows{' from a labelled set' if made['labelled'] else ''}, "
            "so Kaggle would refuse it; it is still yours to download."
        )
    st.download_button(
        "Download submission.csv",
        data=made["text"],
        file_name="submission.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="dl_submission",
    )
    secrets = host.secrets_mapping()
    has_credentials = kaggle.credentials_available(secrets)
    if not has_credentials:
        st.info(
            "To submit from here, add KAGGLE_API_TOKEN (or KAGGLE_USERNAME and KAGGLE_KEY) to "
            ".streamlit/secrets.toml or the environment, or ~/.kaggle/kaggle.json. Or upload "
            "the downloaded file at kaggle.com/competitions/digit-recognizer/submit."
        )
    s = run.settings
    message = st.text_input(
        "Message",
        value=f"nnmath: {s.hidden} hidden units, alpha {s.alpha:g}, {made['iterations']:,} "
        f"iterations, seed {s.seed}",
        max_chars=500,
        key="submission_message",
    )
    if st.button(
        "Submit to Kaggle", key="submit_kaggle", type="primary", disabled=not has_credentials
    ):
        with st.status("Submitting to Kaggle…", expanded=True) as status:
            try:
                answer = kaggle.submit(made["text"], message, secrets=secrets, step=st.write)
            except ValueError as e:  # data.DataError: credentials, 403 rules, 400, network…
                status.update(label="Not submitted", state="error")
                st.error(str(e))
            else:
                status.update(label="Submitted", state="complete")
                st.success(f"Kaggle's answer: {answer}")

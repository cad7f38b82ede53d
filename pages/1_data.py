"""Data: pick where the digits come from, then look at them."""

import streamlit as st

from engine import datasets
from ui import host, session, teacher
from ui.state import init_state
from views import figures
from views.explore import sample_grid
from views.format import upper_first

settings = init_state()
st.title("Data")
st.caption(
    "Where the digits come from. Training uses a fixed, stratified split: 1,000 images held "
    "out as the dev set (20 % for sets under 5,000 images), the rest to train on."
)

MAX_MB = host.upload_limit_mb()  # NNMATH_MAX_UPLOAD_MB, at most Streamlit's maxUploadSize
SOURCES = {
    "sample": "Embedded sample (5,000 MNIST digits, offline)",
    "file": "A file under data/downloads",
    "upload": f"Upload a file (up to {MAX_MB:g} MB)",
    "kaggle": "Download from Kaggle",
}
current_kind = (
    "sample"
    if settings.data == datasets.SAMPLE
    else "upload"
    if settings.data.startswith(datasets.UPLOAD_PREFIX)
    else "file"
)
kind = st.radio(
    "Source",
    list(SOURCES),
    format_func=SOURCES.get,
    horizontal=True,
    index=list(SOURCES).index(current_kind),
    key="data_source",
    disabled=teacher.exercise().is_locked("data"),
)

if teacher.exercise().is_locked("data"):
    st.caption("The dataset is set for this exercise.")
elif kind == "sample":
    if settings.data != datasets.SAMPLE and st.button("Use the embedded sample", type="primary"):
        session.try_select(datasets.SAMPLE, settings)
elif kind == "file":
    files = sorted(datasets.local_files())
    if not files:
        st.info(
            "No dataset files on this server yet: upload one (Source: Upload), or download one "
            "from Kaggle."
        )
    else:
        choice = st.selectbox(
            "File",
            files,
            index=files.index(settings.data) if settings.data in files else 0,
            key="data_file",
        )
        if st.button("Load this file", type="primary"):
            session.try_select(choice, settings)
elif kind == "upload":
    uploaded = st.file_uploader(
        f"Digits as CSV (label + 784 pixels, or Kaggle's train.csv), IDX, npz or zip — "
        f"up to {MAX_MB:g} MB",
        type=None,
        key="data_upload",
        # the dropzone's own "Limit … per file" then states the same limit as the label
        max_upload_size=max(1, int(MAX_MB)),
    )
    if uploaded is not None and st.button("Use this upload", type="primary"):
        try:
            with st.spinner(f"Reading {uploaded.name}…"):
                key = session.keep_upload(uploaded)
        except Exception as e:  # data.DataError says what is wrong with the file
            st.error(f"Could not read {uploaded.name}, so the previous dataset stays selected. {e}")
        else:
            session.try_select(key, settings)
else:
    from data import kaggle

    ref = st.text_input(
        "Kaggle competition or dataset",
        value="digit-recognizer",
        help="e.g. digit-recognizer (a competition: accept its rules first) or "
        "oddrationale/mnist-in-csv (a dataset).",
        key="kaggle_ref",
    )
    secrets = host.secrets_mapping()
    can_download = kaggle.credentials_available(secrets)
    if not can_download:
        st.info(
            "Kaggle downloads are not set up on this server: the embedded sample and uploads "
            "work without them. (For the person hosting it: add a Kaggle API token, as "
            "docs/hosting.md explains.)"
        )
    if st.button("Download", type="primary", key="kaggle_download", disabled=not can_download):
        bar = st.progress(0.0, text=f"Downloading {ref}…")

        def progress(done, total):
            mb = done / 1e6
            if total:
                bar.progress(
                    min(1.0, done / total),
                    text=f"Downloading {ref}: {mb:,.1f} of {total / 1e6:,.1f} MB",
                )
            else:
                bar.progress(0.0, text=f"Downloading {ref}: {mb:,.1f} MB")

        try:
            key = session.kaggle_download(ref, progress, secrets)
        except Exception as e:  # data.DataError: no credentials, 403 rules, 404, network…
            bar.empty()
            st.error(
                "Kaggle download failed, so the previous dataset stays selected. "
                + upper_first(str(e))
            )
        else:
            bar.empty()
            session.try_select(key, session.state_settings())

settings = session.state_settings()
settings = session.state_settings()
try:
    ds, train, dev = session.split(settings.data)
    info = session.dataset_summary(settings.data)
except Exception as e:
    st.error(f"Cannot load dataset {settings.data!r}: {e}")
    st.stop()

st.subheader(ds.name)
c1, c2, c3 = st.columns(3)
c1.metric("Images", f"{ds.n:,}")
for (name, n), col in zip(info.sizes.items(), (c2, c3)):
    col.metric(name.capitalize(), f"{n:,}")
st.caption(f"data={settings.data} · fingerprint {ds.fingerprint} (runs are keyed by the content)")

left, right = st.columns([3, 2])
with left:
    st.markdown("**Samples** (4 of each digit; label above each image)")
    seed = st.number_input(
        "Show another pick (pick number)",
        min_value=0,
        value=0,
        step=1,
        key="sample_seed",
        help="Each number shows a different random pick of 4 images per digit from the same "
        "dataset; 0 is the first pick. Use + and − to browse.",
    )
    images, captions, hover = sample_grid(ds, seed=int(seed))
    st.plotly_chart(
        figures.digit_grid(images, captions, cols=10, hover=hover),
        width="stretch",
        key="samples",
        config={"displayModeBar": False},
    )
with right:
    if info.counts is not None:
        st.plotly_chart(
            figures.digit_counts(info.counts, title="Images per digit"),
            width="stretch",
            key="counts",
            config={"displayModeBar": False},
        )
    st.plotly_chart(
        figures.split_sizes(info.sizes),
        width="stretch",
        key="split",
        config={"displayModeBar": False},
    )
if info.means is not None:
    st.markdown(
        "**The average image of each digit** — what a digit looks like on average; the "
        "network has to tell apart the ones that overlap."
    )
    st.plotly_chart(
        figures.mean_digits(info.means, info.counts),
        width="stretch",
        key="means",
        config={"displayModeBar": False},
    )

st.subheader("A model trained elsewhere")
st.caption(
    "A model file (.npz: W1, b1, W2, b2 in nnmath's layout as the app's Model download writes "
    "it, or the notebook's own np.savez of its W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1)) "
    "becomes the current run on this dataset: Evaluate, Mistakes, Weights, Draw, Why and Lab "
    "show it; it has no training curves. Its link works like an uploaded dataset's."
)
if settings.model is not None:
    st.info(f"In use: uploaded model {settings.model} (the URL's model=).")
    session.drop_model_button(settings)
model_file = st.file_uploader(
    f"Upload a model (.npz) — up to {MAX_MB:g} MB, hidden units up to "
    f"{host.limits().max_hidden} on this server",
    type=["npz"],
    key="model_upload",
)
if model_file is not None and st.button("Use this model", type="primary", key="use_model"):
    used = session.use_model(model_file.getvalue(), model_file.name, settings)
    if used is not None:  # show it as in use (on failure use_model said why; nothing changed)
        st.rerun()

"""Hosting a class: the server's limits (engine.limits, read from the environment and
st.secrets), the per-session rate of new trainings, and the shared training queue."""

from __future__ import annotations

import time

import streamlit as st

from engine.limits import Limits
from engine.slots import TrainingSlots

STARTS_KEY = "_training_starts"  # session_state: unix times this session started trainings
WARNED_KEY = "_limits_warned"


def secrets_mapping() -> dict:
    """st.secrets as a plain mapping (empty when there is no secrets file): the one way the app
    reads secrets (Kaggle credentials, the Dask scheduler, these limits). Passed on, never shown."""
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml: Streamlit raises on access
        return {}


def limits() -> Limits:
    """This server's limits. Values that cannot be read keep their default, with one warning
    per session naming the setting."""
    found, problems = Limits.read(secrets=secrets_mapping())
    if problems and not st.session_state.get(WARNED_KEY):
        st.session_state[WARNED_KEY] = True
        for p in problems:
            st.warning(f"Server setting ignored: {p}.")
    return found


def bounds(lim: Limits | None = None) -> dict[str, int]:
    """Keyword arguments of Settings.problems for this server."""
    lim = lim or limits()
    return {"max_hidden": lim.max_hidden, "max_iterations": lim.max_iterations}


def upload_limit_mb(lim: Limits | None = None) -> float:
    """The upload limit the Data page states and enforces: the smaller of NNMATH_MAX_UPLOAD_MB
    and Streamlit's own server.maxUploadSize (which refuses larger files before we see them)."""
    lim = lim or limits()
    return min(lim.max_upload_mb, float(st.get_option("server.maxUploadSize")))


def read_limits(lim: Limits | None = None) -> dict[str, int]:
    """Keyword arguments of data.load_dataset for a file a visitor hands in (a dataset, a
    submission's test.csv): the upload limit, NNMATH_MAX_UNPACKED_MB (measured while
    decompressing) and NNMATH_MAX_IMAGES (counted before parsing)."""
    lim = lim or limits()
    return {
        "max_bytes": int(upload_limit_mb(lim) * 1024 * 1024),
        "max_unpacked": lim.max_unpacked_bytes,
        "max_images": lim.max_images,
    }


def seconds_until_allowed(lim: Limits | None = None, now: float | None = None) -> float:
    """0 when this session may start a training now, else how long until it may (it started
    ``runs_per_minute`` of them in the last 60 s)."""
    lim = lim or limits()
    now = time.time() if now is None else now
    recent = [t for t in st.session_state.get(STARTS_KEY, []) if now - t < 60]
    st.session_state[STARTS_KEY] = recent
    if len(recent) < lim.runs_per_minute:
        return 0.0
    return 60 - (now - recent[-lim.runs_per_minute])


def note_start(now: float | None = None, count: int = 1) -> None:
    """Count ``count`` trainings started now by this session (a sweep counts each of its runs)."""
    stamp = time.time() if now is None else now
    st.session_state.setdefault(STARTS_KEY, []).extend([stamp] * max(1, int(count)))


def slots(root, lim: Limits | None = None) -> TrainingSlots:
    """The server's training queue, under the run store (shared by every process using it), and
    its time limit per training."""
    lim = lim or limits()
    return TrainingSlots(root / "slots", lim.max_trainings, lim.max_train_seconds)


def queue_text(ahead: int, busy: int, n: int) -> str:
    runs = f"{ahead} run{'' if ahead == 1 else 's'} ahead of yours" if ahead else "yours is next"
    return (
        f"queued for a free training slot: {runs} ({busy} of {n} training now on this server; "
        "Stop leaves the queue)"
    )

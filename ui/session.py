"""Streamlit side of the runs: the server's engine, the current run (served, or trained with a
progress bar, a live chart and Stop), and cached evaluations. Pages call these; the engine below
(engine.runs.Runs) does the work, and figures and metrics stay Streamlit-free.

Caching (st.cache_resource: immutable shared objects, never widgets inside): one engine per
server — it caches datasets and served results itself, bounded in entries and bytes — and the
evaluations and summaries the pages draw, keyed by run id and length (training is deterministic,
so those name the numbers).
"""

from __future__ import annotations

import os
import time
from typing import Any

import streamlit as st

from engine import datasets, models
from engine.cache import MB, ByteLRU
from engine.config import Settings, query_string, run_label
from engine.runs import DEFAULT_CACHE_MB, Run, Runs
from engine.slots import Cancelled
from engine.store import RunStore
from ui import classroom, host
from views import figures, metrics

# Live updates while training. Each update is a message the browser must draw on the same few
# cores that train, so updates are throttled by iterations AND by time (bench/bench_browser.py
# measures what they cost).
CHART_EVERY = 25  # at least this many iterations between live chart updates ...
CHART_SECONDS = 0.8  # ... and at least this many seconds (see train())
# The live chart first appears this long after training starts: a run that ends sooner (the
# notebook's 500 iterations on the sample take about a second) shows its curves when it ends. A
# chart drawn for a split second said nothing, and drawing it cost the browser ~0.2 CPU-s during
# the click (bench/bench_browser.py: click -> final chart 1.56 s with it, 1.35 s without).
CHART_FIRST_SECONDS = 2.0
PROGRESS_EVERY = 5  # iterations between callbacks (each one a chance to stop)
PROGRESS_SECONDS = 0.3  # seconds between progress-bar updates
TRAINING_KEY = "_training_run"  # session_state: run id this session is training right now
SETTLE_SECONDS = 15.0  # longest wait for this session's interrupted training to save its run


# ---- the engine ---------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _runs(root: str | None, max_mb: str | None, cache_mb: str | None) -> Runs:
    """One engine per server and run-store location: its cache is shared by every session."""
    mb = None if cache_mb is None else _float(cache_mb)
    cache = ByteLRU(int((DEFAULT_CACHE_MB if mb is None or mb < 0 else mb) * MB))
    return Runs(RunStore(root, None if max_mb is None else _float(max_mb)), cache)


def _float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def runs() -> Runs:
    """The server's engine: run store in NNMATH_RUNS_DIR bounded by NNMATH_RUNS_MAX_MB, memory
    cache bounded by NNMATH_CACHE_MB (read on every call, so tests can point them elsewhere)."""
    env = os.environ.get
    return _runs(env("NNMATH_RUNS_DIR"), env("NNMATH_RUNS_MAX_MB"), env("NNMATH_CACHE_MB"))


def memory() -> ByteLRU:
    """The server's memory cache (datasets, served runs, evaluations: one budget in bytes)."""
    return runs().cache


def store() -> RunStore:
    """The server's run store."""
    return runs().store


def split(key: str):
    """(dataset, train, dev) of a ``data`` value; train/dev are None for an unlabelled set."""
    engine = runs()
    if engine.is_loaded(key):
        return engine.split(key)
    with st.spinner("Loading the dataset…"):
        return engine.split(key)


def split_or_stop(key: str):
    """:func:`split`, or, when the dataset cannot be loaded (an upload this server no longer
    has, an unreadable file), an error pointing to the Data page and the end of this run."""
    try:
        return split(key)
    except Exception as e:
        st.error(f"Cannot load dataset {key!r}: {e}")
        st.page_link(
            "pages/1_data.py",
            label="Pick a dataset on the Data page",
            icon=":material/folder_open:",
        )
        st.stop()


def settle() -> None:
    """Wait for this session's interrupted training to save its partial run.

    A click while training makes Streamlit stop the running script AND start the rerun at once,
    in a new script thread: the old thread is still between its last UI update and saving the
    "stopped" run. Without waiting, the rerun would not see that run (and say "not trained")."""
    ss = st.session_state
    busy = ss.get(TRAINING_KEY)
    if busy:
        # Until the old script thread has let go (it clears TRAINING_KEY once the store has
        # saved), or the run's lock is free. Not the lock alone: when the old thread was waiting
        # on ANOTHER session's training of this run, that lock stays held for as long as the
        # other session trains, and Stop took 15 s (issue 27).
        deadline = time.monotonic() + SETTLE_SECONDS
        while ss.get(TRAINING_KEY) == busy and time.monotonic() < deadline:
            if store().wait_unlocked(busy, timeout=0.05):
                break
        ss.pop(TRAINING_KEY, None)


def lookup(settings: Settings) -> Run:
    """The current run if the store can answer it (exactly, or by a short replay), else a Run
    with ``result`` None and ``latest`` the longest stored run of the config (if any)."""
    settle()
    return runs().open(settings)


def train(run: Run, *, figure=None, label: str | None = None) -> Run:
    """Train (or extend) ``run`` with a progress bar and a live chart; returns it with a result.
    ``figure(history, total)``: the live chart (default: the run's training curves; a race
    overlays the other racers); ``label``: the progress bar's text.

    Stopping: any click while training makes Streamlit raise a rerun/stop exception from the next
    UI update. The callback catches it and returns True, so nnmath stops; the partial run is saved
    with Status.STOPPED by the store, then the exception is re-raised for Streamlit to rerun.
    """
    s = run.settings
    label = (label or f"Training {run_label(s, s.iterations)}") + (
        f" (continuing from {run.latest.iterations:,})" if run.continues else ""
    )
    figure = figure or figures.training_curves
    bar = st.progress(0.0, text=label + "…")
    chart = st.empty()
    # The first chart (axes up to `total`, and the history so far when continuing a cached run)
    # waits CHART_FIRST_SECONDS; later redraws are throttled (see CHART_SECONDS).
    t_chart = time.perf_counter() + CHART_FIRST_SECONDS - CHART_SECONDS
    state: dict[str, Any] = {"drawn": -CHART_EVERY, "t_chart": t_chart, "t_bar": 0.0}
    lim = host.limits()

    def waiting(ahead: int, busy: int) -> bool | None:
        """While queued for a training slot: say where we are; a click (Stop) leaves."""
        try:
            bar.progress(0.0, text=f"{label}: {host.queue_text(ahead, busy, lim.max_trainings)}")
        except BaseException as exc:  # noqa: BLE001 - Streamlit's rerun/stop, re-raised below
            state["exc"] = exc
            return True
        return None

    def held(seconds: float) -> bool | None:
        """While another session trains this very run: say so; a click (Stop) leaves."""
        try:
            bar.progress(
                0.0,
                text=f"{label}: another session is training these settings right now; this "
                f"page shows its run when it is saved (waiting {seconds:.0f} s, Stop leaves)",
            )
        except BaseException as exc:  # noqa: BLE001 - Streamlit's rerun/stop, re-raised below
            state["exc"] = exc
            return True
        return None

    def callback(p) -> bool | None:
        now = time.perf_counter()
        try:
            if now - state["t_bar"] >= PROGRESS_SECONDS:
                state["t_bar"] = now
                dev = (
                    ""
                    if p.dev_accuracy != p.dev_accuracy
                    else f" · dev accuracy {p.dev_accuracy:.1%}"
                )
                bar.progress(
                    min(1.0, p.iteration / max(p.total, 1)),
                    text=f"{label}: iteration {p.iteration:,} of {p.total:,} · loss "
                    f"{p.loss:.3f}{dev}",
                )
            if (
                p.iteration - state["drawn"] >= CHART_EVERY
                and now - state["t_chart"] >= CHART_SECONDS
            ):
                state["drawn"], state["t_chart"] = p.iteration, now
                chart.plotly_chart(
                    figure(p.history, total=p.total),
                    width="stretch",
                    config={"displayModeBar": False},
                )
        except BaseException as exc:  # noqa: BLE001 - re-raised once the run is saved
            # A click while training makes Streamlit raise its rerun/stop exception from the next
            # UI call: stop nnmath, let the store save the partial run, then re-raise it.
            state["exc"] = exc
            return True
        return None

    st.session_state[TRAINING_KEY] = run.config.run_id
    try:
        trained = runs().train(
            run,
            callback,
            callback_every=PROGRESS_EVERY,
            slots=host.slots(store().root, lim),
            waiting=waiting,
            held=held,
        )
    except Cancelled:
        if "exc" in state:
            raise state["exc"] from None
        raise
    finally:
        if st.session_state.get(TRAINING_KEY) == run.config.run_id:
            st.session_state.pop(TRAINING_KEY, None)
    if "exc" in state:
        raise state["exc"]
    bar.empty()
    chart.empty()
    return trained


def current_run(settings: Settings, *, train_if_missing: bool = True) -> Run | None:
    """The run a page shows: from the cache, else trained with progress (a permalink opened in a
    fresh session trains its run rather than showing nothing). Shows st.error and returns None
    when the dataset or the settings cannot be used: settings outside their bounds are refused
    here whether or not a cached run could answer them (iterations 0 is not served on one page
    and refused on another)."""
    lim = host.limits()
    problems = settings.problems(**host.bounds(lim))
    if problems:
        st.error(
            "These settings cannot be used: " + "; ".join(problems) + ". Change them on the "
            "Train page."
        )
        return None
    try:
        run = lookup(settings)
    except models.UnknownModel as e:  # an uploaded model this server no longer has
        st.error(f"Cannot use model {settings.model!r}: {e}")
        drop_model_button(settings, key="drop_unknown_model")
        return None
    except (ValueError, OSError) as e:  # unknown/damaged dataset, no labels
        st.error(f"Cannot use dataset {settings.data!r}: {e}")
        st.page_link(
            "pages/1_data.py", label="Pick a dataset on the Data page", icon=":material/dataset:"
        )
        return None
    if run.result is not None or not train_if_missing:
        if train_if_missing:  # asked for and served from the store: a student's run too
            classroom.note_run(run)
        return run
    wait = host.seconds_until_allowed(lim)
    if wait > 0:
        st.error(
            f"You started {lim.runs_per_minute} trainings in the last minute, the most a session "
            f"may start per minute on this server (NNMATH_RUNS_PER_MINUTE): try again in "
            f"{wait:.0f} s. Runs already trained by anyone open at once."
        )
        return run
    host.note_start()
    try:
        trained = train(run)
    except ValueError as e:  # nnmath's parameter validation
        st.error(f"Training refused these settings: {e}")
        return run
    classroom.note_run(trained)  # a student's run is recorded for their class, once finished
    return trained


def flag_unlisted_runs() -> None:
    """The stored runs the ledger cannot show (RunStore.unlisted: a damaged or hostile record,
    arrays that do not load), flagged with why, and a Delete that stays reachable: such a
    record never stands in the way of the others."""
    bad = store().unlisted()
    if not bad:
        return
    st.warning(
        f"{len(bad)} stored run(s) cannot be shown (their files are damaged, or hold values "
        "outside the settings' bounds); the table leaves them out. Delete them to free the space."
    )
    st.dataframe(
        {"run id": [r for r, _ in bad], "why": [w for _, w in bad]},
        key="runs_unlisted",
        hide_index=True,
    )
    if st.button(f"Delete the {len(bad)} run(s) that cannot be shown", key="runs_delete_unlisted"):
        for run_id, _ in bad:
            store().delete(run_id)
        st.rerun()


def evaluation(run: Run) -> metrics.Evaluation:
    """Predictions of the run on its dev set, kept in the engine's byte-bounded cache per run id
    and length: training is deterministic, so those name the numbers (the dev set is part of
    the run id)."""
    r = run.result
    key = ("evaluation", run.config.run_id, r.iterations, str(r.status))
    return runs().cache.get(
        key, lambda: metrics.evaluate(r.params, run.dev, activation=r.config.activation)
    )


def permalink(settings: Settings, **extra) -> str:
    """Absolute link to the current page with these settings (relative if the URL is unknown)."""
    return page_url() + query_string(settings, **extra)


def page_url() -> str:
    """The current page's address without its query ("" when unknown)."""
    try:
        return (st.context.url or "").split("?")[0]
    except Exception:
        return ""


# ---- data page ----------------------------------------------------------------------------------
@st.cache_resource(max_entries=6, show_spinner=False)
def _dataset_summary(fingerprint: str, _split):
    from views.explore import summarise

    return summarise(*_split)


def dataset_summary(key: str):
    """Counts per digit, average images and split sizes of a ``data`` value (cached by content)."""
    ds, train, dev = split(key)
    return _dataset_summary(ds.fingerprint, (ds, train, dev))


def try_select(key: str, settings: Settings):
    """Load the dataset ``key``; on success make it the current one and return it. On failure
    show st.error and keep the previous dataset (returns None)."""
    from dataclasses import replace

    from .state import set_settings, sync_url

    try:
        ds, train, dev = split(key)
    except Exception as e:  # DataError, UnknownDataset, OSError: all mean "cannot use this"
        st.error(
            f"Could not load that dataset, so the previous one ({settings.data}) stays "
            f"selected. {e}"
        )
        return None
    new = replace(settings, data=key)
    set_settings(new)
    sync_url(new)
    return ds


def keep_upload(uploaded) -> str:
    """Parse an st.file_uploader file and keep it under the run store (compact npz);
    returns its ``data`` key. Raises data.DataError with a clear message."""
    import data

    ds = read_upload(uploaded)
    try:
        return datasets.save_upload(ds, store().uploads_dir)  # refuses a set too small to split
    except OSError as e:  # never the server's path in a message
        raise data.DataError(
            f"{uploaded.name} could not be kept on this server ({e.strerror or type(e).__name__})"
        ) from None


def read_upload(uploaded, part: str = "train"):
    """The data.Dataset in an st.file_uploader file, within this server's limits (size,
    unpacked size and image count: host.read_limits), or data.DataError saying which limit."""
    import data

    limit = host.read_limits()
    if uploaded.size > limit["max_bytes"]:
        raise data.DataError(
            f"{uploaded.name} is {uploaded.size / 1024 / 1024:.1f} MB; the limit on this server "
            f"is {limit['max_bytes'] / 1024 / 1024:g} MB (NNMATH_MAX_UPLOAD_MB)"
        )
    return data.load_dataset(uploaded.getvalue(), name=uploaded.name, part=part, **limit)


# ---- uploaded models ----------------------------------------------------------------------------
NO_HISTORY = "uploaded model, not trained here: no training curves"


def use_model(raw: bytes, name: str, settings: Settings) -> str | None:
    """Check the bytes of an uploaded model file (size, nnmath.load_model, hidden within the
    server's limit: engine.models.check), keep it under the run store and make it the current
    run (URL ``model=``); returns its key. On any problem: st.error with the reason, nothing
    else changes (settings, dataset and URL stay), returns None."""
    from dataclasses import replace

    from .state import set_settings, sync_url

    lim = host.limits()
    try:
        key = runs().keep_model(
            raw,
            max_bytes=int(host.upload_limit_mb(lim) * 1024 * 1024),
            max_hidden=lim.max_hidden,
            name=name,
        )
    except ValueError as e:  # engine.models.check / nnmath.load_model say what is wrong
        st.error(f"Could not use {name} as a model, so nothing changed. {e}")
        return None
    except OSError as e:  # could not be kept: say why, never the server's path
        st.error(
            f"Could not keep {name} on this server, so nothing changed "
            f"({e.strerror or type(e).__name__})."
        )
        return None
    new = replace(settings, model=key)
    set_settings(new)
    sync_url(new)
    return key


def drop_model(settings: Settings) -> Settings:
    """Stop using the uploaded model: the settings' own run again (URL without ``model=``)."""
    from dataclasses import replace

    from .state import set_settings, sync_url

    new = replace(settings, model=None)
    set_settings(new)
    sync_url(new)
    return new


def drop_model_button(settings: Settings, key: str = "drop_model") -> None:
    """The "Stop using the uploaded model" button (reruns the page without it)."""
    if st.button("Stop using the uploaded model", key=key, icon=":material/close:"):
        drop_model(settings)
        st.rerun()


def stop_without_history(run: Run, what: str) -> None:
    """On a page that replays training (``what`` it shows): with an uploaded model, say that it
    has no training history, offer to drop it, and end this page's run."""
    if run.uploaded:
        st.info(
            f"The current run is an {run.label}: it was not trained here, so it has no "
            f"training history, and {what} cannot be shown. Evaluate, Mistakes, Weights, Draw, "
            "Why and Lab show it; to see this page, stop using it and train a run."
        )
        drop_model_button(run.settings)
        st.stop()


def state_settings() -> Settings:
    """The session's settings (after a page changed them)."""
    from .state import settings

    return settings()


def kaggle_download(ref: str, progress, secrets) -> str:
    """Download a Kaggle competition/dataset into data/downloads and return the ``data`` key of
    its first loadable file (the training part is what load_dataset reads by default)."""
    import data
    from data import kaggle

    folder = kaggle.download(
        ref, progress=progress, secrets=secrets, max_bytes=host.read_limits()["max_bytes"]
    )
    files = data.list_local_files(folder)
    if not files:
        raise data.DataError(f"the download of {ref} holds no file of digits this app can read")
    root = datasets.download_dir().resolve()
    path = sorted(files, key=lambda p: ("test" in p.name.lower(), str(p)))[0].resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def mistakes_page(
    run: Run,
    true: int | None,
    pred: int | None,
    sort: str,
    page: int,
    per_page: int,
    min_conf: float | None = None,
) -> metrics.MistakesPage:
    """One page of the Mistakes gallery of the current run (see views.metrics.mistakes_page)."""
    return metrics.mistakes_page(
        evaluation(run),
        run.dev.images,
        true=true,
        pred=pred,
        sort=sort,
        page=page,
        per_page=per_page,
        min_conf=min_conf,
    )


def confidence(run: Run):
    """views.calibration.ConfidenceReport of the run's dev predictions, kept beside its
    evaluation (three temperature fits, and the threshold slider reruns the page), or None when
    the logits are not finite (parameters that overflowed)."""
    from views.calibration import confidence_report

    ev = evaluation(run)
    r = run.result
    key = ("confidence", run.config.run_id, r.iterations, str(r.status))
    try:
        return runs().cache.get(key, lambda: confidence_report(ev.logits, ev.y, ev.probs))
    except ValueError:  # nnmath.calibration's check of the logits / probabilities
        return None


def dev_image(run: Run, index: int):
    """(image (28, 28) uint8, probabilities (10,), true digit, predicted digit) of a dev image."""
    ev = evaluation(run)
    return run.dev.images[index], ev.probs[index], int(ev.y[index]), int(ev.pred[index])


@st.cache_resource(max_entries=8, show_spinner=False)
def _weight_limits(run_id: str, iterations: int, status: str, _result) -> dict[str, float]:
    snaps = _result.snapshots
    limits = {name: figures.symmetric_limit(snaps[name]) for name in ("W1", "W2")}
    limits["dW1"] = figures.symmetric_limit(snaps["W1"] - snaps["W1"][:1])
    return limits


def weights_at(run: Run, iteration: int):
    """(params at ``iteration`` (a snapshot), params at 0, colour limits over the whole run —
    so replayed frames share one scale)."""
    r = run.result
    limits = _weight_limits(run.config.run_id, r.iterations, str(r.status), r)
    return r.snapshot(int(iteration)), r.snapshot(0), limits


def snapshot_iterations(run: Run) -> list[int]:
    return [int(i) for i in run.result.snapshot_iterations]

"""Streamlit side of the dashboard: cached datasets, the current run (served or trained with live
progress), cached evaluations. Pages call these; figures and metrics stay Streamlit-free.

Caching (all st.cache_resource: immutable shared objects, never widgets inside):
- datasets and their fixed train/dev split, keyed by the ``data`` value and the file's mtime;
- results served by the run store, keyed by run id, iteration count and the npz's mtime (a run
  extended by anyone changes the mtime, so nobody reads a stale copy);
- evaluations (probabilities on the dev set), keyed like results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

from . import datasets, figures, metrics
from .runs import RunConfig, RunStore
from .state import Settings

# Live updates while training. Each update is a message the browser must draw, on the same few
# cores that train: a chart redraw costs ~0.1 s of browser CPU, so updates are throttled by
# iterations AND by time (measured with bench/bench_browser.py: 20 chart + 100 bar updates made a
# 2 s run take 6.5 s).
CHART_EVERY = 25  # at least this many iterations between live chart updates ...
CHART_SECONDS = 0.8  # ... and at least this many seconds (see train())
PROGRESS_EVERY = 5  # iterations between callbacks (each one a chance to stop)
PROGRESS_SECONDS = 0.3  # seconds between progress-bar updates
TRAINING_KEY = "_training_run"  # session_state: run id this session is training right now


# ---- store and datasets -------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _store(root: str | None, max_mb: str | None) -> RunStore:
    return RunStore(root, None if max_mb is None else _float(max_mb))


def _float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def store() -> RunStore:
    """The server's run store (env NNMATH_RUNS_DIR / NNMATH_RUNS_MAX_MB, read on every call so
    tests can point it elsewhere)."""
    import os

    return _store(os.environ.get("NNMATH_RUNS_DIR"), os.environ.get("NNMATH_RUNS_MAX_MB"))


@st.cache_resource(max_entries=6, show_spinner="Loading the dataset…")
def _dataset(key: str, stamp: float, uploads: str):
    return datasets.load(key, Path(uploads))


@st.cache_resource(max_entries=6, show_spinner=False)
def _split(key: str, stamp: float, uploads: str):
    from data import train_dev_split

    ds = _dataset(key, stamp, uploads)
    if not ds.has_labels:
        return ds, None, None
    train, dev = train_dev_split(ds, seed=0)
    return ds, train, dev


def dataset(key: str):
    """The Dataset of a ``data`` value (cached). Raises datasets.UnknownDataset / data.DataError."""
    uploads = store().uploads_dir
    return _dataset(key, datasets.stamp(key, uploads), str(uploads))


def split(key: str):
    """(dataset, train, dev) of a ``data`` value; train/dev are None for an unlabelled set."""
    uploads = store().uploads_dir
    return _split(key, datasets.stamp(key, uploads), str(uploads))


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


def run_config(settings: Settings, ds, dev) -> RunConfig:
    return RunConfig(
        data=ds.fingerprint,
        hidden=settings.hidden,
        alpha=settings.alpha,
        seed=settings.seed,
        init=settings.init,
        dtype=settings.dtype,
        batch_size=settings.batch_size,
        dev_size=dev.n,
        split_seed=0,
    )


# ---- results ------------------------------------------------------------------------------------
def _stamp(s: RunStore, run_id: str) -> int | None:
    try:
        return s.npz_path(run_id).stat().st_mtime_ns
    except FileNotFoundError:
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def _served(root: str, run_id: str, iterations: int, stamp: int, _config: RunConfig, _key: str):
    """The store's exact answer (or None) — cached per file version."""
    return store().get(_config, iterations)


@st.cache_resource(max_entries=16, show_spinner="Replaying from the nearest snapshot…")
def _resumed(root: str, run_id: str, iterations: int, stamp: int, _config: RunConfig, _key: str):
    """A shorter run than the cached one, between two snapshots: a few iterations from the
    snapshot below (no widgets here; quick)."""
    _, train, dev = split(_key)
    return store().train(_config, iterations, train, dev)


@dataclass(frozen=True)
class Run:
    """Everything a page needs about the current run."""

    settings: Settings
    dataset: Any
    train: Any
    dev: Any
    config: RunConfig
    result: Any  # nnmath.TrainResult or None (not trained yet)
    latest: Any = None  # the longest cached run of this config (e.g. stopped earlier)
    trained_now: bool = False  # computed in this script run (not served from the cache)
    seconds: float = 0.0  # wall time of this call when it trained

    @property
    def stamp(self) -> int | None:
        return _stamp(store(), self.config.run_id)


def settle() -> None:
    """Wait for this session's interrupted training to save its partial run.

    A click while training makes Streamlit stop the running script AND start the rerun at once,
    in a new script thread: the old thread is still between its last UI update and saving the
    "stopped" run. Without waiting, the rerun would not see that run (and say "not trained")."""
    busy = st.session_state.get(TRAINING_KEY)
    if busy:
        store().wait_unlocked(busy, timeout=15)
        st.session_state.pop(TRAINING_KEY, None)


def lookup(settings: Settings) -> Run:
    """The current run if the cache can answer it (exactly, or by a short replay), else a Run
    with ``result`` None and ``latest`` the longest cached run of the config (if any)."""
    settle()
    ds, train, dev = split(settings.data)
    if train is None:
        raise ValueError(
            f"{ds.name} has no labels (a test set?): pick a labelled dataset on the "
            "Data page to train"
        )
    config = run_config(settings, ds, dev)
    s = store()
    stamp = _stamp(s, config.run_id)
    result = latest = None
    if stamp is not None:
        result = _served(
            str(s.root), config.run_id, settings.iterations, stamp, config, settings.data
        )
        if result is None:
            latest = s.latest(config)
            if latest is not None and latest.iterations > settings.iterations:
                result = _resumed(
                    str(s.root), config.run_id, settings.iterations, stamp, config, settings.data
                )
    return Run(settings, ds, train, dev, config, result, latest)


def train(run: Run) -> Run:
    """Train (or extend) ``run`` with a progress bar and a live chart; returns it with a result.

    Stopping: any click while training makes Streamlit raise a rerun/stop exception from the next
    UI update. The callback catches it and returns True, so nnmath stops; the partial run is saved
    with status "stopped" by the store, then the exception is re-raised for Streamlit to rerun.
    """
    s = run.settings
    label = f"Training {s.hidden} hidden units, alpha {s.alpha:g}, {s.iterations:,} iterations" + (
        f" (continuing from {run.latest.iterations:,})"
        if run.latest is not None
        and run.latest.iterations < s.iterations
        and run.latest.status != "diverged"
        else ""
    )
    bar = st.progress(0.0, text=label + "…")
    chart = st.empty()
    # The first callback draws the chart at once (axes up to `total`, and the history so far when
    # continuing a cached run); later redraws are throttled: each costs the browser CPU that the
    # training threads need on a small machine (bench_browser, click -> final chart at the
    # notebook's settings, alternating runs: 1.84 / 1.84 s with redraws every 0.4 s and the bar
    # every 0.15 s, 1.62 / 1.73 s with 0.8 s and 0.3 s).
    state: dict[str, Any] = {"drawn": -CHART_EVERY, "t_chart": 0.0, "t_bar": 0.0}

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
                    figures.training_curves(p.history, total=p.total),
                    width="stretch",
                    config={"displayModeBar": False},
                )
        except (RerunException, StopException) as exc:
            state["exc"] = exc
            return True
        return None

    t0 = time.perf_counter()
    st.session_state[TRAINING_KEY] = run.config.run_id
    try:
        result = store().train(
            run.config,
            s.iterations,
            run.train,
            run.dev,
            callback=callback,
            callback_every=PROGRESS_EVERY,
            data_name=run.dataset.name,
            data_key=s.data,
        )
    finally:
        if st.session_state.get(TRAINING_KEY) == run.config.run_id:
            st.session_state.pop(TRAINING_KEY, None)
    seconds = time.perf_counter() - t0
    if "exc" in state:
        raise state["exc"]
    bar.empty()
    chart.empty()
    return Run(
        run.settings,
        run.dataset,
        run.train,
        run.dev,
        run.config,
        result,
        run.latest,
        trained_now=True,
        seconds=seconds,
    )


def current_run(settings: Settings, *, train_if_missing: bool = True) -> Run | None:
    """The run a page shows: from the cache, else trained with progress (a permalink opened in a
    fresh session trains its run rather than showing nothing). Shows st.error and returns None
    when the dataset or the settings cannot be used."""
    try:
        run = lookup(settings)
    except (ValueError, OSError) as e:  # unknown/damaged dataset, no labels
        st.error(f"Cannot use dataset {settings.data!r}: {e}")
        st.page_link(
            "pages/1_data.py", label="Pick a dataset on the Data page", icon=":material/dataset:"
        )
        return None
    if run.result is not None or not train_if_missing:
        return run
    problems = settings.problems()
    if problems:
        st.error(
            "These settings cannot be trained: "
            + "; ".join(problems)
            + ". Change them on the Train page."
        )
        return run
    try:
        return train(run)
    except ValueError as e:  # nnmath's parameter validation
        st.error(f"Training refused these settings: {e}")
        return run


@st.cache_resource(max_entries=8, show_spinner=False)
def _evaluation(run_id: str, iterations: int, stamp: int | None, key: str, _result, _dev):
    activation = getattr(_result.config, "activation", "relu")
    return metrics.evaluate(_result.params, _dev, activation=activation)


def evaluation(run: Run) -> metrics.Evaluation:
    """Predictions of the run on its dev set (cached per run version)."""
    return _evaluation(
        run.config.run_id, run.result.iterations, run.stamp, run.settings.data, run.result, run.dev
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def _confidence(run_id: str, iterations: int, stamp: int | None, key: str, _ev):
    from views.calibration import confidence_report

    return confidence_report(_ev.logits, _ev.y, _ev.probs)


def confidence(run: Run):
    """views.calibration.ConfidenceReport of the run's dev predictions (cached like evaluation:
    three temperature fits take ~35 ms on 1,000 images, and the threshold slider reruns the
    page), or None when the logits are not finite (parameters that overflowed)."""
    ev = evaluation(run)
    try:
        return _confidence(
            run.config.run_id, run.result.iterations, run.stamp, run.settings.data, ev
        )
    except ValueError:  # nnmath.calibration's check of the logits / probabilities
        return None


def pct(x: float) -> str:
    """A share as '85.0%', or '—' when there is none (NaN: no dev set, diverged at once)."""
    return "—" if x != x else f"{x:.1%}"


def permalink(settings: Settings, **extra) -> str:
    """Absolute link to the current page with these settings (relative if the URL is unknown)."""
    from .state import query_string

    base = ""
    try:
        url = st.context.url or ""
        base = url.split("?")[0]
    except Exception:
        pass
    return base + query_string(settings, **extra)


# ---- data page ----------------------------------------------------------------------------------
@st.cache_resource(max_entries=6, show_spinner=False)
def _summary(key: str, stamp: float, uploads: str):
    from .explore import summarise

    ds, train, dev = _split(key, stamp, uploads)
    return summarise(ds, train, dev)


def summary(key: str):
    """Counts per digit, average images and split sizes of a ``data`` value (cached)."""
    uploads = store().uploads_dir
    return _summary(key, datasets.stamp(key, uploads), str(uploads))


def secrets_mapping() -> dict:
    """st.secrets as a plain mapping for data.kaggle (empty when there is no secrets file).
    Passed on, never displayed."""
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml: Streamlit raises on access
        return {}


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

    ds = data.load_dataset(uploaded.getvalue(), name=uploaded.name)
    return datasets.save_upload(ds, store().uploads_dir)


def state_settings() -> Settings:
    """The session's settings (after a page changed them)."""
    from .state import settings

    return settings()


def kaggle_download(ref: str, progress, secrets) -> str:
    """Download a Kaggle competition/dataset into data/downloads and return the ``data`` key of
    its first loadable file (the training part is what load_dataset reads by default)."""
    import data
    from data import kaggle

    folder = kaggle.download(ref, progress=progress, secrets=secrets)
    files = data.list_local_files(folder)
    if not files:
        raise data.DataError(f"the download of {ref} holds no file of digits this app can read")
    root = datasets.download_dir().resolve()
    path = sorted(files, key=lambda p: ("test" in p.name.lower(), str(p)))[0].resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def selected_cell(event) -> tuple[int, int] | None:
    """(true, predicted) of the confusion-matrix cell clicked in an st.plotly_chart event."""
    try:
        points = event.selection.points
    except AttributeError:
        try:
            points = event["selection"]["points"]
        except (KeyError, TypeError):
            return None
    for p in points or []:
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)) and len(cd) >= 2:
            return int(cd[0]), int(cd[1])
        if p.get("x") is not None and p.get("y") is not None:
            return int(round(float(p["y"]))), int(round(float(p["x"])))
    return None


def mistakes_page(
    run: Run,
    true: int | None,
    pred: int | None,
    sort: str,
    page: int,
    per_page: int,
    min_conf: float | None = None,
):
    """One page of the Mistakes gallery: (table of all matching mistakes, rows of this page,
    images of this page, captions, hover texts, number of pages)."""
    ev = evaluation(run)
    table = metrics.mistakes(ev, true=true, pred=pred, sort=sort, min_conf=min_conf)
    pages = max(1, -(-len(table) // per_page))
    page = min(max(page, 1), pages)
    rows = table.iloc[(page - 1) * per_page : page * per_page]
    images = run.dev.images[rows["index"].to_numpy()]
    captions = [
        f"{t}→{p} {c:.0%}" for t, p, c in zip(rows["true"], rows["pred"], rows["confidence"])
    ]
    hover = [
        f"dev image {i}: true {t}, predicted {p} with {c:.1%} (p(true) {pt:.1%}, loss {loss:.2f})"
        for i, t, p, c, pt, loss in zip(
            rows["index"],
            rows["true"],
            rows["pred"],
            rows["confidence"],
            rows["p_true"],
            rows["loss"],
        )
    ]
    return table, rows, images, captions, hover, pages


def tile_index_of(event, cols: int, k: int) -> int | None:
    """The tile picked in a gallery's st.plotly_chart selection (widget state or return value)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        points = getattr(getattr(event, "selection", None), "points", None)
    for point in points or []:
        return figures.tile_index(point, cols, k)
    return None


def dev_image(run: Run, index: int):
    """(image (28, 28) uint8, probabilities (10,), true digit, predicted digit) of a dev image."""
    ev = evaluation(run)
    return run.dev.images[index], ev.probs[index], int(ev.y[index]), int(ev.pred[index])


@st.cache_resource(max_entries=8, show_spinner=False)
def _weight_limits(run_id: str, iterations: int, stamp: int | None, _result) -> dict[str, float]:
    snaps = _result.snapshots
    limits = {name: figures.symmetric_limit(snaps[name]) for name in ("W1", "W2")}
    limits["dW1"] = figures.symmetric_limit(snaps["W1"] - snaps["W1"][:1])
    return limits


def weights_at(run: Run, iteration: int):
    """(params at ``iteration`` (a snapshot), params at 0, colour limits over the whole run —
    so replayed frames share one scale)."""
    r = run.result
    limits = _weight_limits(run.config.run_id, r.iterations, run.stamp, r)
    return r.snapshot(int(iteration)), r.snapshot(0), limits


def snapshot_iterations(run: Run) -> list[int]:
    return [int(i) for i in run.result.snapshot_iterations]

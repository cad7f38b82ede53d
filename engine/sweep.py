"""Grid sweeps: expand a grid of settings, skip what the run store already answers, train the rest
in parallel (joblib: local cores through loky, or a Dask cluster), save each run as it finishes.

Where the work happens:
- workers run :func:`train_task`, a pure function (config, iterations, train/dev arrays -> result)
  with BLAS limited to one thread, so 2 workers x 1 thread fill 2 cores without oversubscription;
- the MAIN process saves every finished (or diverged) result into the run store
  (``RunStore.put``) the moment it arrives (``return_as="generator_unordered"``), so stopping a
  sweep never loses a finished run.

Stopping is cooperative: :meth:`SweepExecution.stop` raises a stop signal (a file next to the
progress files, plus a ``distributed.Event`` on a Dask cluster) that each worker's training
callback checks every few iterations; tasks not started yet return at once. Nothing is killed, so a
shared loky pool or Dask cluster keeps serving other sessions, and no abandoned task keeps a core
busy for longer than a few iterations.

Nothing here imports streamlit; the pages draw what :class:`SweepExecution` reports.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from nnmath import Status

from .config import SETTINGS, optional, setting_type
from .store import SERVE, compute
from .values import finite_or_none

#: Settings a sweep may vary: the training settings (``data`` and the split are fixed so every
#: run of a sweep is comparable).
SWEEPABLE = SETTINGS

#: Environment variable naming a Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
DASK_ENV = "NNMATH_DASK_SCHEDULER"


class RunStatus(StrEnum):
    """Where one run of a sweep is: nnmath's outcomes (finished, diverged, stopped) plus the
    sweep's own states."""

    CACHED = "cached"  # the store answered it: nothing to compute
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = Status.FINISHED.value
    DIVERGED = Status.DIVERGED.value
    STOPPED = Status.STOPPED.value
    FAILED = "failed"  # an error, reported with the run; the sweep goes on
    NOT_RUN = "not run"  # in the grid, nothing stored yet


DONE = {RunStatus.CACHED, RunStatus.FINISHED, RunStatus.DIVERGED}


# --------------------------------------------------------------------------------------------
# Grid
# --------------------------------------------------------------------------------------------
def parse_values(text: str, setting: str) -> tuple:
    """Parse what a user types for one axis: ``"10, 32, 64"``, ``"0-2"`` (ints, inclusive) or
    ``"0.05 0.1"``. Values keep their order; duplicates are dropped.

    >>> parse_values("0-2", "seed")
    (0, 1, 2)
    """
    if setting not in SWEEPABLE:
        raise ValueError(f"setting must be one of {', '.join(SWEEPABLE)}, got {setting!r}")
    tokens = [t for t in re.split(r"[,\s;]+", text.strip()) if t]
    if not tokens:
        raise ValueError(f"{setting} needs at least one value, got {text!r}")
    values: list = []
    kind = setting_type(setting)
    for token in tokens:
        if kind is int:
            if token.lower() in {"none", "full"} and optional(setting):
                values.append(None)
                continue
            span = re.fullmatch(r"(-?\d+)\s*(?:-|\.\.)\s*(-?\d+)", token)
            if span:
                lo, hi = int(span.group(1)), int(span.group(2))
                if hi < lo:
                    raise ValueError(f"{setting} range must go up, got {token!r}")
                values.extend(range(lo, hi + 1))
                continue
            try:
                values.append(int(token))
            except ValueError:
                raise ValueError(f"{setting} values must be whole numbers, got {token!r}") from None
        elif kind is float:
            try:
                value = float(token)
            except ValueError:
                raise ValueError(f"{setting} values must be numbers, got {token!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"{setting} values must be finite, got {token!r}")
            values.append(value)
        else:
            values.append(token)
    return tuple(dict.fromkeys(values))


def expand_grid(base, axes: Mapping[str, Sequence]) -> list:
    """Every combination of ``axes`` values on top of ``base`` (a RunConfig), in axis order
    (the last axis varies fastest). Duplicated values are dropped, so the configs are distinct.
    """
    if not axes:
        raise ValueError("axes must name at least one setting, got none")
    for name, values in axes.items():
        if name not in SWEEPABLE:
            raise ValueError(f"axis must be one of {', '.join(SWEEPABLE)}, got {name!r}")
        if len(values) == 0:
            raise ValueError(f"axis {name} needs at least one value, got none")
    names = list(axes)
    value_lists = [list(dict.fromkeys(axes[n])) for n in names]
    return [
        dataclasses.replace(base, **dict(zip(names, combo)))
        for combo in itertools.product(*value_lists)
    ]


# --------------------------------------------------------------------------------------------
# Plan: which combinations the store already answers
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Task:
    """One run to compute: train ``config`` to ``iterations``; ``start`` is a shorter cached run of
    the same config to extend (continue_training is bit-identical to one long run), or None."""

    config: Any
    iterations: int
    start: Any = None


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    iterations: int
    configs: tuple  # every config of the grid, in grid order
    cached: tuple  # configs the store answers (no work)
    tasks: tuple  # Task per config still to compute

    @property
    def n_total(self) -> int:
        return len(self.configs)


def plan_sweep(store, configs: Sequence, iterations: int) -> SweepPlan:
    """Split ``configs`` into those the store answers and the work left, by the store's own rule
    (:func:`engine.store.plan`): the iteration axis is free — a stored run to 1,000 iterations
    answers 500, a diverged run answers any length, a shorter run is extended, a longer one whose
    snapshots miss ``iterations`` is resumed from the snapshot below.
    """
    if int(iterations) < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    iterations = int(iterations)
    configs = tuple(dict.fromkeys(configs))
    cached, tasks = [], []
    for config in configs:
        step = store.plan(config, iterations)
        if step.kind == SERVE:
            cached.append(config)
        else:
            tasks.append(Task(config, iterations, start=step.run))
    return SweepPlan(iterations, configs, tuple(cached), tuple(tasks))


def result_for(store, config, iterations: int):
    """The stored result that answers ``config`` at ``iterations`` exactly, or None."""
    step = store.plan(config, iterations)
    return step.run if step.kind == SERVE else None


# --------------------------------------------------------------------------------------------
# Worker side (runs in loky processes or on Dask workers): pure, no store, no streamlit
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class WorkerSignals:
    """How a worker reports progress and learns it should stop. Picklable; plain paths/names.

    progress_dir: a directory the worker writes ``<run_id>.json`` progress into (only when it
        exists on the worker's machine: on a remote Dask cluster runs report when they finish).
    stop_event: name of a ``distributed.Event`` checked at most every ``event_every`` seconds
        (Dask only, reaches remote workers).
    """

    progress_dir: str | None = None
    stop_event: str | None = None
    event_every: float = 0.5
    callback_every: int = 10

    @property
    def stop_file(self) -> Path | None:
        return Path(self.progress_dir, "STOP") if self.progress_dir else None

    def stop_requested(self) -> bool:
        stop_file = self.stop_file
        if stop_file is not None and stop_file.exists():
            return True
        if self.stop_event:
            try:
                from distributed import Event

                return Event(self.stop_event).is_set()
            except Exception:  # no client in this process: fall back to the file alone
                return False
        return False

    def report(self, run_id: str, payload: dict) -> None:
        if not self.progress_dir or not os.path.isdir(self.progress_dir):
            return
        path = Path(self.progress_dir, f"{run_id}.json")
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_text(json.dumps(payload))
            os.replace(tmp, path)
        except OSError:
            pass

    def callback(self, run_id: str):
        last_event_check = [time.monotonic()]
        signals = self

        def on_progress(progress) -> bool:
            signals.report(
                run_id,
                {
                    "iteration": int(progress.iteration),  # absolute, also when extending
                    "total": int(progress.total),
                    "loss": finite_or_none(progress.loss),
                    "dev_accuracy": finite_or_none(progress.dev_accuracy),
                },
            )
            stop_file = signals.stop_file
            if stop_file is not None and stop_file.exists():
                return True
            now = time.monotonic()
            if signals.stop_event and now - last_event_check[0] >= signals.event_every:
                last_event_check[0] = now
                return signals.stop_requested()
            return False

        return on_progress


def train_task(
    config,
    iterations: int,
    train_set,
    dev_set,
    start=None,
    signals: WorkerSignals | None = None,
):
    """Train one run (pure): :func:`engine.store.compute` — the same call the run store makes, so a
    run computed by a sweep worker is bit-identical to the one the Train page would compute —
    with BLAS limited to one thread (inside ``compute``) and one nnmath worker thread. ``start``
    is a shorter run of the same config to extend. Returns ``(run_id, result, error)``; exactly
    one of result/error is None. Errors come back as text so one bad setting does not abort the
    whole sweep."""
    run_id = config.run_id
    try:
        if signals is not None and signals.stop_requested():
            return run_id, None, "stopped before it started"
        result = compute(
            config,
            iterations,
            train_set,
            dev_set,
            base=start,
            callback=signals.callback(run_id) if signals else None,
            callback_every=signals.callback_every if signals else 10,
            workers=1,
        )  # one core per run: a sweep's parallelism is across runs
        return run_id, result, None
    except Exception as exc:  # reported per run; the sweep goes on
        return run_id, None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"


# --------------------------------------------------------------------------------------------
# Main side: run a plan, save results as they come, report progress
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class RunState:
    config: Any
    status: RunStatus = RunStatus.QUEUED
    iteration: int = 0
    total: int = 0
    dev_accuracy: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float:
        if self.status in DONE:
            return 1.0
        return min(1.0, self.iteration / self.total) if self.total else 0.0


@dataclasses.dataclass(frozen=True)
class SweepProgress:
    runs: tuple  # RunState copies, grid order
    done: int  # cached + finished + diverged + failed
    total: int
    finished: bool  # nothing left running
    stopped: bool

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def table(self) -> pd.DataFrame:
        rows = []
        for r in self.runs:
            c = r.config
            rows.append(
                {
                    "hidden": c.hidden,
                    "alpha": c.alpha,
                    "seed": c.seed,
                    "status": r.status,
                    "progress": r.fraction,
                    "iteration": r.iteration if r.status != RunStatus.CACHED else None,
                    "dev accuracy": r.dev_accuracy,
                    "message": r.message.split("\n")[0],
                }
            )
        return pd.DataFrame(rows)


class SweepExecution:
    """Run a :class:`SweepPlan` in a background thread of the main process.

    Use as a context manager; leaving the block (normally, by exception, or because Streamlit
    interrupted the script for a rerun) calls :meth:`stop`, so nothing outlives the page run except
    the last few iterations of tasks in flight. ``updates()`` yields snapshots for a progress
    display.

    backend: ``"loky"`` (local processes, ``n_jobs`` of them), ``"threading"`` (tests) or
    ``"dask"`` (``client`` required: a connected ``distributed.Client``).
    """

    def __init__(
        self,
        store,
        plan: SweepPlan,
        train_set,
        dev_set,
        *,
        n_jobs: int = 2,
        backend: str = "loky",
        client=None,
        progress_root: str | None = None,
        callback_every: int = 10,
        data_key: str | None = None,
    ):
        if backend not in {"loky", "threading", "dask", "sequential"}:
            raise ValueError(
                f"backend must be loky, threading, sequential or dask, got {backend!r}"
            )
        if backend == "dask" and client is None:
            raise ValueError("backend 'dask' needs a connected distributed.Client, got client=None")
        if int(n_jobs) < 1:
            raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
        self.store, self.plan = store, plan
        self.backend, self.client, self.n_jobs = backend, client, int(n_jobs)
        self.train_set, self.dev_set = train_set, dev_set
        self.data_key = data_key
        self._progress_dir = Path(tempfile.mkdtemp(prefix="nnmath-sweep-", dir=progress_root))
        self._stop_event_name = (
            f"nnmath-sweep-stop-{uuid.uuid4().hex}" if backend == "dask" else None
        )
        self.signals = WorkerSignals(
            str(self._progress_dir), self._stop_event_name, callback_every=callback_every
        )
        self._states = {c.run_id: RunState(c, total=plan.iterations) for c in plan.configs}
        for c in plan.cached:
            self._states[c.run_id].status = RunStatus.CACHED
            self._states[c.run_id].iteration = plan.iterations
        for t in plan.tasks:
            self._states[t.config.run_id].iteration = t.start.iterations if t.start else 0
        self._configs = {c.run_id: c for c in plan.configs}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cleaned = False
        self.error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> SweepExecution:
        if self._thread is not None:
            raise RuntimeError("this sweep was already started")
        self._thread = threading.Thread(target=self._consume, name="nnmath-sweep", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> SweepExecution:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.running:
            self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask every worker to stop (cooperatively) and stop waiting for results. Finished runs
        are already in the store; results that arrive while draining are still saved."""
        self._stop.set()
        try:
            self.signals.stop_file.touch()
        except OSError:
            pass
        if self._stop_event_name and self.client is not None:
            try:
                from distributed import Event

                Event(self._stop_event_name, client=self.client).set()
            except Exception:
                pass

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background thread is done; True when it is."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    # -- progress ----------------------------------------------------------------------------
    def outcomes(self) -> dict[str, RunState]:
        """run_id -> final state of every run of this sweep (see :func:`sweep_table`)."""
        return {r.config.run_id: r for r in self.progress().runs}

    def progress(self) -> SweepProgress:
        self._read_progress_files()
        with self._lock:
            runs = tuple(dataclasses.replace(s) for s in self._states.values())
        done = sum(r.status in {*DONE, RunStatus.FAILED} for r in runs)
        return SweepProgress(runs, done, len(runs), finished=not self.running, stopped=self.stopped)

    def updates(self, interval: float = 0.5) -> Iterator[SweepProgress]:
        """Snapshots while the sweep runs: one per finished run and at least every ``interval``
        seconds (a progress poll for the display, not a synchronisation); the last one is final."""
        while self.running:
            try:
                self._events.get(timeout=interval)
            except queue.Empty:
                pass
            yield self.progress()
        yield self.progress()

    def _read_progress_files(self) -> None:
        if not self._progress_dir.is_dir():
            return
        for path in self._progress_dir.glob("*.json"):
            try:
                payload = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            with self._lock:
                state = self._states.get(path.stem)
                if state is not None and state.status in {RunStatus.QUEUED, RunStatus.RUNNING}:
                    state.status = RunStatus.RUNNING
                    state.iteration = payload.get("iteration", state.iteration)
                    state.total = payload.get("total", state.total) or state.total
                    state.dev_accuracy = payload.get("dev_accuracy")

    # -- background thread -------------------------------------------------------------------
    def _parallel_config(self):
        import joblib

        if self.backend == "dask":
            # No explicit scatter=[...]: joblib's scatter hashes the data to fixed keys, and a
            # second sweep on the same client then races the release of the first one's keys
            # ("lost dependencies"). joblib scatters large arguments itself, unhashed.
            return joblib.parallel_config(backend="dask", client=self.client)
        if self.backend == "sequential":
            return joblib.parallel_config(backend="sequential")
        return joblib.parallel_config(backend=self.backend, n_jobs=self.n_jobs)

    def _consume(self) -> None:
        import joblib

        # Longest first (cost ~ hidden units x iterations to go): with a few workers, the big runs
        # must not be the last ones left, or one worker finishes them while the others idle.
        tasks = sorted(self.plan.tasks, key=_task_cost, reverse=True)
        try:
            if not tasks:
                return
            with self._parallel_config():
                n_jobs = -1 if self.backend == "dask" else self.n_jobs
                outputs = joblib.Parallel(
                    n_jobs=n_jobs, return_as="generator_unordered", batch_size=1
                )(
                    joblib.delayed(train_task)(
                        t.config,
                        t.iterations,
                        self.train_set,
                        self.dev_set,
                        t.start,
                        self.signals,
                    )
                    for t in tasks
                )
                # Drain every output even after stop: tasks return within a few iterations once
                # the stop signal is up, and draining (instead of closing the generator) leaves
                # the shared worker pool running for everyone else.
                for run_id, result, error in outputs:
                    self._record(run_id, result, error)
        except BaseException as exc:  # surfaced through .error, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                for state in self._states.values():
                    if state.status in {RunStatus.QUEUED, RunStatus.RUNNING}:
                        state.status, state.message = RunStatus.FAILED, self.error
        finally:
            self._cleanup()  # every task has returned: nobody writes progress any more
            self._events.put(None)

    def _record(self, run_id: str, result, error: str | None) -> None:
        config = self._configs[run_id]
        status = RunStatus.FAILED if result is None else RunStatus(result.status)
        if result is not None and status in {RunStatus.FINISHED, RunStatus.DIVERGED}:
            # Saved the moment it arrives, in the main process (workers never touch the store).
            self.store.put(
                config,
                result,
                data_name=getattr(self.train_set, "name", None),
                data_key=self.data_key,
                dev_set=self.dev_set,
            )
        with self._lock:
            state = self._states[run_id]
            if result is None:
                state.status = (
                    RunStatus.STOPPED if error and error.startswith("stopped") else RunStatus.FAILED
                )
                state.message = error or ""
            else:
                state.status = status
                state.iteration = int(result.iterations)
                state.dev_accuracy = finite_or_none(result.dev_accuracy)
                state.message = result.message or ""
        self._events.put(run_id)

    def _cleanup(self) -> None:
        if not self._cleaned:
            self._cleaned = True
            shutil.rmtree(self._progress_dir, ignore_errors=True)


def _task_cost(task: Task) -> float:
    done = task.start.iterations if task.start is not None else 0
    return (task.config.hidden + 8) * (task.iterations - done)


def resolve_scheduler(
    explicit: str | None = None, secrets: Mapping | None = None, environ: Mapping | None = None
) -> str | None:
    """The Dask scheduler address to use, first found of: the Sweep page setting, the
    NNMATH_DASK_SCHEDULER environment variable, ``st.secrets["dask_scheduler"]``. None = local."""
    environ = os.environ if environ is None else environ
    for candidate in (explicit, environ.get(DASK_ENV)):
        if candidate and str(candidate).strip():
            return str(candidate).strip()
    if secrets is not None:
        try:
            value = secrets.get("dask_scheduler")
        except Exception:  # st.secrets raises when no secrets file exists
            value = None
        if value and str(value).strip():
            return str(value).strip()
    return None


class DaskConnection:
    """A ``distributed.Client`` in a plain holder: the client itself is awaitable, which
    ``st.cache_resource`` refuses to cache, so pages cache this object instead."""

    def __init__(self, client):
        self.client = client

    @property
    def alive(self) -> bool:
        return self.client.status == "running"

    def close(self) -> None:
        self.client.close()


def connect_dask(address: str, timeout: float = 10.0) -> DaskConnection:
    """Connect to the Dask scheduler at ``address`` (the client is not made the process default,
    so two sessions pointing at two clusters do not interfere). The caller owns the connection
    (the Sweep page caches one per address)."""
    from distributed import Client

    return DaskConnection(Client(address, timeout=timeout, set_as_default=False))

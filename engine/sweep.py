"""Grid sweeps: expand a grid of settings, skip what the run store already answers, train the rest
in parallel (local cores through joblib/loky, or the host's Dask cluster), save each run as it
finishes.

Where the work happens:
- workers run :func:`train_task`, a pure function (config, iterations, train/dev arrays -> result)
  with BLAS limited to one thread, so 2 workers x 1 thread fill 2 cores without oversubscription;
- the MAIN process saves every finished (or diverged) result into the run store
  (``RunStore.put``) the moment it arrives (``return_as="generator_unordered"``), so stopping a
  sweep never loses a finished run;
- what a worker sends back is plain values only (a dict of str/bytes/None, the result as .npz
  bytes), checked by :func:`check_outcome` before the store sees it. A Dask client made by
  :func:`connect_dask` reads msgpack only, so a pickled object from a cluster is refused unread.
  The cluster's address is the host's setting (:func:`resolve_scheduler`), never a visitor's.

Stopping is cooperative: :meth:`SweepExecution.stop` raises a stop signal (a file next to the
progress files, plus a ``distributed.Event`` on a Dask cluster) that each worker's training
callback checks every few iterations; tasks not started yet return at once. Nothing is killed, so a
shared loky pool or Dask cluster keeps serving other sessions, and no abandoned task keeps a core
busy for longer than a few iterations.

Nothing here imports streamlit; the pages draw what :class:`SweepExecution` reports.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import io
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

import nnmath
from data.formats import npy_headers
from nnmath import Status

from .config import SETTINGS, optional, setting_type
from .slots import Cancelled, stopped_by_limit
from .store import SERVE, compute, limited
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
MAX_TEXT_CHARS = 500  # what one axis box may hold
MAX_TOKEN_CHARS = 40  # one value or range: longer is no number a setting takes


def _items(text: str, setting: str) -> list[tuple]:
    """What a user typed for one axis as items, nothing expanded: ``("value", v)`` or
    ``("range", lo, hi)`` (ints, inclusive)."""
    if setting not in SWEEPABLE:
        raise ValueError(f"setting must be one of {', '.join(SWEEPABLE)}, got {setting!r}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"{setting} values must fit in {MAX_TEXT_CHARS} characters")
    tokens = [t for t in re.split(r"[,\s;]+", text.strip()) if t]
    if not tokens:
        raise ValueError(f"{setting} needs at least one value, got {text!r}")
    items: list[tuple] = []
    kind = setting_type(setting)
    for token in tokens:
        if len(token) > MAX_TOKEN_CHARS:
            raise ValueError(f"{setting} values must be short numbers, got {token[:20]!r}…")
        if kind is int:
            if token.lower() in {"none", "full"} and optional(setting):
                items.append(("value", None))
                continue
            span = re.fullmatch(r"(-?\d+)\s*(?:-|\.\.)\s*(-?\d+)", token)
            if span:
                lo, hi = int(span.group(1)), int(span.group(2))
                if hi < lo:
                    raise ValueError(f"{setting} range must go up, got {token!r}")
                items.append(("range", lo, hi))
                continue
            try:
                items.append(("value", int(token)))
            except ValueError:
                raise ValueError(f"{setting} values must be whole numbers, got {token!r}") from None
        elif kind is float:
            try:
                value = float(token)
            except ValueError:
                raise ValueError(f"{setting} values must be numbers, got {token!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"{setting} values must be finite, got {token!r}")
            items.append(("value", value))
        else:
            items.append(("value", token))
    return items


def _count(items: list[tuple]) -> int:
    """Distinct values of ``items`` by arithmetic: the union of the ranges (merged intervals)
    plus the single values outside them. Nothing is expanded, so ``0-10**12`` costs nothing."""
    ranges = sorted((it[1], it[2]) for it in items if it[0] == "range")
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    starts = [lo for lo, _ in merged]
    singles = set()
    for it in items:
        if it[0] != "value":
            continue
        v = it[1]
        if type(v) is int:
            k = bisect.bisect_right(starts, v) - 1
            if k >= 0 and v <= merged[k][1]:
                continue  # inside a range
        singles.add(v)
    return sum(hi - lo + 1 for lo, hi in merged) + len(singles)


def _expand(items: list[tuple]) -> tuple:
    """The values of ``items`` in the order typed, duplicates dropped (only after counting)."""
    values: list = []
    for it in items:
        if it[0] == "range":
            values.extend(range(it[1], it[2] + 1))
        else:
            values.append(it[1])
    return tuple(dict.fromkeys(values))


def count_values(text: str, setting: str) -> int:
    """How many distinct values ``text`` names for ``setting``, counted without expanding
    (``"0-100000"`` is 100,001 at the cost of one subtraction)."""
    return _count(_items(text, setting))


def parse_values(text: str, setting: str, max_values: int | None = None) -> tuple:
    """Parse what a user types for one axis: ``"10, 32, 64"``, ``"0-2"`` (ints, inclusive) or
    ``"0.05 0.1"``. Values keep their order; duplicates are dropped. With ``max_values``, more
    values than that are refused (counted first, nothing expanded).

    >>> parse_values("0-2", "seed")
    (0, 1, 2)
    """
    items = _items(text, setting)
    if max_values is not None:
        n = _count(items)
        if n > max_values:
            raise ValueError(f"{setting} has {n:,} values, more than the {max_values:,} allowed")
    return _expand(items)


def parse_grid(texts: Mapping[str, str], max_runs: int) -> dict[str, tuple]:
    """The axes of a sweep from what was typed per setting, after counting the grid from the
    text: more than ``max_runs`` combinations is refused (ValueError naming the sizes) before a
    single list is built, so ``seed = 0-10000000`` costs as little as ``seed = 0-2``."""
    items = {name: _items(text, name) for name, text in texts.items()}
    counts = {name: _count(it) for name, it in items.items()}
    total = math.prod(counts.values())
    if total > max_runs:
        sizes = " × ".join(f"{counts[n]:,} {n}" for n in counts)
        raise ValueError(
            f"this grid has {sizes} = {total:,} runs; a sweep on this server may have at most "
            f"{max_runs:,} (NNMATH_MAX_SWEEP_RUNS): use fewer values or a shorter range"
        )
    return {name: _expand(it) for name, it in items.items()}


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
    slots=None,
) -> dict:
    """Train one run (pure): :func:`engine.store.compute` — the same call the run store makes, so a
    run computed by a sweep worker is bit-identical to the one the Train page would compute —
    with BLAS limited to one thread (inside ``compute``) and one nnmath worker thread. ``start``
    is a shorter run of the same config to extend; ``slots`` (an engine.slots.TrainingSlots, local
    backends) is the server's training queue, waited on before computing, and its time limit:
    a run stopped there comes back stopped, with the limit's message.

    Returns a plain outcome ``{"run_id": str, "result": bytes | None, "error": str | None}``
    (the result as :func:`encode_result` bytes): only plain values travel back, so the server
    never has to unpickle what a worker sends (see :func:`check_outcome`). Errors come back as
    text so one bad setting does not abort the whole sweep."""
    run_id = config.run_id

    def outcome(result=None, error=None) -> dict:
        payload = None if result is None else encode_result(result)
        return {"run_id": run_id, "result": payload, "error": error}

    try:
        if signals is not None and signals.stop_requested():
            return outcome(error=STOPPED_BEFORE)
        queue_ = (
            contextlib.nullcontext()
            if slots is None
            else slots.acquire(lambda ahead, busy: signals is not None and signals.stop_requested())
        )
        limit = None if slots is None else slots.limit()  # the server's time per training
        callback = signals.callback(run_id) if signals else None
        with queue_:
            result = compute(
                config,
                iterations,
                train_set,
                dev_set,
                base=start,
                callback=callback if limit is None else limit.wrap(callback),
                callback_every=signals.callback_every if signals else 10,
                workers=1,
            )  # one core per run: a sweep's parallelism is across runs
        return outcome(limited(result, limit))
    except Cancelled:  # stopped while queued for a training slot
        return outcome(error=STOPPED_BEFORE)
    except Exception as exc:  # reported per run; the sweep goes on
        return outcome(error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")


STOPPED_BEFORE = "stopped before it started"


# --------------------------------------------------------------------------------------------
# What comes back from a worker: plain values, checked before anything else reads them
# --------------------------------------------------------------------------------------------
OUTCOME_KEYS = frozenset({"run_id", "result", "error"})
MAX_ERROR_CHARS = 2000
_NPY_KINDS = frozenset("fiub")  # float, int, unsigned, bool arrays: never objects


class InvalidOutcome(ValueError):
    """A worker sent back something that is not a plain result of the run it was given."""


def encode_result(result) -> bytes:
    """The TrainResult as .npz bytes (nnmath.save_result: arrays + JSON text, no pickles)."""
    buffer = io.BytesIO()
    nnmath.save_result(result, buffer)
    return buffer.getvalue()


def result_bytes_bound(config, iterations: int) -> int:
    """The most bytes a genuine result of ``config`` at ``iterations`` can take in .npz form:
    the parameters at every snapshot plus the final ones, five float64 history arrays, and 1 MB
    for headers and metadata (float64 everywhere, a generous bound). The optimizer's state (a
    velocity, or Adam's m and v) is kept beside the parameters, as many times as it has arrays."""
    hidden, iterations = int(config.hidden), int(iterations)
    copies = 1 + len(nnmath.optim.STATE_KINDS.get(getattr(config, "optimizer", "gd"), ("m", "v")))
    n_params = copies * (hidden * 784 + hidden + hidden * 10 + 10)
    snapshots = iterations // max(1, int(getattr(config, "snapshot_every", 50) or 50)) + 2
    return 8 * (n_params * (snapshots + 1) + 6 * (iterations + 1) + snapshots) + 2**20


def _check_npz(payload: bytes, limit: int) -> None:
    """Refuse a payload that is not a plain .npz within ``limit`` bytes unpacked: every member an
    .npy header of a numeric dtype whose shape matches the member's size (so np.load allocates
    nothing the payload did not pay for), no pickled objects."""
    try:
        headers = npy_headers(payload)
    except Exception as exc:  # zipfile / numpy header errors: not a plain .npz
        raise InvalidOutcome(f"not a plain .npz ({type(exc).__name__})") from None
    if sum(h.size for h in headers) > limit:
        raise InvalidOutcome(f"unpacks to more than {limit:,} bytes")
    for h in headers:
        text = h.name == "meta" and h.dtype.kind == "U"
        if h.dtype.hasobject or (h.dtype.kind not in _NPY_KINDS and not text):
            raise InvalidOutcome(f"{h.name}: dtype {h.dtype} is not a plain number")
        if not h.fits:
            raise InvalidOutcome(f"{h.name}: its shape {h.shape} does not match its size")


def decode_result(payload, config, iterations: int):
    """The TrainResult in ``payload`` (bytes from :func:`encode_result`) after checking that it
    is plain arrays (:func:`_check_npz`), that nnmath reads it (allow_pickle=False, shapes
    consistent) and that it is a run of ``config`` of at most ``iterations``; else
    :class:`InvalidOutcome`."""
    if type(payload) is not bytes:
        raise InvalidOutcome(f"result must be bytes, got {type(payload).__name__}")
    limit = result_bytes_bound(config, iterations)
    if len(payload) > limit:
        raise InvalidOutcome(f"result is {len(payload):,} bytes, more than {limit:,}")
    _check_npz(payload, limit)
    try:
        result = nnmath.load_result(io.BytesIO(payload))
    except ValueError as exc:
        raise InvalidOutcome(f"not a readable result ({str(exc)[:200]})") from None
    if result.config != config.train_config():
        raise InvalidOutcome("it is a run of other settings than the ones sent")
    if not 0 <= result.iterations <= iterations:
        raise InvalidOutcome(f"it has {result.iterations} iterations, asked for {iterations}")
    return result


def check_outcome(outcome, tasks: Mapping[str, Task]) -> tuple[str, Any, str | None]:
    """``(run_id, TrainResult or None, error text or None)`` from a worker's plain outcome
    (:func:`train_task`), or :class:`InvalidOutcome`: it must be a dict of exactly the known
    keys, name a run of this sweep, carry text as its error and :func:`decode_result` bytes."""
    if type(outcome) is not dict or set(outcome) != OUTCOME_KEYS:
        raise InvalidOutcome(
            f"expected a dict with keys {sorted(OUTCOME_KEYS)}, got {type(outcome).__name__}"
        )
    run_id, payload, error = outcome["run_id"], outcome["result"], outcome["error"]
    if type(run_id) is not str or run_id not in tasks:
        raise InvalidOutcome("it names no run of this sweep")
    if error is not None:
        if type(error) is not str or payload is not None:
            raise InvalidOutcome("its error must be text, without a result")
        return run_id, None, error[:MAX_ERROR_CHARS]
    task = tasks[run_id]
    return run_id, decode_result(payload, task.config, task.iterations), None


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
        slots=None,
    ):
        if backend not in {"loky", "threading", "dask", "sequential"}:
            raise ValueError(
                f"backend must be loky, threading, sequential or dask, got {backend!r}"
            )
        if backend == "dask" and client is None:
            raise ValueError("backend 'dask' needs a connected distributed.Client, got client=None")
        if backend == "dask" and not plain_results_only(client):
            raise ValueError(
                "backend 'dask' needs a client that refuses pickled results: connect with "
                "engine.sweep.connect_dask (deserializers=['msgpack'])"
            )
        if int(n_jobs) < 1:
            raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
        self.store, self.plan = store, plan
        # The server's training queue bounds local work; a Dask cluster's workers are elsewhere.
        self.slots = None if backend == "dask" else slots
        self._tasks = {t.config.run_id: t for t in plan.tasks}
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

        if self.backend == "sequential":
            return joblib.parallel_config(backend="sequential")
        return joblib.parallel_config(backend=self.backend, n_jobs=self.n_jobs)

    def _consume(self) -> None:
        # Longest first (cost ~ hidden units x iterations to go): with a few workers, the big runs
        # must not be the last ones left, or one worker finishes them while the others idle.
        tasks = sorted(self.plan.tasks, key=_task_cost, reverse=True)
        try:
            if not tasks:
                return
            # Drain every output even after stop: tasks return within a few iterations once
            # the stop signal is up, and draining (instead of closing the generator) leaves
            # the shared worker pool running for everyone else.
            outputs = self._dask(tasks) if self.backend == "dask" else self._joblib(tasks)
            for outcome in outputs:
                self._record(outcome)
        except BaseException as exc:  # surfaced through .error, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                for state in self._states.values():
                    if state.status in {RunStatus.QUEUED, RunStatus.RUNNING}:
                        state.status, state.message = RunStatus.FAILED, self.error
        finally:
            self._cleanup()  # every task has returned: nobody writes progress any more
            self._events.put(None)

    def _joblib(self, tasks) -> Iterator:
        import joblib

        with self._parallel_config():
            yield from joblib.Parallel(
                n_jobs=self.n_jobs, return_as="generator_unordered", batch_size=1
            )(
                joblib.delayed(train_task)(
                    t.config,
                    t.iterations,
                    self.train_set,
                    self.dev_set,
                    t.start,
                    self.signals,
                    self.slots,
                )
                for t in tasks
            )

    def _dask(self, tasks) -> Iterator:
        """Outcomes from the cluster as they finish. The client deserializes msgpack only
        (:func:`connect_dask`): a result that is not plain values is refused by it, unread, and
        becomes an :class:`InvalidOutcome` of its run here."""
        from distributed import as_completed

        client = self.client
        # Scattered under unique keys (hash=False): a second sweep on the same client does not
        # race the release of the first one's data.
        train_f, dev_f = client.scatter([self.train_set, self.dev_set], hash=False)
        futures = {
            client.submit(
                train_task,
                t.config,
                t.iterations,
                train_f,
                dev_f,
                t.start,
                self.signals,
                pure=False,
                key=f"nnmath-sweep-{t.config.run_id}-{uuid.uuid4().hex}",
            ): t.config.run_id
            for t in tasks
        }
        try:
            for future in as_completed(list(futures), loop=client.loop):
                run_id = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # refused by the client, or the task itself failed
                    yield _Refused(run_id, f"{type(exc).__name__}: {str(exc)[:300]}")
        finally:
            client.cancel([*futures, train_f, dev_f])

    def _record(self, outcome) -> None:
        if isinstance(outcome, _Refused):
            self._refuse(outcome.run_id, outcome.reason)
            return
        try:
            run_id, result, error = check_outcome(outcome, self._tasks)
        except InvalidOutcome as bad:
            named = outcome.get("run_id") if type(outcome) is dict else None
            self._refuse(named, str(bad))
            return
        config = self._configs[run_id]
        status = RunStatus.FAILED if result is None else RunStatus(result.status)
        if result is not None and (
            status in {RunStatus.FINISHED, RunStatus.DIVERGED} or stopped_by_limit(result.message)
        ):
            # Saved the moment it arrives, in the main process (workers never touch the store);
            # a run the server's time limit stopped too, so the next sweep continues it.
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

    def _refuse(self, run_id, reason: str) -> None:
        """A worker's answer that is not a plain result: nothing is stored; its run (when it can
        be told) fails with the reason."""
        with self._lock:
            state = self._states.get(run_id) if type(run_id) is str else None
            if state is not None and state.status in {RunStatus.QUEUED, RunStatus.RUNNING}:
                state.status = RunStatus.FAILED
                state.message = f"refused what the worker sent back ({reason})"
        self._events.put(run_id)

    def _cleanup(self) -> None:
        if not self._cleaned:
            self._cleaned = True
            shutil.rmtree(self._progress_dir, ignore_errors=True)


@dataclasses.dataclass(frozen=True)
class _Refused:
    """A Dask result the client would not read (not plain values) or a task that raised."""

    run_id: str
    reason: str


def _task_cost(task: Task) -> float:
    done = task.start.iterations if task.start is not None else 0
    return (task.config.hidden + 8) * (task.iterations - done)


def resolve_scheduler(secrets: Mapping | None = None, environ: Mapping | None = None) -> str | None:
    """The Dask scheduler address the HOST configured, first found of: the NNMATH_DASK_SCHEDULER
    environment variable, ``st.secrets["dask_scheduler"]``; None = local processes. Never from
    a visitor: whoever picks the address picks what the server talks to."""
    environ = os.environ if environ is None else environ
    value = environ.get(DASK_ENV)
    if not (value and str(value).strip()) and secrets is not None:
        try:
            value = secrets.get("dask_scheduler")
        except Exception:  # st.secrets raises when no secrets file exists
            value = None
    return str(value).strip() if value and str(value).strip() else None


#: The only serialization family a sweep's client reads: plain values (dict, str, bytes, numbers).
PLAIN = ("msgpack",)


def plain_results_only(client) -> bool:
    """True when ``client`` refuses anything but msgpack from the cluster (its deserializers;
    distributed keeps them in ``Client._deserializers``, set by :func:`connect_dask`)."""
    return tuple(getattr(client, "_deserializers", None) or ()) == PLAIN


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
    """Connect to the host's Dask scheduler at ``address`` (the client is not made the process
    default, so it does not interfere with anything else). The client deserializes msgpack only:
    it asks workers for plain values and refuses pickled data (dask/pickle families) instead of
    running it; the sweep then checks those values (:func:`check_outcome`). The caller owns the
    connection (the Sweep page caches one)."""
    from distributed import Client

    return DaskConnection(
        Client(address, timeout=timeout, set_as_default=False, deserializers=list(PLAIN))
    )

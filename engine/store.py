"""The run store: trained runs on disk, shared by every session of the server.

A run is identified by :class:`engine.config.RunConfig` (its ``run_id``) — the dataset fingerprint
plus every setting that changes the numbers, but not the iteration count. The store keeps, per run
id, the *longest* run trained so far and serves any shorter request from it exactly, as
:func:`plan` decides (the one rule the pages and sweeps follow too):

- ``n`` equal to a snapshot iteration: the cached run truncated there (no arithmetic at all);
- ``n`` between snapshots: resume from the nearest snapshot below (< ``snapshot_every`` iterations,
  bit-identical because training is deterministic and resumable);
- ``n`` beyond the cached run: :func:`nnmath.continue_training` from where it stopped, then saved.

Layout under the root (env ``NNMATH_RUNS_DIR``, default ``<repo>/.runs``)::

    runs/<run_id>.npz    the TrainResult (nnmath.save_result; loaded with allow_pickle=False)
    runs/<run_id>.json   a small record (config, iterations, status, final metrics) for fast listing
    runs/<run_id>.partial.npz  the checkpoint of a run being trained (status "partial", see below)
    locks/<run_id>.lock  per-run fcntl.flock lock: a second trainer of the same run waits, then reads
    uploads/<fp>.npz     datasets uploaded in the app (see engine.datasets), so permalinks work
    models/<digest>.npz  models uploaded in the app (see engine.models), evicted like uploads

Every write is atomic (temporary file + ``os.replace``), so readers never take a lock. A damaged or
unreadable entry is removed and recomputed, never reported. The store is bounded in bytes
(env ``NNMATH_RUNS_MAX_MB``, default 500): after each save the least recently used entries are
evicted (reads refresh an entry's modification time), never the run just saved nor a run whose lock
is held.

Checkpoints: while :meth:`RunStore.train` computes, it saves the run so far as a *partial* run at
least every ``checkpoint_seconds`` of training (env ``NNMATH_CHECKPOINT_SECONDS``, default 10; the
save happens in the training callback, under the run's lock). A partial run lives in its own file
beside the finished one, so it is never listed (records), never served by :meth:`get`, and a
finished run of the same settings stays what it was. After a crash, the next request for the run
continues from the checkpoint (continue_training: bit-identical to an unbroken run) and deletes it
once the longer run is saved. flock locks die with their process, so a crashed trainer's lock
never blocks anyone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import nnmath
from nnmath import Bounds, Status

from .config import RunConfig
from .notes import Annotation, check_note, check_tags
from .slots import Cancelled, TimeLimit
from .values import as_float

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO / ".runs"
DEFAULT_MAX_MB = 500.0
DEFAULT_CHECKPOINT_SECONDS = 10.0
PARTIAL = ".partial"  # runs/<run_id>.partial.npz
NOTES = ".notes.json"  # runs/<run_id>.notes.json: a person's note and tags (engine.notes)
RUN_ID = re.compile(r"[0-9a-f]{16}")  # what RunConfig.run_id produces
RECORD_VERSION = 1
LOCK_POLL = 0.1  # seconds between looks at a run's lock held by another trainer


@dataclass(frozen=True)
class RunRecord:
    """What the store knows about one cached run without loading its arrays."""

    run_id: str
    config: RunConfig
    iterations: int
    status: str
    diverged_at: int | None
    message: str
    loss: float
    train_accuracy: float
    dev_accuracy: float
    elapsed: float  # seconds of training (cumulative over extensions)
    created: float  # unix time of the first save
    updated: float  # unix time of the last save
    nbytes: int  # size of the npz on disk
    data_name: str | None = None  # human name of the dataset, when known
    data_key: str | None = None  # the `data` URL value ("sample", file name, "upload-<fp>")
    snapshot_iterations: tuple[int, ...] = field(default=())
    # Calibration on the dev set at ``iterations`` (NaN when unknown: no dev set, non-finite
    # parameters, or a record written before these fields). NLL is the run's own dev loss; ECE (15 bins) is
    # computed from the dev predictions when the run is saved (a few ms, against loading every
    # run's arrays each time the ledger is listed).
    dev_nll: float = math.nan
    dev_ece: float = math.nan

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["config"] = self.config.to_dict()
        d["snapshot_iterations"] = list(self.snapshot_iterations)
        d["version"] = RECORD_VERSION
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunRecord:
        """The record in ``d`` (a stored .json), checked (:meth:`checked`): ValueError saying
        what a page could not show, for a damaged or hostile file."""
        if not isinstance(d, dict) or not isinstance(d.get("config"), dict):
            raise ValueError("the record is not a JSON object with a config")
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["config"] = config_of(d["config"])
        snaps = d.get("snapshot_iterations", ())
        if not isinstance(snaps, (list, tuple)) or len(snaps) > 1_000_000:
            raise ValueError("snapshot_iterations must be a list of iterations")
        kw["snapshot_iterations"] = tuple(_count("snapshot iteration", i) for i in snaps)
        try:
            return cls(**kw).checked()
        except TypeError as e:  # a field missing
            raise ValueError(f"the record is incomplete ({e})") from None

    def checked(self) -> RunRecord:
        """This record if every page can show it (the ledger's table, links, charts); else
        ValueError naming the first field that is not what it should be: a training setting out
        of its bounds (a seed beyond 64 bits made pandas raise for every visitor), a count that
        is not a whole number, a metric that is not a number, a time no calendar has."""
        config_of(self.config.to_dict())
        _count("iterations", self.iterations)
        _count("nbytes", self.nbytes, high=2**62)
        if self.diverged_at is not None:
            _count("diverged_at", self.diverged_at)
        if self.status not in set(Status):
            raise ValueError(
                f"status must be one of {[str(s) for s in Status]}, got {_shown(self.status)}"
            )
        for name in ("loss", "train_accuracy", "dev_accuracy", "elapsed", "dev_nll", "dev_ece"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {_shown(value)}")
        for name in ("created", "updated"):  # unix times, 1970 to 2286
            Bounds(0.0, 1e10).check(name, getattr(self, name), float)
        for name in ("message", "data_name", "data_key"):
            value = getattr(self, name)
            if not (value is None or isinstance(value, str) and len(value) <= 10_000):
                raise ValueError(f"{name} must be a text, got {_shown(value)}")
        return self


def config_of(d: Any) -> RunConfig:
    """A stored run's RunConfig from its JSON, checked: every training setting within nnmath's
    bounds, the dev split and the dataset fingerprint plain values; ValueError otherwise."""
    if not isinstance(d, dict):
        raise ValueError("the config must be a JSON object")
    try:
        config = RunConfig.from_dict(d)
    except TypeError as e:
        raise ValueError(f"the config is incomplete ({e})") from None
    config.train_config().validated()
    _count("dev_size", config.dev_size)
    _count("split_seed", config.split_seed, high=2**32 - 1)
    for name in ("data", "model"):
        value = getattr(config, name)
        if not (value is None and name == "model" or isinstance(value, str) and len(value) <= 200):
            raise ValueError(f"{name} must be a short text, got {_shown(value)}")
    return config


def _count(name: str, value: Any, high: int = nnmath.MAX_ITERATIONS) -> int:
    return Bounds(0, high).check(name, value, int)


def _shown(value: Any) -> str:
    return Bounds.shown(value)


def _reason(e: Exception) -> str:
    text = str(e)
    return text if len(text) <= 300 else text[:299] + "…"


def _time_or_none(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and 0 <= value <= 1e10 else None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 10_000 else None


def training_arrays(train_set, dev_set):
    """The arrays nnmath trains on, from data.Dataset objects: the one conversion used everywhere
    (the store, sweep workers, tests), so cached runs are bit-identical whoever computed them.

    nnmath scales uint8 pixels by 1/255 itself, so the uint8 (n, 784) views are passed unchanged.
    """
    X, y = train_set.X, train_set.labels
    if y is None:
        raise ValueError(
            "the training set has no labels (a Kaggle test.csv?): pick a labelled dataset"
        )
    X_dev = y_dev = None
    if dev_set is not None and dev_set.labels is not None and dev_set.n > 0:
        X_dev, y_dev = dev_set.X, dev_set.labels
    return X, y, X_dev, y_dev


def compute(
    config: RunConfig,
    iterations: int,
    train_set,
    dev_set,
    *,
    base=None,
    callback: Callable | None = None,
    callback_every: int = 10,
    workers: int | None = None,
):
    """Train ``config`` to ``iterations`` (total), from scratch or from ``base`` (a TrainResult of the
    same config with fewer iterations). Pure: no store. Sweep workers can call this directly
    (pass ``workers=1`` when several processes already share the cores; the numbers do not depend
    on it). ``workers`` None: nnmath chooses, and limits BLAS threads for the call."""

    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    X, y, X_dev, y_dev = training_arrays(train_set, dev_set)
    if base is None:
        return nnmath.gradient_descent(
            X,
            y,
            config.train_config(),
            iterations=iterations,
            X_dev=X_dev,
            y_dev=y_dev,
            callback=callback,
            callback_every=callback_every,
            workers=workers,
        )
    more = iterations - base.iterations
    if more <= 0:
        raise ValueError(f"base run has {base.iterations} iterations, asked for {iterations}")
    return nnmath.continue_training(
        base,
        X,
        y,
        iterations=more,
        X_dev=X_dev,
        y_dev=y_dev,
        callback=callback,
        callback_every=callback_every,
        workers=workers,
    )


def limited(result, limit: TimeLimit | None):
    """``result`` with the time limit's message when ``limit`` stopped it (else as it is)."""
    if limit is None or not limit.reached or result.status != Status.STOPPED:
        return result
    return replace(result, message=limit.message(result.iterations))


class Step(NamedTuple):
    """What it takes to get a run to some length, given the longest cached run of its config."""

    kind: str  # SERVE | RESUME | EXTEND | TRAIN
    run: Any  # SERVE: the answer; RESUME/EXTEND: the run to continue; TRAIN: None


SERVE = "serve"  # the cache answers exactly, no arithmetic (that length, a snapshot, or diverged)
RESUME = "resume"  # shorter than the cached run: replayed from the snapshot below (not saved)
EXTEND = "extend"  # longer than the cached run: continue_training from its end (saved)
TRAIN = "train"  # nothing usable cached: from scratch (saved)


def plan(cached, iterations: int) -> Step:
    """The least work that gives ``cached``'s config at ``iterations``: the one rule the store,
    the pages and sweeps all follow. ``cached`` is the longest stored run of the config, or None.

    Exact in every case: training is deterministic and resumable bit for bit, so a snapshot below
    plus a few iterations, or the cached run plus more, equals one run of that length.
    """
    if cached is None:
        return Step(TRAIN, None)
    if cached.status == Status.PARTIAL:
        # A checkpoint is where training continues from, never an answer (it has no final pass).
        if cached.iterations < iterations:
            return Step(EXTEND, cached)
        snaps = np.asarray(cached.snapshot_iterations)
        below = int(snaps[snaps < iterations].max(initial=0))
        return Step(RESUME, cached.truncated(below) if below > 0 else None)
    if cached.iterations == iterations:
        return Step(SERVE, cached)
    if cached.iterations < iterations:
        if cached.status == Status.DIVERGED:
            return Step(SERVE, cached)  # it cannot go further: what it has is the answer
        return Step(EXTEND, cached) if cached.iterations > 0 else Step(TRAIN, None)
    snaps = np.asarray(cached.snapshot_iterations)
    if np.any(snaps == iterations):
        return Step(SERVE, cached.truncated(iterations))
    below = int(snaps[snaps <= iterations].max())
    return Step(RESUME, cached.truncated(below) if below > 0 else None)


def dev_ece(result, dev_set, bins: int = 15) -> float:
    """Top-label ECE of ``result``'s final parameters on ``dev_set`` (NaN without a labelled dev
    set or with non-finite parameters; a diverged run keeps its last finite ones, and gets the
    ECE of those, like its dev accuracy)."""
    if dev_set is None or getattr(dev_set, "labels", None) is None or dev_set.n == 0:
        return math.nan
    if not result.params.is_finite():
        return math.nan
    probs = nnmath.predict_proba(result.params, dev_set.X, activation=result.config.activation)
    try:
        return nnmath.reliability(probs, dev_set.labels, bins=bins).ece
    except ValueError:  # probabilities that are not (e.g. NaN from an overflow)
        return math.nan


def record_of(
    config: RunConfig,
    result,
    *,
    nbytes: int,
    created: float | None = None,
    data_name: str | None = None,
    data_key: str | None = None,
    ece: float = math.nan,
) -> RunRecord:
    now = time.time()
    return RunRecord(
        run_id=config.run_id,
        config=config,
        iterations=int(result.iterations),
        status=str(result.status),
        diverged_at=None if result.diverged_at is None else int(result.diverged_at),
        message=str(result.message or ""),
        loss=as_float(result.loss),
        train_accuracy=as_float(result.train_accuracy),
        dev_accuracy=as_float(result.dev_accuracy),
        elapsed=as_float(result.elapsed),
        created=now if created is None else created,
        updated=now,
        nbytes=int(nbytes),
        data_name=data_name,
        data_key=data_key,
        snapshot_iterations=tuple(int(i) for i in np.asarray(result.snapshot_iterations)),
        dev_nll=as_float(getattr(result, "dev_loss", math.nan)),
        dev_ece=as_float(ece),
    )


class RunStore:
    """Trained runs on disk under ``root``; see the module docstring.

    ``stats`` counts what this instance did ("served", "trained", "extended", "resumed", "saved",
    "evicted", "discarded") — for tests and the status line, not shared between instances.
    """

    _clock = staticmethod(time.monotonic)  # when checkpoints are due (tests replace it)

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        max_mb: float | None = None,
        checkpoint_seconds: float | None = None,
    ):
        if root is None:
            root = os.environ.get("NNMATH_RUNS_DIR") or DEFAULT_ROOT
        if max_mb is None:
            try:
                max_mb = float(os.environ.get("NNMATH_RUNS_MAX_MB", DEFAULT_MAX_MB))
            except ValueError:
                max_mb = DEFAULT_MAX_MB
        self.root = Path(root)
        self.max_bytes = int(max_mb * 1024 * 1024)
        if checkpoint_seconds is None:
            checkpoint_seconds = _env_float("NNMATH_CHECKPOINT_SECONDS", DEFAULT_CHECKPOINT_SECONDS)
        self.checkpoint_seconds = float(checkpoint_seconds)
        self.stats: dict[str, int] = {}
        for sub in ("runs", "locks", "uploads", "models"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ---- paths -------------------------------------------------------------------------------
    def npz_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.npz"

    def json_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.json"

    def checkpoint_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}{PARTIAL}.npz"

    def notes_path(self, run_id: str) -> Path:
        if not RUN_ID.fullmatch(run_id):
            raise ValueError(f"run_id must be 16 hex digits, got {run_id[:40]!r}")
        return self.root / "runs" / f"{run_id}{NOTES}"

    @property
    def uploads_dir(self) -> Path:
        return self.root / "uploads"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def _count(self, what: str, n: int = 1) -> None:
        self.stats[what] = self.stats.get(what, 0) + n

    @contextlib.contextmanager
    def lock(self, run_id: str, blocking: bool = True) -> Iterator[bool]:
        """Exclusive per-run lock across threads and processes (flock on a per-open lock file).
        Yields False (and holds nothing) when ``blocking`` is False and the lock is taken."""
        path = self.root / "locks" / f"{run_id}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _lock_waiting(self, run_id: str, held: Callable | None) -> Iterator[None]:
        """The run's lock; while another trainer holds it, ``held(seconds waited)`` is called
        every LOCK_POLL seconds and may return True to give up (engine.slots.Cancelled)."""
        if held is None:
            with self.lock(run_id):
                yield
            return
        t0 = time.monotonic()
        while True:
            with self.lock(run_id, blocking=False) as got:
                if got:
                    yield
                    return
            if held(time.monotonic() - t0):
                raise Cancelled("left while another session trained this run")
            time.sleep(LOCK_POLL)  # flock has no timeout: poll the non-blocking form

    def wait_unlocked(self, run_id: str, timeout: float = 10.0, poll: float = 0.02) -> bool:
        """Wait until nobody holds the run's lock (a trainer finishing or saving); True if free."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock(run_id, blocking=False) as got:
                if got:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)  # flock has no timeout: poll the non-blocking form

    # ---- reading -----------------------------------------------------------------------------
    def load(self, run_id: str):
        """The cached run (its full length), or None. A damaged entry is discarded."""

        path = self.npz_path(run_id)
        result, damaged = self._read(path)
        if damaged:  # forget it, it will be recomputed
            self._discard(run_id)
        if result is None:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently *used* is evicted first
        return result

    @staticmethod
    def _read(path: Path):
        """(the TrainResult in ``path`` or None, whether the file is damaged/truncated/foreign)."""
        if not path.exists():
            return None, False
        try:
            return nnmath.load_result(path), False
        except FileNotFoundError:  # removed meanwhile
            return None, False
        except Exception:
            return None, True

    def _valid_for(self, result, config: RunConfig) -> bool:
        try:
            return result.config == config.train_config() and (
                int(result.params.W1.shape[1]) == config.hidden
            )
        except Exception:
            return False

    def _cached(self, config: RunConfig):
        result = self.load(config.run_id)
        if result is not None and not self._valid_for(result, config):
            self._discard(config.run_id)
            return None
        return result

    def latest(self, config: RunConfig):
        """The longest stored run of ``config`` whatever its length and status (a stopped one,
        or the checkpoint of a run being trained or interrupted: status "partial"), or None."""
        cached = self._cached(config)
        partial = self.checkpoint(config)
        if partial is not None and (cached is None or partial.iterations > cached.iterations):
            return partial
        return cached

    def checkpoint(self, config: RunConfig):
        """The checkpoint of ``config`` (a TrainResult with status "partial"), or None. A
        damaged or foreign one is removed."""
        path = self.checkpoint_path(config.run_id)
        result, damaged = self._read(path)
        if result is None and not damaged:
            return None
        if damaged or result.status != Status.PARTIAL or not self._valid_for(result, config):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
        return result

    def plan(self, config: RunConfig, iterations: int) -> Step:
        """:func:`plan` for ``config`` against what this store holds now (a checkpoint longer
        than the stored run included)."""
        return plan(self._source(config, self._cached(config)), int(iterations))

    def _source(self, config: RunConfig, cached):
        """What to build on: the stored run, or a longer checkpoint of a run still training or
        interrupted (a checkpoint the stored run already covers is removed)."""
        partial = self.checkpoint(config)
        if partial is None:
            return cached
        if cached is None or (
            cached.status != Status.DIVERGED and partial.iterations > cached.iterations
        ):
            return partial
        self._drop_checkpoint(config.run_id, upto=cached.iterations)
        return cached

    def get(self, config: RunConfig, iterations: int):
        """The run at ``iterations`` if the store answers it exactly without training (never
        from a checkpoint), else None."""
        step = plan(self._cached(config), int(iterations))
        if step.kind != SERVE:
            return None
        self._count("served")
        return step.run

    def records(self, data: str | None = None) -> list[RunRecord]:
        """Summaries of the cached runs (optionally of one dataset fingerprint), newest first.
        Only records every page can show (RunRecord.checked): see :meth:`unlisted` for the
        others."""
        out = []
        for run_id in self._run_ids():
            rec = self.record(run_id)
            if rec is None or rec.config.run_id != run_id:
                continue  # unreadable, or stored by an older nnmath numerics
            if data is None or rec.config.data == data:
                out.append(rec)
        out.sort(key=lambda r: r.updated, reverse=True)
        return out

    def unlisted(self) -> list[tuple[str, str]]:
        """(run id, why) of every stored run that :meth:`records` leaves out because its files
        cannot be shown (a damaged or hostile record, arrays that do not load): the ledger flags
        them so they can be deleted, instead of failing for every visitor."""
        out = []
        for run_id in self._run_ids():
            _, why = self._record(run_id)
            if why is not None:
                out.append((run_id, why))
        return sorted(out)

    def _run_ids(self) -> list[str]:
        return [
            npz.stem
            for npz in (self.root / "runs").glob("*.npz")
            # checkpoints of runs in progress, temporary files: not runs
            if not (npz.stem.endswith(PARTIAL) or npz.name.startswith("."))
        ]

    def record(self, run_id: str) -> RunRecord | None:
        """The record of a stored run, or None (no such run, being written, or not one a page
        can show: :meth:`unlisted` says why)."""
        return self._record(run_id)[0]

    def _record(self, run_id: str) -> tuple[RunRecord | None, str | None]:
        npz, js = self.npz_path(run_id), self.json_path(run_id)
        try:
            size = npz.stat().st_size
        except FileNotFoundError:
            return None, None
        try:
            rec = RunRecord.from_json(json.loads(js.read_text()))
            if rec.nbytes == size and rec.run_id == run_id:
                return rec, None
        except Exception:  # missing, damaged or stale record: rebuild it from the npz
            pass
        with self.lock(run_id, blocking=False) as got:
            if not got:
                return None, None  # being written right now; it will be listed next time
            result = self.load(run_id)
            if result is None:
                return None, "its arrays cannot be read"
            old = self._read_json(run_id)
            try:
                config = config_of(old.get("config"))
            except Exception as e:  # no way to know the dataset fingerprint: unlisted
                return None, f"its record cannot be read: {_reason(e)}"
            if not self._valid_for(result, config):
                return None, "its record and its arrays disagree"
            rec = record_of(
                config,
                result,
                nbytes=size,
                created=_time_or_none(old.get("created")),
                data_name=_text_or_none(old.get("data_name")),
                data_key=_text_or_none(old.get("data_key")),
                # the old record's ECE, when it describes the same run length
                ece=as_float(old.get("dev_ece", math.nan))
                if old.get("iterations") == result.iterations
                else math.nan,
            )
            try:
                rec.checked()
            except ValueError as e:
                return None, _reason(e)
            self._write_json(rec)
            return rec, None

    def _read_json(self, run_id: str) -> dict[str, Any]:
        try:
            d = json.loads(self.json_path(run_id).read_text())
            return d if isinstance(d, dict) else {}
        except Exception:
            return {}

    # ---- writing -----------------------------------------------------------------------------
    def _atomic_write(self, path: Path, write: Callable[[Path], None]) -> None:
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _write_json(self, rec: RunRecord) -> None:
        payload = json.dumps(rec.to_json(), default=_json_default, allow_nan=True, indent=1)
        self._atomic_write(self.json_path(rec.run_id), lambda p: p.write_text(payload))

    def _save(
        self, config: RunConfig, result, *, data_name=None, data_key=None, dev_set=None
    ) -> None:
        """Write result + record (caller holds the run's lock). With ``dev_set`` the record
        gets the run's dev ECE."""

        old = self._read_json(config.run_id)
        path = self.npz_path(config.run_id)
        self._atomic_write(path, lambda p: nnmath.save_result(result, p))
        rec = record_of(
            config,
            result,
            nbytes=path.stat().st_size,
            created=old.get("created"),
            data_name=data_name or old.get("data_name"),
            data_key=data_key or old.get("data_key"),
            ece=dev_ece(result, dev_set),
        )
        self._write_json(rec)
        self._count("saved")
        self._drop_checkpoint(config.run_id, upto=result.iterations)
        self._evict(keep=config.run_id)

    def _save_checkpoint(self, config: RunConfig, partial) -> None:
        """Write the checkpoint of a run being trained (caller holds the run's lock)."""
        path = self.checkpoint_path(config.run_id)
        self._atomic_write(path, lambda p: nnmath.save_result(partial, p))
        self._count("checkpointed")
        self._evict(keep=config.run_id)

    def _drop_checkpoint(self, run_id: str, upto: int) -> None:
        """Remove the checkpoint once a run of at least ``upto`` iterations is saved."""
        path = self.checkpoint_path(run_id)
        if not path.exists():
            return
        try:
            with np.load(path, allow_pickle=False) as npz:  # reads the small meta member only
                held = int(json.loads(str(npz["meta"]))["iterations"])
        except FileNotFoundError:
            return
        except Exception:  # damaged: of no use
            held = -1
        if held <= upto:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _checkpointing(self, config: RunConfig, callback: Callable | None) -> Callable:
        """``callback`` plus a checkpoint save every ``checkpoint_seconds`` of training (from
        nnmath's Progress.checkpoint: the run so far, continued bit-identically)."""
        every = self.checkpoint_seconds
        last = [self._clock()]

        def checkpointing(p):
            stop = callback(p) if callback is not None else None
            now = self._clock()
            if (
                not stop
                and p.iteration < p.total
                and p.checkpoint is not None
                and now - last[0] >= every
            ):
                self._save_checkpoint(config, p.checkpoint())
                last[0] = self._clock()
            return stop

        return checkpointing

    def put(
        self,
        config: RunConfig,
        result,
        *,
        data_name: str | None = None,
        data_key: str | None = None,
        dev_set=None,
    ) -> bool:
        """Store a run computed elsewhere (e.g. a sweep worker). Keeps the longer of the cached
        and the given run; returns True when ``result`` was written. Pass the ``dev_set`` it was
        evaluated on for its dev ECE in the record."""
        with self.lock(config.run_id):
            cached = self._cached(config)
            if not self._longer(result, cached):
                return False
            self._save(config, result, data_name=data_name, data_key=data_key, dev_set=dev_set)
            return True  # (and drops a checkpoint the saved run holds)

    @staticmethod
    def _longer(result, cached) -> bool:
        """Worth saving over ``cached``: more iterations, or a diverged run (possibly of 0
        iterations: it blew up at once) where nothing is cached."""
        if cached is None:
            return result.iterations > 0 or result.status == Status.DIVERGED
        return result.iterations > cached.iterations

    def train(
        self,
        config: RunConfig,
        iterations: int,
        train_set,
        dev_set,
        callback: Callable | None = None,
        *,
        callback_every: int = 10,
        data_name: str | None = None,
        data_key: str | None = None,
        slots=None,
        waiting: Callable | None = None,
        held: Callable | None = None,
        timing: dict | None = None,
    ):
        """The run at ``iterations``: served from the cache, resumed from a snapshot, extended with
        continue_training, or trained from scratch — whichever is least work — and saved when it
        is longer than what the cache had. Safe across threads and processes: a second trainer of
        the same run waits on the lock, then reads the first one's result.

        A run stopped by ``callback`` (Status.STOPPED) is saved too, so nothing computed is lost.
        While it trains, a checkpoint is saved every ``checkpoint_seconds`` (see the module
        docstring); a checkpoint left by a crash is where the next call continues from. A
        checkpoint is never an answer for more iterations than it holds.

        ``slots`` (an engine.slots.TrainingSlots) bounds the trainings computing at once: this
        one waits in its queue (holding the run's lock), calling ``waiting(ahead, busy)``, which
        may return True to give up (engine.slots.Cancelled is raised). Short replays from a
        snapshot (< snapshot_every iterations) do not queue.

        ``held(seconds)`` is called about every ``LOCK_POLL`` seconds while another trainer (another
        session, another process) holds this run's lock; it may return True to give up
        (Cancelled), so a visitor waiting on someone else's training can leave at once.
        ``timing`` (a dict), when given, receives "waited" (seconds spent on the run's lock and
        in the queue) and "computed" (whether this call trained, rather than served what another
        trainer saved meanwhile): what a page reports as training time is the rest.
        """
        iterations = int(iterations)
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        timing = {} if timing is None else timing
        timing.update(waited=0.0, computed=False)
        hit = self.get(config, iterations)
        if hit is not None:
            return hit
        if data_name is None:
            data_name = getattr(train_set, "name", None)
        t0 = time.monotonic()
        with self._lock_waiting(config.run_id, held):
            timing["waited"] = time.monotonic() - t0
            cached = self._cached(config)  # someone may have trained it while we waited
            source = self._source(config, cached)
            step = plan(source, iterations)
            if step.kind == SERVE:
                self._count("served")
                return step.run
            if step.kind == RESUME:
                # Fewer than snapshot_every iterations from a snapshot: no queue, no checkpoints.
                self._count("resumed")
                timing["computed"] = True
                result = compute(
                    config,
                    iterations,
                    train_set,
                    dev_set,
                    base=step.run,
                    callback=callback,
                    callback_every=callback_every,
                )
            else:
                slot = contextlib.nullcontext() if slots is None else slots.acquire(waiting)
                limit = None if slots is None else slots.limit()
                t_queue = time.monotonic()
                with slot:
                    timing["waited"] += time.monotonic() - t_queue
                    timing["computed"] = True
                    result = compute(
                        config,
                        iterations,
                        train_set,
                        dev_set,
                        base=step.run,
                        callback=self._checkpointing(
                            config, callback if limit is None else limit.wrap(callback)
                        ),
                        callback_every=callback_every,
                    )
                result = limited(result, limit)
                base = step.run
                self._count(
                    "trained" if base is None else "extended" if base is cached else "continued"
                )
            if self._longer(result, cached):
                self._save(config, result, data_name=data_name, data_key=data_key, dev_set=dev_set)
            return result

    # ---- notes and tags ------------------------------------------------------------------------
    def annotation(self, run_id: str) -> Annotation:
        """The run's note and tags (empty when it has none)."""
        try:
            return Annotation.from_json(json.loads(self.notes_path(run_id).read_text()))
        except (OSError, ValueError):
            return Annotation()

    def annotations(self) -> dict[str, Annotation]:
        """Every run's note and tags that has any, by run id."""
        out = {}
        for p in (self.root / "runs").glob(f"*{NOTES}"):
            run_id = p.name.removesuffix(NOTES)
            if RUN_ID.fullmatch(run_id):
                a = self.annotation(run_id)
                if a != Annotation():
                    out[run_id] = a
        return out

    def annotate(self, run_id: str, *, note: str | None = None, tags=None) -> Annotation:
        """Set a stored run's note and/or tags (checked by engine.notes); returns what is kept.
        An empty note and no tags remove the file."""
        path = self.notes_path(run_id)
        if not self.npz_path(run_id).exists():
            raise ValueError("that run is not in the run cache (deleted or evicted)")
        old = self.annotation(run_id)
        new = Annotation(
            old.note if note is None else check_note(note),
            old.tags if tags is None else check_tags(tags),
        )
        if new == Annotation():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            payload = json.dumps(new.to_json())
            self._atomic_write(path, lambda p: p.write_text(payload))
        return new

    def delete(self, run_id: str) -> None:
        with self.lock(run_id):
            self._discard(run_id, checkpoint=True)

    def _discard(self, run_id: str, *, checkpoint: bool = False) -> None:
        paths = [self.npz_path(run_id), self.json_path(run_id)]
        if RUN_ID.fullmatch(run_id):
            paths.append(self.notes_path(run_id))
        if checkpoint:
            paths.append(self.checkpoint_path(run_id))
        for p in paths:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._count("discarded")

    # ---- size bound --------------------------------------------------------------------------
    def total_bytes(self) -> int:
        total = 0
        for sub in ("runs", "uploads", "models"):
            for p in (self.root / sub).iterdir():
                with contextlib.suppress(FileNotFoundError):
                    total += p.stat().st_size
        return total

    def _evict(self, keep: str | None = None) -> None:
        """Remove least recently used runs/uploads/models until the store fits in ``max_bytes``."""
        total = self.total_bytes()
        if total <= self.max_bytes:
            return
        entries = []
        for sub in ("runs", "uploads", "models"):
            for p in (self.root / sub).glob("*.npz"):
                if p.name.startswith("."):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    st_ = p.stat()
                    entries.append((st_.st_mtime, sub, p))
        entries.sort()
        for _, sub, p in entries:
            if total <= self.max_bytes:
                break
            if sub == "runs":
                run_id = p.stem.removesuffix(PARTIAL)
                if run_id == keep:
                    continue
                with self.lock(run_id, blocking=False) as got:
                    if not got:
                        continue  # someone is training or saving it
                    if p.stem.endswith(PARTIAL):  # an interrupted run's checkpoint only
                        freed = p.stat().st_size if p.exists() else 0
                        with contextlib.suppress(FileNotFoundError):
                            p.unlink()
                    else:
                        entry = (p, self.json_path(run_id), self.checkpoint_path(run_id))
                        freed = sum(q.stat().st_size for q in entry if q.exists())
                        self._discard(run_id, checkpoint=True)
            else:
                freed = p.stat().st_size if p.exists() else 0
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            total -= freed
            self._count("evicted")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _json_default(o: Any):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def default_store() -> RunStore:
    """The store the app uses: root from NNMATH_RUNS_DIR (default <repo>/.runs), size bound from
    NNMATH_RUNS_MAX_MB (default 500). Cheap to create; all state is on disk."""
    return RunStore()

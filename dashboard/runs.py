"""A run's identity and the run store: trained runs on disk, shared by every session of the server.

A run is identified by :class:`RunConfig` — the dataset fingerprint plus every setting that changes
the numbers, but not the iteration count. The store keeps, per run id, the *longest* run trained so
far and serves any shorter request from it exactly:

- ``n`` equal to a snapshot iteration: the cached run truncated there (no arithmetic at all);
- ``n`` between snapshots: resume from the nearest snapshot below (< ``snapshot_every`` iterations,
  bit-identical because training is deterministic and resumable);
- ``n`` beyond the cached run: :func:`nnmath.continue_training` from where it stopped, then saved.

Layout under the root (env ``NNMATH_RUNS_DIR``, default ``<repo>/.runs``)::

    runs/<run_id>.npz    the TrainResult (nnmath.save_result; loaded with allow_pickle=False)
    runs/<run_id>.json   a small record (config, iterations, status, final metrics) for fast listing
    locks/<run_id>.lock  per-run fcntl.flock lock: a second trainer of the same run waits, then reads
    uploads/<fp>.npz     datasets uploaded in the app (see dashboard.datasets), so permalinks work

Every write is atomic (temporary file + ``os.replace``), so readers never take a lock. A damaged or
unreadable entry is removed and recomputed, never reported. The store is bounded in bytes
(env ``NNMATH_RUNS_MAX_MB``, default 500): after each save the least recently used entries are
evicted (reads refresh an entry's modification time), never the run just saved nor a run whose lock
is held.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

import nnmath

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO / ".runs"
DEFAULT_MAX_MB = 500.0
SNAPSHOT_EVERY = 50
RECORD_VERSION = 1


def thread_policy(hidden: int) -> tuple[int, int]:
    """(BLAS threads, nnmath workers) for training a network of ``hidden`` units: the one place
    that decides it.

    Two OpenBLAS threads on the small matmuls of this network are slow (up to ~50x on the 2-core
    reference machine), so BLAS gets one thread and nnmath's ``workers`` share the fixed row
    blocks instead (same numbers for any worker count): 500 iterations on the 4,000-image sample
    take 0.9 s with 2 workers against 1.3 s with one. NNMATH_TRAIN_WORKERS overrides the worker
    count (e.g. 1 on a server shared by a class).
    """
    try:
        workers = int(os.environ.get("NNMATH_TRAIN_WORKERS", ""))
    except ValueError:
        workers = min(2, os.cpu_count() or 1)
    return 1, max(1, workers)


@contextlib.contextmanager
def training_threads(hidden: int) -> Iterator[int]:
    """Limit BLAS threads around a training call; yields the nnmath worker count to use."""
    from threadpoolctl import threadpool_limits

    blas, workers = thread_policy(hidden)
    with threadpool_limits(limits=blas, user_api="blas"):
        yield workers


@dataclass(frozen=True)
class RunConfig:
    """Everything that changes the numbers of a run, not the iteration count."""

    data: str  # dataset fingerprint (content hash, 16 hex chars)
    hidden: int = 10
    alpha: float = 0.1
    seed: int = 0
    init: str = "uniform"
    dtype: str = "float32"
    batch_size: int | None = None
    dev_size: int = 1000
    split_seed: int = 0

    def __post_init__(self) -> None:
        # Canonical Python types, so equal settings give equal ids whatever the caller passed.
        object.__setattr__(self, "hidden", int(self.hidden))
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "dtype", str(np.dtype(self.dtype)))
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", int(self.batch_size))
        object.__setattr__(self, "dev_size", int(self.dev_size))
        object.__setattr__(self, "split_seed", int(self.split_seed))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def run_id(self) -> str:
        """Settings plus nnmath's numerics version: runs stored by code that rounded differently
        get other ids, so they are neither served nor continued (and age out of the cache)."""
        key = {**self.to_dict(), "numerics": nnmath.NUMERICS_VERSION}
        canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of nnmath.gradient_descent for these settings."""
        return dict(
            hidden=self.hidden,
            alpha=self.alpha,
            seed=self.seed,
            init=self.init,
            dtype=self.dtype,
            batch_size=self.batch_size,
        )


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
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["config"] = RunConfig.from_dict(d["config"])
        kw["snapshot_iterations"] = tuple(int(i) for i in d.get("snapshot_iterations", ()))
        return cls(**kw)


def _finite(x: Any) -> float:
    """A Python float (NaN when ``x`` is not a number)."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


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
    snapshot_every: int = SNAPSHOT_EVERY,
    workers: int | None = None,
):
    """Train ``config`` to ``iterations`` (total), from scratch or from ``base`` (a TrainResult of the
    same config with fewer iterations). Pure: no store. Sweep workers can call this directly
    (pass ``workers=1`` when several processes already share the cores; the numbers do not depend
    on it). ``workers`` None: :func:`thread_policy`."""

    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    X, y, X_dev, y_dev = training_arrays(train_set, dev_set)
    with training_threads(config.hidden) as policy_workers:
        workers = policy_workers if workers is None else int(workers)
        if base is None:
            return nnmath.gradient_descent(
                X,
                y,
                iterations=iterations,
                X_dev=X_dev,
                y_dev=y_dev,
                snapshot_every=snapshot_every,
                callback=callback,
                callback_every=callback_every,
                workers=workers,
                **config.train_kwargs(),
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


def dev_ece(result, dev_set, bins: int = 15) -> float:
    """Top-label ECE of ``result``'s final parameters on ``dev_set`` (NaN without a labelled dev
    set or with non-finite parameters; a diverged run keeps its last finite ones, and gets the
    ECE of those, like its dev accuracy)."""
    if dev_set is None or getattr(dev_set, "labels", None) is None or dev_set.n == 0:
        return math.nan
    if not result.params.is_finite():
        return math.nan
    activation = getattr(result.config, "activation", "relu")
    with training_threads(result.params.hidden):  # one BLAS thread: small matmuls (see above)
        probs = nnmath.predict_proba(result.params, dev_set.X, activation=activation)
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
        loss=_finite(result.loss),
        train_accuracy=_finite(result.train_accuracy),
        dev_accuracy=_finite(result.dev_accuracy),
        elapsed=_finite(result.elapsed),
        created=now if created is None else created,
        updated=now,
        nbytes=int(nbytes),
        data_name=data_name,
        data_key=data_key,
        snapshot_iterations=tuple(int(i) for i in np.asarray(result.snapshot_iterations)),
        dev_nll=_finite(getattr(result, "dev_loss", math.nan)),
        dev_ece=_finite(ece),
    )


class RunStore:
    """Trained runs on disk under ``root``; see the module docstring.

    ``stats`` counts what this instance did ("served", "trained", "extended", "resumed", "saved",
    "evicted", "discarded") — for tests and the status line, not shared between instances.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        max_mb: float | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
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
        self.snapshot_every = int(snapshot_every)
        self.stats: dict[str, int] = {}
        for sub in ("runs", "locks", "uploads"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ---- paths -------------------------------------------------------------------------------
    def npz_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.npz"

    def json_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.json"

    @property
    def uploads_dir(self) -> Path:
        return self.root / "uploads"

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
        if not path.exists():
            return None
        try:
            result = nnmath.load_result(path)
        except FileNotFoundError:
            return None
        except Exception:  # damaged, truncated, foreign: forget it, it will be recomputed
            self._discard(run_id)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently *used* is evicted first
        return result

    def _valid_for(self, result, config: RunConfig) -> bool:
        c = result.config
        try:
            return (
                int(c.hidden) == config.hidden
                and float(c.alpha) == config.alpha
                and int(c.seed) == config.seed
                and int(result.params.W1.shape[1]) == config.hidden
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
        """The longest cached run of ``config`` whatever its length (e.g. a stopped one), or None."""
        return self._cached(config)

    @staticmethod
    def _serve(cached, iterations: int):
        """Exact answer from a cached run without arithmetic, or None."""
        if cached is None:
            return None
        if cached.iterations == iterations:
            return cached
        if cached.iterations < iterations:
            # A diverged run cannot go further: what it has is the answer.
            return cached if cached.status == "diverged" else None
        snaps = np.asarray(cached.snapshot_iterations)
        if np.any(snaps == iterations):
            return cached.truncated(iterations)
        return None

    def get(self, config: RunConfig, iterations: int):
        """The run at ``iterations`` if the cache answers it exactly without training, else None."""
        served = self._serve(self._cached(config), int(iterations))
        if served is not None:
            self._count("served")
        return served

    def records(self, data: str | None = None) -> list[RunRecord]:
        """Summaries of the cached runs (optionally of one dataset fingerprint), newest first."""
        out = []
        for npz in (self.root / "runs").glob("*.npz"):
            rec = self.record(npz.stem)
            if rec is None or rec.config.run_id != npz.stem:
                continue  # unreadable, or stored by an older nnmath numerics
            if data is None or rec.config.data == data:
                out.append(rec)
        out.sort(key=lambda r: r.updated, reverse=True)
        return out

    def record(self, run_id: str) -> RunRecord | None:
        npz, js = self.npz_path(run_id), self.json_path(run_id)
        try:
            size = npz.stat().st_size
        except FileNotFoundError:
            return None
        try:
            rec = RunRecord.from_json(json.loads(js.read_text()))
            if rec.nbytes == size and rec.run_id == run_id:
                return rec
        except Exception:  # missing, damaged or stale record: rebuild it from the npz
            pass
        with self.lock(run_id, blocking=False) as got:
            if not got:
                return None  # being written right now; it will be listed next time
            result = self.load(run_id)
            if result is None:
                return None
            old = self._read_json(run_id)
            try:
                config = RunConfig.from_dict(old["config"])
            except Exception:
                return None  # no way to know the dataset fingerprint: unlisted until retrained
            if not self._valid_for(result, config):
                return None
            rec = record_of(
                config,
                result,
                nbytes=size,
                created=old.get("created"),
                data_name=old.get("data_name"),
                data_key=old.get("data_key"),
                # the old record's ECE, when it describes the same run length
                ece=old.get("dev_ece", math.nan)
                if old.get("iterations") == result.iterations
                else math.nan,
            )
            self._write_json(rec)
            return rec

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
        self._evict(keep=config.run_id)

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
            return True

    @staticmethod
    def _longer(result, cached) -> bool:
        """Worth saving over ``cached``: more iterations, or a diverged run (possibly of 0
        iterations: it blew up at once) where nothing is cached."""
        if cached is None:
            return result.iterations > 0 or result.status == "diverged"
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
    ):
        """The run at ``iterations``: served from the cache, resumed from a snapshot, extended with
        continue_training, or trained from scratch — whichever is least work — and saved when it
        is longer than what the cache had. Safe across threads and processes: a second trainer of
        the same run waits on the lock, then reads the first one's result.

        A run stopped by ``callback`` (status "stopped") is saved too, so nothing computed is lost.
        """
        iterations = int(iterations)
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        hit = self.get(config, iterations)
        if hit is not None:
            return hit
        if data_name is None:
            data_name = getattr(train_set, "name", None)
        with self.lock(config.run_id):
            cached = self._cached(config)  # someone may have trained it while we waited
            served = self._serve(cached, iterations)
            if served is not None:
                self._count("served")
                return served
            kw = dict(
                callback=callback, callback_every=callback_every, snapshot_every=self.snapshot_every
            )
            if cached is not None and cached.iterations > iterations:
                snaps = np.asarray(cached.snapshot_iterations)
                below = int(snaps[snaps <= iterations].max())
                base = cached.truncated(below) if below > 0 else None
                self._count("resumed")
                # Shorter than the cached run: returned, not saved.
                return compute(config, iterations, train_set, dev_set, base=base, **kw)
            if cached is not None and cached.iterations > 0 and cached.status != "diverged":
                result = compute(config, iterations, train_set, dev_set, base=cached, **kw)
                self._count("extended")
            else:
                result = compute(config, iterations, train_set, dev_set, **kw)
                self._count("trained")
            if self._longer(result, cached):
                self._save(config, result, data_name=data_name, data_key=data_key, dev_set=dev_set)
            return result

    def delete(self, run_id: str) -> None:
        with self.lock(run_id):
            self._discard(run_id)

    def _discard(self, run_id: str) -> None:
        for p in (self.npz_path(run_id), self.json_path(run_id)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._count("discarded")

    # ---- size bound --------------------------------------------------------------------------
    def total_bytes(self) -> int:
        total = 0
        for sub in ("runs", "uploads"):
            for p in (self.root / sub).iterdir():
                with contextlib.suppress(FileNotFoundError):
                    total += p.stat().st_size
        return total

    def _evict(self, keep: str | None = None) -> None:
        """Remove least recently used runs/uploads until the store fits in ``max_bytes``."""
        total = self.total_bytes()
        if total <= self.max_bytes:
            return
        entries = []
        for sub in ("runs", "uploads"):
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
                run_id = p.stem
                if run_id == keep:
                    continue
                with self.lock(run_id, blocking=False) as got:
                    if not got:
                        continue  # someone is training or saving it
                    freed = sum(q.stat().st_size for q in (p, self.json_path(run_id)) if q.exists())
                    self._discard(run_id)
            else:
                freed = p.stat().st_size if p.exists() else 0
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            total -= freed
            self._count("evicted")


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

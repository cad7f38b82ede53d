"""The app's way into the engine: from a page's settings to a run, in one call.

``Runs`` holds the run store and the server's caches (datasets and their split, results the
store served), so the glue makes one call down — :meth:`Runs.open` to look a run up,
:meth:`Runs.train` to compute it — and everything below happens here, in order:
data key -> dataset and split -> RunConfig -> the store's plan -> nnmath.

One ``Runs`` per server (the glue keeps it); it is safe across threads, and its caches are
bounded by entries and by bytes. No Streamlit here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from nnmath import Status

from . import datasets
from .cache import MB, ByteLRU
from .config import RunConfig, Settings
from .store import RESUME, SERVE, RunStore

#: What the engine keeps in memory for every session together (datasets with their split, served
#: runs, and whatever the glue caches with them), unless NNMATH_CACHE_MB says otherwise.
DEFAULT_CACHE_MB = 256


@dataclass(frozen=True)
class Run:
    """Everything a page needs about the run its settings name."""

    settings: Settings
    dataset: Any  # data.Dataset
    train: Any  # its training part
    dev: Any  # its dev part
    config: RunConfig
    result: Any  # nnmath.TrainResult, or None: not trained that far yet
    latest: Any = None  # the longest stored run of this config (e.g. one stopped earlier)
    trained_now: bool = False  # computed by this call, not served from the store
    seconds: float = 0.0  # wall time of the call that trained it

    @property
    def continues(self) -> bool:
        """Training it would continue the stored run rather than start from scratch."""
        return (
            self.latest is not None
            and 0 < self.latest.iterations < self.settings.iterations
            and self.latest.status != Status.DIVERGED
        )


class Runs:
    """Datasets by ``data`` key and runs by settings, through one run store.

    ``cache`` (default: DEFAULT_CACHE_MB) holds datasets with their split and served runs, one
    budget in bytes for all of them; the glue may keep its own derived objects in it too.
    """

    def __init__(self, store: RunStore, cache: ByteLRU | None = None):
        self.store = store
        self.cache = ByteLRU(DEFAULT_CACHE_MB * MB) if cache is None else cache

    # ---- datasets ----------------------------------------------------------------------------
    def split(self, key: str):
        """(dataset, train, dev) of a ``data`` value — train/dev None for an unlabelled set —
        loaded once per version of the file. Raises UnknownDataset / data.DataError."""
        uploads = self.store.uploads_dir
        stamp = datasets.stamp(key, uploads)
        return self.cache.get(("split", key, stamp), lambda: _load_split(key, uploads))

    def is_loaded(self, key: str) -> bool:
        return ("split", key, datasets.stamp(key, self.store.uploads_dir)) in self.cache

    # ---- runs --------------------------------------------------------------------------------
    def open(self, settings: Settings) -> Run:
        """The run of ``settings`` as far as the store answers it without training: served
        exactly, or replayed from the snapshot below (a few iterations); else ``result`` None and
        ``latest`` the longest stored run. ValueError for a dataset without labels."""
        ds, train, dev = self.split(settings.data)
        if train is None:
            raise ValueError(
                f"{ds.name} has no labels (a test set?): pick a labelled dataset on the Data page"
            )
        config = settings.run_config(ds.fingerprint, dev.n)
        key = ("run", config.run_id, settings.iterations, self._version(config))
        found, result = self.cache.find(key)
        latest = None
        if not found:
            step = self.store.plan(config, settings.iterations)
            if step.kind == SERVE:
                result = step.run
            elif step.kind == RESUME:
                result = self.store.train(config, settings.iterations, train, dev)
            else:  # the longest stored run or checkpoint: where training would continue from
                latest = self.store.latest(config)
            if result is not None:  # only answers are kept: "not trained yet" may change
                self.cache.put(key, result)
        return Run(settings, ds, train, dev, config, result, latest)

    def train(
        self,
        run: Run,
        callback: Callable | None = None,
        *,
        callback_every: int = 10,
        slots=None,
        waiting: Callable | None = None,
    ) -> Run:
        """Train ``run`` to its settings' length (extending or resuming what the store has),
        calling ``callback(progress)`` as nnmath does; the store saves it, a stopped run too.
        ``slots``/``waiting``: the server's training queue (see RunStore.train)."""
        t0 = time.perf_counter()
        result = self.store.train(
            run.config,
            run.settings.iterations,
            run.train,
            run.dev,
            callback,
            callback_every=callback_every,
            data_name=run.dataset.name,
            data_key=run.settings.data,
            slots=slots,
            waiting=waiting,
        )
        return replace(run, result=result, trained_now=True, seconds=time.perf_counter() - t0)

    def _version(self, config: RunConfig) -> int | None:
        """The stored file's version: a run extended by anyone gets a new one, so no cached
        answer outlives the file it came from."""
        try:
            return self.store.npz_path(config.run_id).stat().st_mtime_ns
        except FileNotFoundError:
            return None


def _load_split(key: str, uploads):
    from data import train_dev_split

    ds = datasets.load(key, uploads)
    if not ds.has_labels:
        return ds, None, None
    train, dev = train_dev_split(ds, seed=0)
    return ds, train, dev

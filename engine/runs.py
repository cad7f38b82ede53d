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

import nnmath
from nnmath import Status, TrainConfig, TrainResult

from . import datasets, models
from .cache import MB, ByteLRU
from .config import RunConfig, Settings, run_label
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
    seconds: float = 0.0  # wall time of the call's training (its waiting left out)
    waited: float = 0.0  # seconds the call waited: another trainer of this run, the queue

    @property
    def run_id(self) -> str:
        """The run store's id of this run (its config's)."""
        return self.config.run_id

    @property
    def uploaded(self) -> bool:
        """An uploaded model shown on the current dataset: not trained here, so no history."""
        return self.config.model is not None

    @property
    def label(self) -> str:
        """How pages name this run: run_label of the settings, or the uploaded model's shape."""
        if not self.uploaded:
            iterations = None if self.result is None else self.result.iterations
            return run_label(self.settings, iterations)
        c = self.config
        return f"uploaded model {c.model} · hidden {c.hidden} · {c.activation} · {c.dtype}"

    def outcome(self) -> str:
        """What a page says once this call has its result: the training time as the page's
        "Training time" counts it (the run's own, over all its iterations), and any waiting apart
        (another session's training of the same run, the training queue)."""
        r = self.result
        if self.trained_now:
            text = f"Trained {r.iterations:,} iterations in {r.elapsed:.1f} s"
            if self.latest is not None and 0 < self.latest.iterations < r.iterations:
                text += f" (continued from iteration {self.latest.iterations:,})"
        else:
            text = (
                f"{r.iterations:,} iterations, trained by another session meanwhile "
                f"(training took {r.elapsed:.1f} s)"
            )
        if self.waited >= 0.05:
            text += (
                f"; {self.waited:.1f} s of waiting first (another session training this run, or "
                "the training queue)"
            )
        return text + "."

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
        if settings.model is not None:
            return self._open_model(settings, ds, train, dev)
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

    # ---- uploaded models -----------------------------------------------------------------------
    def model(self, key: str) -> nnmath.Model:
        """The uploaded model ``key`` (upload-<digest>), read once per version of its file.
        Raises engine.models.UnknownModel (a ValueError) when this server does not have it."""
        folder = self.store.models_dir
        return self.cache.get(
            ("model", key, models.stamp(key, folder)), lambda: models.load(key, folder)
        )

    def keep_model(self, raw: bytes, *, max_bytes: int, max_hidden: int, name: str) -> str:
        """Check an uploaded model file (engine.models.check: ValueError saying what is wrong,
        and nothing is kept) and keep it; returns its ``model`` key."""
        model = models.check(raw, max_bytes=max_bytes, max_hidden=max_hidden, name=name)
        return models.save(model, self.store.models_dir)

    def _open_model(self, settings: Settings, ds, train, dev) -> Run:
        """The uploaded model as a finished run of 0 iterations on this dataset's split: its
        parameters, one snapshot, no history, and the metrics of one forward pass (computed by
        nnmath.continue_training with no updates, so exactly as training reports them)."""
        model = self.model(settings.model)
        p = model.params
        base = TrainConfig(hidden=p.hidden, dtype=str(p.dtype), activation=model.activation)
        config = RunConfig(**vars(base), data=ds.fingerprint, dev_size=dev.n, model=settings.model)

        def evaluate() -> TrainResult:
            from .store import training_arrays

            X, y, X_dev, y_dev = training_arrays(train, dev)
            start = TrainResult.start(base, p)
            done = nnmath.continue_training(start, X, y, iterations=0, X_dev=X_dev, y_dev=y_dev)
            return replace(done, message="uploaded model, not trained here")

        stamp = models.stamp(settings.model, self.store.models_dir)
        result = self.cache.get(("model-run", config.run_id, stamp), evaluate)
        return Run(settings, ds, train, dev, config, result)

    def train(
        self,
        run: Run,
        callback: Callable | None = None,
        *,
        callback_every: int = 10,
        slots=None,
        waiting: Callable | None = None,
        held: Callable | None = None,
    ) -> Run:
        """Train ``run`` to its settings' length (extending or resuming what the store has),
        calling ``callback(progress)`` as nnmath does; the store saves it, a stopped run too.
        ``slots``/``waiting``: the server's training queue; ``held``: called while another
        session trains the same run (see RunStore.train). The Run says whether this call trained
        (``trained_now``; False when another session's training answered it), how long it
        trained (``seconds``) and how long it waited (``waited``). An uploaded model is never
        trained (nor stored): ValueError."""
        if run.uploaded:
            raise ValueError(
                f"{run.config.model} is an uploaded model: it is shown as it is, never trained "
                "here (stop using it on the Data page to train a run)"
            )
        t0 = time.perf_counter()
        timing: dict = {}
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
            held=held,
            timing=timing,
        )
        waited = timing.get("waited", 0.0)
        return replace(
            run,
            result=result,
            trained_now=bool(timing.get("computed")),
            seconds=time.perf_counter() - t0 - waited,
            waited=waited,
        )

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

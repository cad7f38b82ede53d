"""Helpers shared by several test folders."""

from __future__ import annotations

import base64

import numpy as np

from data import Dataset


def decode(obj, *, nan_as_none: bool = False):
    """Plotly JSON with typed arrays ({"dtype", "bdata", "shape"}, as plotly 6+ writes numpy
    arrays) turned back into plain lists; NaN becomes None with ``nan_as_none``."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            if "shape" in obj:
                arr = arr.reshape([int(n) for n in str(obj["shape"]).split(",")])
            if nan_as_none and arr.dtype.kind == "f":
                return np.where(np.isnan(arr), None, arr).tolist()
            return arr.tolist()
        return {k: decode(v, nan_as_none=nan_as_none) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v, nan_as_none=nan_as_none) for v in obj]
    return obj


def tiny_dataset(n: int = 200, seed: int = 0) -> Dataset:
    """Learnable synthetic digits: class k lights up a 6x6 block at position k, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 4)
        images[i, 2 + 7 * r : 8 + 7 * r, 2 + 6 * c : 8 + 6 * c] = 255
    return Dataset(images, labels.astype(np.uint8), "tiny synthetic", "test:tiny")


def app_sample():
    """(train, dev, base) as the app has them for the embedded sample: its fixed split (seed 0)
    and the RunConfig of a run with default settings (vary it with dataclasses.replace)."""
    from data import load_dataset, train_dev_split
    from engine.config import RunConfig

    ds = load_dataset("sample")
    train, dev = train_dev_split(ds, seed=0)
    return train, dev, RunConfig(data=ds.fingerprint, dev_size=dev.n)


def app_sample_run(root, iterations: int):
    """(result, dev): app_sample's default-settings run, trained for ``iterations`` in a run store
    at ``root``. For module-scoped fixtures, which are made before conftest.py's per-test store:
    the default store (<repo>/.runs) may hold runs of other code."""
    from engine.store import RunStore

    train, dev, base = app_sample()
    return RunStore(root).train(base, iterations, train, dev), dev


def tick_time_limit(monkeypatch, step: float) -> None:
    """engine.slots.TimeLimit's clock moves ``step`` seconds each time it is read (the first
    read gives ``step``; 0: time stands still), so a test knows at which callback it stops."""
    from engine.slots import TimeLimit

    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    monkeypatch.setattr(TimeLimit, "_clock", staticmethod(clock))

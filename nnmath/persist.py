"""Saving a TrainResult as one .npz: arrays as arrays, everything else as JSON inside it.

Loading uses allow_pickle=False, so a file handed in by a user can hold data, never code.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np

from .network import Params
from .train import PARAM_NAMES, History, TrainConfig, TrainResult

FORMAT = "nnmath.TrainResult"
VERSION = 1
_SCALARS = (
    "iterations",
    "status",
    "diverged_at",
    "message",
    "loss",
    "train_accuracy",
    "dev_accuracy",
    "dev_loss",
    "n_train",
)


def save_result(result: TrainResult, path) -> None:
    """Write ``result`` to ``path`` (a filename or a binary file object) as .npz."""
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "config": vars(result.config),
        **{name: getattr(result, name) for name in _SCALARS},
    }
    arrays = {f"params/{k}": v for k, v in result.params.arrays().items()}
    arrays.update({f"history/{k}": v for k, v in result.history.arrays().items()})
    arrays.update({f"snapshots/{k}": v for k, v in result.snapshots.items()})
    arrays["snapshot_iterations"] = result.snapshot_iterations
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def load_result(path) -> TrainResult:
    """Read a file written by save_result. Any damage raises ValueError naming the file."""
    name = getattr(path, "name", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}, got {meta.get('format')!r}")
        if meta.get("version") != VERSION:
            raise ValueError(f"version must be {VERSION}, got {meta.get('version')!r}")
        result = TrainResult(
            config=TrainConfig(**meta["config"]),
            params=Params(*(arrays[f"params/{k}"] for k in PARAM_NAMES)),
            history=History(**{k: arrays[f"history/{k}"] for k in History.FIELDS}),
            snapshot_iterations=arrays["snapshot_iterations"],
            snapshots={k: arrays[f"snapshots/{k}"] for k in PARAM_NAMES},
            **{k: meta[k] for k in _SCALARS},
        )
        _check_consistent(result)
    except ValueError as error:
        raise ValueError(f"{name}: not a valid nnmath result file: {error}") from error
    except (
        OSError,
        KeyError,
        TypeError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as error:
        raise ValueError(
            f"{name}: not a readable nnmath result file ({type(error).__name__}: {error})"
        ) from error
    return result


def _check_consistent(r: TrainResult) -> None:
    h, n = r.config.hidden, r.iterations
    expected = {"W1": (784, h), "b1": (h,), "W2": (h, 10), "b2": (10,)}
    for k, shape in expected.items():
        if getattr(r.params, k).shape != shape:
            raise ValueError(
                f"params {k} must have shape {shape}, got {getattr(r.params, k).shape}"
            )
        k_snaps = len(r.snapshot_iterations)
        if r.snapshots[k].shape != (k_snaps, *shape):
            raise ValueError(
                f"snapshots {k} must have shape {(k_snaps, *shape)}, got {r.snapshots[k].shape}"
            )
    for k, v in r.history.arrays().items():
        if v.shape != (n,):
            raise ValueError(f"history {k} must have shape ({n},), got {v.shape}")
    if r.status not in ("finished", "diverged", "stopped", "partial"):
        raise ValueError(f"status must be finished, diverged, stopped or partial, got {r.status!r}")

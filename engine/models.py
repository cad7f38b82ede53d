"""Uploaded models: the ``model`` URL value -> an nnmath.Model kept under the run store.

A model file uploaded in the app (nnmath's layout or the notebook's, see nnmath.load_model) is
checked, then kept as ``models/<digest>.npz`` under the run store, rewritten by nnmath.save_model
in nnmath's layout with its original metadata, so it loads again with allow_pickle=False and its
permalink (``model=upload-<digest>``) works for every session of the same server, like an
uploaded dataset's (engine.datasets). ``digest``: 16 hex characters of the SHA-256 of the four
arrays (dtype, shape and bytes), so the same weights get the same name whatever file held them.

No Streamlit here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import uuid
from pathlib import Path

import numpy as np

import nnmath
from nnmath import Params

PREFIX = "upload-"
_DIGEST = re.compile(r"^[0-9a-f]{16}$")


class UnknownModel(ValueError):
    """The ``model`` value names nothing this server has."""


def digest(params: Params) -> str:
    """16 hex characters naming these weights (dtype, shape and values of W1, b1, W2, b2)."""
    h = hashlib.sha256()
    for name, array in params.arrays().items():  # W1, b1, W2, b2
        a = np.ascontiguousarray(array)
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def path(models_dir: Path, key: str) -> Path:
    return Path(models_dir) / f"{_digest_of(key)}.npz"


def check(raw: bytes, *, max_bytes: int, max_hidden: int, name: str = "model") -> nnmath.Model:
    """The model in ``raw`` (the bytes of an uploaded file), or ValueError saying what is wrong,
    in this order: its size (at most ``max_bytes``), nnmath.load_model's checks (pickle, zip
    bomb, missing arrays, shapes, NaN; its message as it is), then ``hidden`` at most
    ``max_hidden`` (the server's limit for runs)."""
    if len(raw) > max_bytes:
        raise ValueError(
            f"{name} is {len(raw) / 1024 / 1024:.1f} MB; the limit on this server is "
            f"{max_bytes / 1024 / 1024:g} MB (NNMATH_MAX_UPLOAD_MB)"
        )
    buffer = io.BytesIO(raw)
    buffer.name = name
    model = nnmath.load_model(buffer, max_bytes=max_bytes)
    if model.params.hidden > max_hidden:
        raise ValueError(
            f"{name}: hidden must be at most {max_hidden} on this server (NNMATH_MAX_HIDDEN), "
            f"got {model.params.hidden} hidden units (W1 has shape "
            f"{tuple(model.params.W1.shape)} in nnmath's layout)"
        )
    return model


def save(model: nnmath.Model, models_dir: Path) -> str:
    """Keep ``model`` (checked by :func:`check`) and return its ``model`` key, upload-<digest>."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    fp = digest(model.params)
    target = models_dir / f"{fp}.npz"
    if not target.exists():
        # Unique per writer: sessions are threads of one process, so two of them saving the
        # same upload at once must not share a temporary name (one would rename the other's).
        tmp = target.with_name(f".{fp}.{uuid.uuid4().hex}.tmp.npz")
        meta = dict(model.meta)
        meta.setdefault("uploaded_layout", model.layout)
        save_meta = {k: v for k, v in meta.items() if k not in _WRITTEN_BY_SAVE}
        save_meta["original"] = {k: meta[k] for k in _WRITTEN_BY_SAVE if k in meta}
        try:
            nnmath.save_model(tmp, model.params, save_meta)
            os.replace(tmp, target)  # atomic: readers see the whole file or none
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return PREFIX + fp


# save_model writes these itself; the uploaded file's own values are kept under "original".
_WRITTEN_BY_SAVE = (
    "format",
    "version",
    "nnmath_version",
    "numerics_version",
    "hidden",
    "dtype",
    "created",
)


def stamp(key: str, models_dir: Path) -> float:
    """Modification time of the kept file (-1 when absent): part of cache keys."""
    try:
        return path(models_dir, key).stat().st_mtime
    except (OSError, UnknownModel):
        return -1.0


def load(key: str, models_dir: Path) -> nnmath.Model:
    """The model named by ``key`` (upload-<digest>). Raises UnknownModel with a clear message."""
    p = path(models_dir, key)
    if not p.exists():
        raise UnknownModel(
            f"uploaded model {key} is not on this server any more (uploads are kept with the "
            "run cache): upload the file again on the Data page"
        )
    try:
        model = nnmath.load_model(p)
    except ValueError as e:
        raise UnknownModel(f"uploaded model {key} is damaged ({e}): upload it again") from e
    os.utime(p)  # recently used: evicted last
    if digest(model.params) != _digest_of(key):
        raise UnknownModel(f"uploaded model {key} is damaged: upload the file again")
    return model


def _digest_of(key: str) -> str:
    fp = key[len(PREFIX) :] if key.startswith(PREFIX) else ""
    if not _DIGEST.match(fp):
        raise UnknownModel(
            f"model={key!r} is not an uploaded model's name (upload-<16 hex digits>)"
        )
    return fp

"""The ``data`` URL value -> a data.Dataset (no Streamlit here; the page layer caches the result).

Keys:
- ``"sample"``: the embedded 5,000-digit MNIST sample;
- a file name under data/downloads (relative path, as listed by ``data.list_local_files()``);
- ``"upload-<fingerprint>"``: a dataset uploaded in the app, kept as a compact npz under the run
  store's ``uploads/`` folder, so its permalink works for every session of the same server.

Only names that :func:`local_files` lists are opened: a URL can never name an arbitrary path.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

import numpy as np

SAMPLE = "sample"
UPLOAD_PREFIX = "upload-"
_FP = re.compile(r"^[0-9a-f]{16}$")


class UnknownDataset(ValueError):
    """The ``data`` value names nothing this server has."""


def download_dir() -> Path:
    import data

    return Path(data.DOWNLOAD_DIR)


def local_files() -> dict[str, Path]:
    """{key: path} of the loadable files under data/downloads (key = path relative to it)."""
    import data

    root = download_dir()
    out = {}
    for p in data.list_local_files():
        p = Path(p)
        try:
            key = p.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            key = p.name
        out[key] = p
    return out


def upload_path(uploads_dir: Path, fp: str) -> Path:
    return Path(uploads_dir) / f"{fp}.npz"


def save_upload(dataset, uploads_dir: Path) -> str:
    """Keep an uploaded dataset (compressed npz, no pickles) and return its ``data`` key.
    A dataset too small to split (data.check_usable) is refused with a DataError and not kept.
    The temporary file is unique per writer (sessions are threads of one process), so two
    sessions saving the same upload at once both succeed."""
    from data.dataset import check_usable

    check_usable(dataset)
    uploads_dir = Path(uploads_dir)
    uploads_dir.mkdir(parents=True, exist_ok=True)
    path = upload_path(uploads_dir, dataset.fingerprint)
    if not path.exists():
        tmp = path.with_name(f".{dataset.fingerprint}.{uuid.uuid4().hex}.tmp.npz")
        arrays = {"images": np.asarray(dataset.images), "name": np.array(dataset.name)}
        if dataset.labels is not None:
            arrays["labels"] = np.asarray(dataset.labels)
        try:
            np.savez_compressed(tmp, **arrays)
            os.replace(tmp, path)  # atomic: readers see the whole file or none
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return UPLOAD_PREFIX + dataset.fingerprint


def _load_upload(uploads_dir: Path, fp: str):
    from data import Dataset

    path = upload_path(uploads_dir, fp)
    if not path.exists():
        raise UnknownDataset(
            f"uploaded dataset {fp} is not on this server any more "
            "(uploads are kept with the run cache): upload the file again"
        )
    with np.load(path, allow_pickle=False) as z:
        images = z["images"]
        labels = z["labels"] if "labels" in z.files else None
        name = str(z["name"]) if "name" in z.files else f"upload {fp}"
    os.utime(path)  # recently used: evicted last
    ds = Dataset(images, labels, name, f"upload:{name}")
    if ds.fingerprint != fp:
        raise UnknownDataset(f"uploaded dataset {fp} is damaged: upload the file again")
    return ds


def stamp(key: str, uploads_dir: Path) -> float:
    """Modification time of what ``key`` reads (0 for the sample): part of the cache key, so a
    replaced file is read again."""
    try:
        if key == SAMPLE:
            return 0.0
        if key.startswith(UPLOAD_PREFIX):
            return upload_path(uploads_dir, key[len(UPLOAD_PREFIX) :]).stat().st_mtime
        path = local_files().get(key)
        return path.stat().st_mtime if path is not None else -1.0
    except OSError:
        return -1.0


def load(key: str, uploads_dir: Path):
    """The Dataset named by ``key``. Raises UnknownDataset or data.DataError with a clear message
    (also for a stored dataset too small to split: data.check_usable)."""
    import data
    from data.dataset import check_usable

    if key == SAMPLE:
        return data.load_dataset("sample")
    if key.startswith(UPLOAD_PREFIX):
        fp = key[len(UPLOAD_PREFIX) :]
        if not _FP.match(fp):
            raise UnknownDataset(f"{key!r} is not a valid upload name")
        return check_usable(_load_upload(uploads_dir, fp))
    path = local_files().get(key)
    if path is None:
        raise UnknownDataset(f"no dataset called {key!r} on this server: pick one on the Data page")
    # A file under data/downloads (e.g. a Kaggle download a visitor asked for): the server's
    # unpacked-size and image limits, from the environment (engine.limits).
    from .limits import Limits

    lim = Limits.read()[0]
    try:
        ds = data.load_dataset(path, max_unpacked=lim.max_unpacked_bytes, max_images=lim.max_images)
    except data.DataError as e:  # name the file as the page does, never the server's path
        root = download_dir()
        text = str(e)
        for where in {str(root.resolve()), str(root)}:
            text = text.replace(where, "data/downloads")
        raise data.DataError(text) from None
    return check_usable(ds)

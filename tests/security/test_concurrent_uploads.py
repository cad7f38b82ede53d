"""Issue 27, item 9: two users uploading the same file at once got FileNotFoundError on a shared
temporary file name, with the server's path in the message (models: 9 of 20 concurrent saves
failed). Streamlit sessions are threads of one process, so a temporary name made of the pid is
shared; now each writer has its own."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import data
import nnmath
from engine import datasets, models

WRITERS = 20


def all_at_once(fn, n=WRITERS) -> list:
    """``fn()`` in ``n`` threads released together by a barrier; results or exceptions."""
    barrier = threading.Barrier(n)

    def run():
        barrier.wait()
        try:
            return fn()
        except Exception as e:  # collected: the test shows every failure
            return e

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: run(), range(n)))


def test_the_same_dataset_uploaded_by_many_at_once(tmp_path):
    rng = np.random.default_rng(0)
    ds = data.Dataset(
        rng.integers(0, 256, (2000, 28, 28), dtype=np.uint8),  # big enough to take a while
        rng.integers(0, 10, 2000).astype(np.uint8),
        "same.csv",
        "upload:same.csv",
    )
    for round_ in range(3):
        folder = tmp_path / f"uploads{round_}"
        keys = all_at_once(lambda folder=folder: datasets.save_upload(ds, folder))
        assert keys == [datasets.UPLOAD_PREFIX + ds.fingerprint] * WRITERS, [
            k for k in keys if isinstance(k, Exception)
        ]
        assert datasets.load(keys[0], folder) == ds
        assert [p.name for p in folder.iterdir()] == [f"{ds.fingerprint}.npz"]  # no temp left


def test_the_same_model_uploaded_by_many_at_once(tmp_path):
    params = nnmath.init_params(64, seed=0)
    model = models.check(
        _model_bytes(params, tmp_path), max_bytes=10**8, max_hidden=256, name="m.npz"
    )
    for round_ in range(3):
        folder = tmp_path / f"models{round_}"
        keys = all_at_once(lambda folder=folder: models.save(model, folder))
        expected = models.PREFIX + models.digest(model.params)
        errors = [k for k in keys if isinstance(k, Exception)]
        assert keys == [expected] * WRITERS, errors
        assert not any(str(tmp_path) in str(e) for e in errors)
        np.testing.assert_array_equal(models.load(expected, folder).params.W1, params.W1)
        assert len(list(folder.iterdir())) == 1  # no temp left


def _model_bytes(params, tmp_path) -> bytes:
    path = tmp_path / "m.npz"
    nnmath.save_model(path, params, {})
    return path.read_bytes()

"""Issue 27, item 7: an uploaded dataset of 1-2 images gave an unclear "memoryview" error, was
kept anyway, and its link then raised TypeError on nine pages for anyone. Now a dataset too small
to split into training and dev images is refused before it is stored, and a link to one that is
already on disk (from before) gives a clear message on every page."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import data
from data.dataset import MIN_IMAGES
from engine import datasets
from engine.store import RunStore
from ui.navigation import PAGES

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
HEADER = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"


def csv_of(n: int) -> bytes:
    rows = "".join(f"{i % 10}," + ",".join(["0"] * 784) + "\n" for i in range(n))
    return (HEADER + rows).encode()


@pytest.mark.parametrize("n", [1, 2, MIN_IMAGES - 1])
def test_a_dataset_too_small_to_split_is_refused_and_not_kept(n):
    from ui import session

    raw = csv_of(n)
    upload = types.SimpleNamespace(name="tiny.csv", size=len(raw), getvalue=lambda: raw)
    with pytest.raises(data.DataError) as refused:
        session.keep_upload(upload)
    assert str(refused.value) == (
        f"tiny.csv ({n:,} images) has {n} image{'' if n == 1 else 's'}: a dataset needs at "
        f"least {MIN_IMAGES} to be split into training and dev images"
    )
    uploads = RunStore().uploads_dir
    assert not uploads.exists() or not any(uploads.iterdir())


def test_the_smallest_dataset_allowed_is_kept():
    from ui import session

    raw = csv_of(MIN_IMAGES)
    upload = types.SimpleNamespace(name="ten.csv", size=len(raw), getvalue=lambda: raw)
    key = session.keep_upload(upload)
    ds, train, dev = datasets.load(key, RunStore().uploads_dir), None, None
    train, dev = data.train_dev_split(ds, seed=0)
    assert (train.n, dev.n) == (MIN_IMAGES - 2, 2)


@pytest.fixture
def stored_two_images():
    """A 2-image upload already on disk, saved before the check existed."""
    images = np.zeros((2, 28, 28), np.uint8)
    labels = np.array([3, 7], np.uint8)
    fp = data.fingerprint(images, labels)
    uploads = RunStore().uploads_dir
    uploads.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        datasets.upload_path(uploads, fp), images=images, labels=labels, name=np.array("two.csv")
    )
    return f"{datasets.UPLOAD_PREFIX}{fp}"


@pytest.mark.parametrize("page", [p.source for p in PAGES])
def test_a_link_to_a_stored_tiny_dataset_breaks_no_page(stored_two_images, page):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["data"] = stored_two_images
    if page != "home":
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error)
    if "two.csv" in shown or "at least" in shown:
        assert f"needs at least {MIN_IMAGES}" in shown

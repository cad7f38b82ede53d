"""The `data` URL value: sample, files under data/downloads, kept uploads; nothing else opens."""

from __future__ import annotations

import numpy as np
import pytest

import data
from engine import datasets


def test_sample():
    ds = datasets.load("sample", "/nonexistent")
    assert ds.n == 5000 and ds.has_labels


def test_an_upload_is_kept_and_reopened_by_its_key(tmp_path):
    rng = np.random.default_rng(0)
    ds = data.Dataset(
        rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 30).astype(np.uint8),
        "mine.csv",
        "upload:mine.csv",
    )
    key = datasets.save_upload(ds, tmp_path)
    assert key == "upload-" + ds.fingerprint
    back = datasets.load(key, tmp_path)
    assert back.fingerprint == ds.fingerprint and back.name == "mine.csv"
    np.testing.assert_array_equal(back.images, ds.images)
    assert not back.images.flags.writeable
    # npz without pickles
    with np.load(tmp_path / f"{ds.fingerprint}.npz", allow_pickle=False) as z:
        assert set(z.files) == {"images", "labels", "name"}
    unlabelled = data.Dataset(ds.images[:12], None, "test.csv", "upload:test.csv")
    assert datasets.load(datasets.save_upload(unlabelled, tmp_path), tmp_path).labels is None


@pytest.mark.parametrize(
    "key",
    ["upload-0123456789abcdef", "upload-../../etc", "../etc/passwd", "/etc/passwd", "nothing.csv"],
)
def test_unknown_keys_are_refused_with_a_message(tmp_path, key):
    with pytest.raises(datasets.UnknownDataset):
        datasets.load(key, tmp_path)


def test_a_damaged_upload_is_refused(tmp_path):
    ds = data.Dataset(np.zeros((12, 28, 28), np.uint8), np.zeros(12, np.uint8), "x", "upload:x")
    key = datasets.save_upload(ds, tmp_path)
    np.savez_compressed(
        tmp_path / f"{ds.fingerprint}.npz",
        images=np.ones((12, 28, 28), np.uint8),
        labels=np.zeros(12, np.uint8),
        name=np.array("x"),
    )
    with pytest.raises(datasets.UnknownDataset, match="damaged"):
        datasets.load(key, tmp_path)


def test_files_under_downloads_are_opened_by_relative_name(tmp_path, monkeypatch):
    folder = tmp_path / "downloads" / "kaggle"
    folder.mkdir(parents=True)
    csv = folder / "train.csv"
    rows = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    rows += [f"{d}," + ",".join(["0"] * 784) for d in range(10)]
    csv.write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(data, "DOWNLOAD_DIR", tmp_path / "downloads")
    monkeypatch.setattr(data, "list_local_files", lambda root=None: [csv])
    assert list(datasets.local_files()) == ["kaggle/train.csv"]
    ds = datasets.load("kaggle/train.csv", tmp_path)
    assert ds.n == 10 and list(ds.labels) == list(range(10))


def test_a_file_under_downloads_is_named_without_the_servers_path(tmp_path, monkeypatch):
    folder = tmp_path / "downloads"
    folder.mkdir()
    gone = folder / "gone.csv"  # listed, then removed before it is read
    monkeypatch.setattr(data, "DOWNLOAD_DIR", folder)
    monkeypatch.setattr(data, "list_local_files", lambda root=None: [gone])
    with pytest.raises(data.DataError) as refused:
        datasets.load("gone.csv", tmp_path)
    assert str(refused.value) == "data/downloads/gone.csv: no such file or folder"

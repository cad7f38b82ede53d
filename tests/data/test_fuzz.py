"""Property: whatever bytes or CSV-like text arrive, the loaders end in a Dataset or a DataError,
never another exception."""

import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data import DataError, Dataset, load_dataset
from tests.data.helpers import csv_text, digits, gz, idx_bytes

NAMES = st.sampled_from(
    [
        "train.csv",
        "test.csv",
        "x.csv.gz",
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte.gz",
        "mnist.npz",
        "d.zip",
        "weird.bin",
    ]
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def loads_or_explains(raw: bytes, name: str):
    try:
        ds = load_dataset(raw, name=name, max_bytes=1 << 20)
    except DataError as e:
        assert str(e)
        return None
    assert isinstance(ds, Dataset) and ds.images.dtype == np.uint8
    return ds


@FUZZ
@given(raw=st.binary(max_size=2000), name=NAMES)
def test_arbitrary_bytes(raw, name):
    loads_or_explains(raw, name)


# One valid row plus mutations, so the generator reaches the deep checks, not only line 1.
IMAGES, LABELS = digits(3)
ROW = csv_text(IMAGES[:1], LABELS[:1], header=False).strip()
CELL = st.one_of(
    st.integers(-5, 300).map(str),
    st.sampled_from(["", "nan", "x", "1.5", "1e9", " 7 ", '"3"', "inf", "-0"]),
)


@st.composite
def csv_like(draw):
    rows = []
    if draw(st.booleans()):
        rows.append(
            draw(
                st.sampled_from(
                    [
                        "label," + ",".join(f"pixel{i}" for i in range(784)),
                        ",".join(f"pixel{i}" for i in range(784)),
                        "a,b,c",
                    ]
                )
            )
        )
    for _ in range(draw(st.integers(0, 4))):
        cells = ROW.split(",")
        if draw(st.booleans()):
            cells = cells[: draw(st.integers(0, 786))] + draw(st.lists(CELL, max_size=3))
        for _ in range(draw(st.integers(0, 3)) if cells else 0):
            cells[draw(st.integers(0, len(cells) - 1))] = draw(CELL)
        rows.append(",".join(cells))
    sep = draw(st.sampled_from(["\n", "\r\n", "\n\n"]))
    return sep.join(rows) + draw(st.sampled_from(["", "\n"]))


@FUZZ
@given(text=csv_like(), gzipped=st.booleans())
def test_csv_like_text(text, gzipped):
    raw = text.encode()
    loads_or_explains(gz(raw) if gzipped else raw, "train.csv.gz" if gzipped else "train.csv")


@FUZZ
@given(cut=st.integers(0, 400), flip=st.integers(0, 399), byte=st.integers(0, 255))
def test_damaged_archives_and_idx(cut, flip, byte):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("train-images-idx3-ubyte", idx_bytes(IMAGES))
        z.writestr("train-labels-idx1-ubyte", idx_bytes(LABELS))
    for raw, name in (
        (buf.getvalue(), "d.zip"),
        (idx_bytes(IMAGES), "train-images-idx3-ubyte"),
        (gz(idx_bytes(LABELS)), "x-labels-idx1-ubyte.gz"),
    ):
        damaged = bytearray(raw)
        damaged[flip % len(damaged)] = byte
        loads_or_explains(bytes(damaged), name)
        loads_or_explains(raw[: len(raw) - cut], name)

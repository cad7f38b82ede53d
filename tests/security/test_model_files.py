"""Issue 27, item 8: every model file load_model cannot use is a clear refusal (ValueError naming
what is wrong), never a TypeError, RecursionError or a 584 GiB allocation: the .npy headers are
checked against what a model can be before numpy reads an array."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import nnmath
from engine.models import check as check_upload  # the upload glue's own checks


def model_bytes(params=None, meta=None) -> bytes:
    buf = io.BytesIO()
    nnmath.save_model(buf, params or nnmath.init_params(10, seed=0), meta)
    return buf.getvalue()


def with_member(raw: bytes, name: str, data: bytes) -> bytes:
    """``raw`` (an .npz) with member ``name`` replaced by ``data``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
        dst.writestr(name, data)
    return out.getvalue()


def npy_header(shape, descr="<f4", version=(1, 0)) -> bytes:
    """A .npy header declaring ``shape`` (the data after it is whatever the caller appends)."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    pad = 64 - (10 + len(header) + 1) % 64
    text = (header + " " * pad + "\n").encode("latin1")
    magic = b"\x93NUMPY" + bytes(version)
    return (
        magic
        + (struct.pack("<H", len(text)) if version == (1, 0) else struct.pack("<I", len(text)))
        + text
    )


def meta_npy(text: str) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array(text))
    return buf.getvalue()


GOOD = model_bytes()

CASES = {
    "activation a list": (None, "meta activation must be one of"),  # built below
    "JSON nested 100,000 deep": (
        with_member(GOOD, "meta.npy", meta_npy("[" * 100_000 + "]" * 100_000)),
        "nested too deep",
    ),
    "W1 header (784, 1e8)": (
        with_member(GOOD, "W1.npy", npy_header((784, 100_000_000)) + b"\0" * 64),
        "array W1 declares shape (784, 100000000), more than a model of at most 10,000",
    ),
    "W1 header (2**62,) in a v2 header": (
        with_member(GOOD, "W1.npy", npy_header((2**62,), version=(2, 0)) + b"\0" * 64),
        "array W1 declares shape",
    ),
    "b1 header bigger than its data": (
        with_member(GOOD, "b1.npy", npy_header((10,)) + b"\0" * 8),
        "array b1 declares 40 bytes of data but holds",
    ),
    "int64 weights": (
        with_member(GOOD, "W2.npy", npy_header((10, 10), "<i8") + b"\0" * 800),
        "array W2 must be float32 or float64, got dtype int64",
    ),
    "complex weights": (
        with_member(GOOD, "b2.npy", npy_header((10,), "<c16") + b"\0" * 160),
        "must be float32 or float64",
    ),
    "object array": (
        with_member(GOOD, "b2.npy", npy_header((10,), "|O") + b"\0" * 80),
        "holds Python objects",
    ),
    "header that is not a dict": (
        with_member(GOOD, "W1.npy", b"\x93NUMPY\x01\x00\x10\x00" + b"[1,2,3]        \n"),
        "not a",
    ),
    "meta that is not text": (
        with_member(GOOD, "meta.npy", npy_header((3,), "<f8") + b"\0" * 24),
        "array meta must be one JSON text",
    ),
    "truncated zip": (GOOD[: len(GOOD) // 2], "not a"),
    "zip with a damaged deflate stream": (None, "not a"),  # built below
    "empty file": (b"", "expected an .npz file"),
}


def _activation_list() -> bytes:
    buf = io.BytesIO()
    params = nnmath.init_params(10, seed=0)
    np.savez(buf, meta=np.array('{"activation": ["relu"]}'), **params.arrays())
    return buf.getvalue()


def _bad_deflate() -> bytes:
    """GOOD recompressed with deflate, then bytes flipped inside W1's stream (zlib.error)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(GOOD)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z,
    ):
        for name in src.namelist():
            z.writestr(name, src.read(name))
    raw = bytearray(out.getvalue())
    start = raw.index(b"W1.npy") + len(b"W1.npy")
    for i in range(start + 40, start + 400):
        raw[i] ^= 0x5A
    return bytes(raw)


CASES["activation a list"] = (_activation_list(), "meta activation must be one of")
CASES["zip with a damaged deflate stream"] = (_bad_deflate(), "not a")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_model_file_is_a_clear_refusal(case):
    raw, message = CASES[case]
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as error:
            nnmath.load_model(io.BytesIO(raw))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message in str(error.value), str(error.value)
    assert "model file" in str(error.value)
    assert peak < 64 * 1024 * 1024  # nothing allocated from a forged header


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_upload_glue_refuses_them_too(case):
    raw, _ = CASES[case]
    with pytest.raises(ValueError):
        check_upload(raw, max_bytes=64 * 1024 * 1024, max_hidden=256, name="m.npz")


def test_a_good_model_still_loads():
    model = nnmath.load_model(io.BytesIO(GOOD))
    assert model.params.hidden == 10 and model.activation == "relu"

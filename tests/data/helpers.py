"""Small MNIST-shaped files written by the tests themselves."""

import gzip
import io
import struct

import numpy as np

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))
TEST_HEADER = ",".join(f"pixel{i}" for i in range(784))


def digits(n=20, seed=0):
    """(images (n, 28, 28) uint8 with an empty border like MNIST, labels 0..9 cycling)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 4:24, 4:24] = rng.integers(0, 256, size=(n, 20, 20), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def csv_text(images, labels=None, *, header=True, label_last=False, names=None):
    rows = []
    if header:
        rows.append(names or (HEADER if labels is not None else TEST_HEADER))
    for i, image in enumerate(images.reshape(len(images), -1)):
        pixels = ",".join(map(str, image.tolist()))
        if labels is None:
            rows.append(pixels)
        elif label_last:
            rows.append(f"{pixels},{labels[i]}")
        else:
            rows.append(f"{labels[i]},{pixels}")
    return "\n".join(rows) + "\n"


def idx_bytes(array, magic_type=0x08):
    ndim = array.ndim
    head = bytes([0, 0, magic_type, ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def gz(raw: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(raw)
    return buf.getvalue()

"""Readers for the binary formats: gzip, IDX (LeCun's MNIST files), .npz (Keras' mnist.npz) and
.zip archives; plus the rule that picks the MNIST file(s) out of a folder or an archive.

Everything here works on bytes and names, so a local file, a browser upload, a zip member and a
Kaggle download all go through the same checks and give the same messages.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from .dataset import CLASSES, SIDE
from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CACHE_SUFFIX = ".nnmath.npz"  # our compact cache files; never offered as data


def human_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{n:,} bytes"
            return f"{n:.0f} {unit}" if float(n).is_integer() else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- gzip


CHUNK = 1 << 20  # bytes decompressed at a time while measuring


def measure(stream, what: str, limit: int, max_rows: int | None = None) -> None:
    """Read ``stream`` (a file-like unpacking something) to its end in chunks, keeping nothing:
    DataError as soon as it unpacks to more than ``limit`` bytes or, for text (no NUL byte in
    its first 64 KB: a CSV, not IDX or .npz), holds more than ``max_rows`` + 1 lines (a header
    and ``max_rows`` images). A refused bomb costs one chunk of memory, whatever it unpacks to."""
    total = lines = 0
    text = None
    while chunk := stream.read(CHUNK):
        if text is None:
            text = max_rows is not None and b"\x00" not in chunk[:65536]
        total += len(chunk)
        if total > limit:
            raise DataError(
                f"{what} unpacks to more than {human_bytes(limit)}, the limit; expected an "
                f"MNIST file (the largest, the 60,000-image train CSV, is ~110 MB)"
            )
        if text:
            lines += chunk.count(b"\n")
            if lines > max_rows + 1:
                raise DataError(too_many_rows(what, max_rows))


def too_many_rows(what: str, max_rows: int) -> str:
    return (
        f"{what} has more than {max_rows:,} rows of digits; the limit is {max_rows:,} images "
        f"per dataset"
    )


def gunzip(raw: bytes, filename: str, limit: int, max_rows: int | None = None) -> bytes:
    """Decompressed bytes, refusing damaged/truncated files and anything over ``limit`` bytes
    or (text) ``max_rows`` rows: measured first while streaming (:func:`measure`), so a refusal
    never holds the unpacked file; only a file within the limits is unpacked into memory."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            measure(f, filename, limit, max_rows)
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            out = f.read(limit + 1)
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(
            f"{filename} is a damaged or truncated gzip file ({_reason(e)}); download it again"
        ) from None
    if len(out) > limit:  # (measured above; kept as the invariant)
        raise DataError(f"{filename} unpacks to more than {human_bytes(limit)}, the limit")
    return out


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text[:200]


def strip_gz(name: str) -> str:
    return name[:-3] if name.lower().endswith(".gz") else name


# ---------------------------------------------------------------- IDX


def looks_like_idx(name: str, raw: bytes) -> bool:
    lower = name.lower()
    if "idx1" in lower or "idx3" in lower or "ubyte" in lower:
        return True
    return len(raw) >= 4 and raw[:2] == b"\0\0" and raw[2] in IDX_TYPES and raw[3] in (1, 3)


def idx_role(name: str) -> str | None:
    """ "images", "labels" or None, from the file name."""
    lower = PurePosixPath(name).name.lower()
    if "idx3" in lower or "images" in lower:
        return "images"
    if "idx1" in lower or "labels" in lower:
        return "labels"
    return None


def parse_idx(raw: bytes, filename: str, expect_ndim: int) -> np.ndarray:
    """Array from an IDX file: magic 0x0000 <type> <ndim>, ndim big-endian uint32 sizes, data."""
    what = "images (magic 0x00000803)" if expect_ndim == 3 else "labels (magic 0x00000801)"
    if len(raw) < 4:
        raise DataError(f"{filename}: expected an IDX file of {what}, found only {len(raw)} bytes")
    magic = int.from_bytes(raw[:4], "big")
    if raw[:2] != b"\0\0" or raw[2] not in IDX_TYPES or raw[3] != expect_ndim:
        hint = ""
        if raw[:2] == b"\0\0" and raw[2] in IDX_TYPES and raw[3] in (1, 3):
            hint = " (is this the images file given as labels, or the other way round?)"
        elif raw[:2] == GZIP_MAGIC:
            hint = " (the file is gzipped but damaged)"
        raise DataError(
            f"{filename}: expected an IDX file of {what}, found magic number 0x{magic:08X}{hint}"
        )
    header = 4 + 4 * expect_ndim
    if len(raw) < header:
        raise DataError(
            f"{filename}: IDX header is cut short: expected {header} bytes, found {len(raw)}"
        )
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(expect_ndim)]
    if expect_ndim == 3 and tuple(dims[1:]) != (SIDE, SIDE):
        raise DataError(f"{filename}: expected 28×28 images, found {dims[1]}×{dims[2]}")
    dtype = np.dtype(IDX_TYPES[raw[2]])
    count = dims[0]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{filename}: the header says {count:,} "
            f"{'images' if expect_ndim == 3 else 'labels'}, which needs "
            f"{expected:,} bytes, but the file has {len(raw):,} bytes "
            f"({'truncated' if len(raw) < expected else 'extra data at the end'})"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return values


def idx_count(raw: bytes) -> int | None:
    """The item count in an IDX header (its first dimension), or None when there is none."""
    if len(raw) < 8 or raw[:2] != b"\0\0":
        return None
    return int.from_bytes(raw[4:8], "big")


def idx_pixels(values: np.ndarray, filename: str) -> np.ndarray:
    if values.dtype != np.uint8:
        _check_range(values, 0, 255, filename, "pixel values must be 0–255")
    return values.astype(np.uint8)


def idx_labels(values: np.ndarray, filename: str) -> np.ndarray:
    _check_range(values, 0, CLASSES - 1, filename, "labels must be 0–9")
    return values.astype(np.uint8)


def _check_range(values, low, high, filename, rule, position=lambda i: f"at index {i}"):
    if values.dtype == np.uint8 and low == 0 and high >= 255:
        return
    flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values[:, None]
    with np.errstate(invalid="ignore"):
        bad = ~((flat >= low) & (flat <= high) & (flat == np.floor(flat)))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        v = flat[i, j]
        shown = int(v) if float(v).is_integer() else f"{float(v):g}"
        raise DataError(f"{filename}: {rule}, found {shown} {position(i)}")


IDX_PAIRS = (
    ("images-idx3-ubyte", "labels-idx1-ubyte"),
    ("images.idx3-ubyte", "labels.idx1-ubyte"),
    ("images_idx3_ubyte", "labels_idx1_ubyte"),
    ("images-idx3", "labels-idx1"),
    ("images.idx3", "labels.idx1"),
    ("idx3", "idx1"),
    ("images", "labels"),
)


def idx_partner_candidates(name: str) -> list[str]:
    """Base names the partner of an IDX file may have (case-insensitive), gzipped or not."""
    base = PurePosixPath(name).name
    lower = base.lower()
    role = idx_role(base)
    out = []
    for images, labels in IDX_PAIRS:
        src, dst = (images, labels) if role == "images" else (labels, images)
        if src in lower:
            i = lower.index(src)
            stem = lower[:i] + dst + lower[i + len(src) :]
            plain = strip_gz(stem)
            out += [plain, plain + ".gz"]
            break
    return out


def find_partner(name: str, available: list[str]) -> str | None:
    """The member of ``available`` (paths) that pairs with IDX file ``name``: same folder first."""
    wanted = idx_partner_candidates(name)
    if not wanted:
        return None
    folder = str(PurePosixPath(name).parent)
    matches = [a for a in available if PurePosixPath(a).name.lower() in wanted and a != name]
    matches.sort(key=lambda a: (str(PurePosixPath(a).parent) != folder, a))
    return matches[0] if matches else None


# ---------------------------------------------------------------- npz

NPZ_KEYS = {  # part -> (images key, labels key) tried in order
    "train": (("x_train", "y_train"), ("images", "labels"), ("X", "y"), ("x", "y")),
    "test": (("x_test", "y_test"),),
}


def parse_npz(raw: bytes, filename: str, part: str, max_images: int | None = None):
    """(images (n, 28, 28) uint8, labels or None, key used) from an .npz, never unpickling;
    with ``max_images``, more images than that are refused from the .npy header, before the
    array is read."""
    shapes = npy_shapes(raw, filename)
    try:
        z = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as e:
        raise DataError(f"{filename} is not a readable .npz file ({_reason(e)})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DataError(f"{filename}: expected an .npz archive of arrays, found a single array")
    with z:
        keys = list(z.files)
        for images_key, labels_key in NPZ_KEYS.get(part, ()):  # noqa: B007 (used after break)
            if images_key in keys:
                break
        else:
            expected = " or ".join(f"'{i}'" for i, _ in NPZ_KEYS.get(part, ()))
            raise DataError(
                f"{filename}: expected an array {expected} for part='{part}' "
                f"(Keras mnist.npz has x_train, y_train, x_test, y_test), found "
                f"{', '.join(repr(k) for k in keys) or 'no arrays'}"
            )
        shape = shapes.get(images_key, ())
        if max_images is not None and len(shape) >= 1 and shape[0] > max_images:
            raise DataError(
                f"{filename}: '{images_key}' holds {shape[0]:,} images; the limit is "
                f"{max_images:,} images per dataset"
            )
        images = _npz_array(z, images_key, filename)
        labels = _npz_array(z, labels_key, filename) if labels_key in keys else None
    if images.ndim == 2 and images.shape[1] == SIDE * SIDE:
        images = images.reshape(-1, SIDE, SIDE)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise DataError(
            f"{filename}: '{images_key}' should have shape (n, 28, 28) or (n, 784), "
            f"found {images.shape}"
        )
    if images.shape[0] == 0:
        raise DataError(f"{filename}: '{images_key}' has no images")
    if images.dtype.kind not in "uifb":
        raise DataError(
            f"{filename}: '{images_key}' should hold numbers, found dtype {images.dtype}"
        )
    _check_range(
        images,
        0,
        255,
        filename,
        f"pixel values in '{images_key}' must be 0–255",
        lambda i: f"in image {i}",
    )
    if labels is not None:
        labels = labels.reshape(-1) if labels.ndim == 2 and labels.shape[1] == 1 else labels
        if labels.shape != (images.shape[0],):
            raise DataError(
                f"{filename}: '{labels_key}' should have one label per image, "
                f"expected shape ({images.shape[0]},), found {labels.shape}"
            )
        if labels.dtype.kind not in "uifb":
            raise DataError(
                f"{filename}: '{labels_key}' should hold numbers, found dtype {labels.dtype}"
            )
        _check_range(labels, 0, CLASSES - 1, filename, f"labels in '{labels_key}' must be 0–9")
        labels = labels.astype(np.uint8)
    return images.astype(np.uint8), labels, images_key


def _npz_array(z, key, filename):
    try:
        return z[key]
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DataError(
                f"{filename}: '{key}' holds Python objects, which would need pickle "
                f"to load; refused (only plain numeric arrays are loaded, "
                f"allow_pickle=False)"
            ) from None
        raise DataError(f"{filename}: cannot read '{key}' ({_reason(e)})") from None
    except Exception as e:
        raise DataError(f"{filename}: cannot read '{key}' ({_reason(e)})") from None


# ---------------------------------------------------------------- choosing files


@dataclass(frozen=True)
class Choice:
    kind: str  # "csv" | "idx" | "npz" | "zip" (holding any of these)
    main: str  # path of the file to load (IDX: the images file)
    partner: str | None = None  # IDX labels file


def classify(name: str) -> str | None:
    """ "csv", "idx-images", "idx-labels", "npz", "zip" or None (not an MNIST candidate)."""
    path = PurePosixPath(name)
    lower = path.name.lower()
    if any(p.startswith(".") or p == "__MACOSX" for p in path.parts) or lower.endswith(
        CACHE_SUFFIX
    ):
        return None
    plain = strip_gz(lower)
    if plain.endswith(".csv"):
        return None if "submission" in plain else "csv"
    if plain.endswith(".npz"):
        return "npz"
    if plain.endswith(".zip"):
        return "zip"
    if "idx3" in plain:
        return "idx-images"
    if "idx1" in plain:
        return "idx-labels"
    return None


_TEST = re.compile(r"test|t10k|eval", re.I)
_TRAIN = re.compile(r"train", re.I)


def choose(names: list[str], part: str, where: str) -> Choice:
    """Pick the file(s) to load for ``part`` among ``names`` (paths inside a folder or archive)."""
    kinds = {n: classify(n) for n in names}
    candidates = []
    for n, kind in kinds.items():
        if kind in ("csv", "npz", "zip"):
            candidates.append(Choice(kind, n))
        elif kind == "idx-images":
            candidates.append(Choice("idx", n, find_partner(n, list(kinds))))
    if not candidates:
        shown = ", ".join(sorted(names)[:8]) + (" …" if len(names) > 8 else "")
        raise DataError(
            f"{where} contains no MNIST file: expected a .csv, an IDX pair "
            f"(train-images-idx3-ubyte + train-labels-idx1-ubyte), an .npz or a "
            f".zip of these; "
            f"found {shown or 'nothing'}"
        )

    def rank(c: Choice):
        base = PurePosixPath(c.main).name
        is_test, is_train = bool(_TEST.search(base)), bool(_TRAIN.search(base))
        if part == "test":
            fit = 0 if is_test else (1 if c.kind in ("npz", "zip") or not is_train else 9)
        else:
            fit = 0 if is_train else (2 if is_test else 1)
        kind_order = {"csv": 0, "idx": 1 if c.partner else 4, "npz": 2, "zip": 3}[c.kind]
        return (fit, kind_order, len(PurePosixPath(c.main).parts), c.main)

    best = min(candidates, key=rank)
    if part == "test" and rank(best)[0] == 9:
        raise DataError(
            f"{where} has no test file (looked for names with 'test' or 't10k'); "
            f"found {', '.join(sorted(c.main for c in candidates))}"
        )
    return best


def zip_members(raw: bytes, filename: str, limit: int, everything: bool = False) -> zipfile.ZipFile:
    """The open archive, after checking that no member (that we would read) unpacks to more
    than ``limit`` bytes — a small zip can hold gigabytes of zeros."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise DataError(
            f"{filename} is a damaged or truncated zip file ({_reason(e)}); download it again"
        ) from None
    for info in archive.infolist():
        if info.file_size > limit and (everything or classify(info.filename)):
            raise DataError(
                f"{filename}: {info.filename} unpacks to "
                f"{human_bytes(info.file_size)}, over the limit of "
                f"{human_bytes(limit)}"
            )
    return archive


def read_member(
    archive: zipfile.ZipFile, member: str, filename: str, limit: int, max_rows: int | None = None
) -> bytes:
    """The unpacked bytes of ``member``, measured first while streaming (:func:`measure`)."""
    try:
        with archive.open(member) as f:
            measure(f, f"{filename}: {member}", limit, max_rows)
        with archive.open(member) as f:
            out = f.read(limit + 1)
    except DataError:
        raise
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as e:
        raise DataError(f"{filename}: cannot unpack {member} ({_reason(e)})") from None
    if len(out) > limit:
        raise DataError(f"{filename}: {member} unpacks to more than {human_bytes(limit)}")
    return out


@dataclass(frozen=True)
class NpyHeader:
    """One member of an .npz as its .npy header describes it, read without loading the array."""

    name: str  # member name without ".npy"
    shape: tuple
    dtype: np.dtype
    size: int  # the member's bytes unpacked
    fits: bool  # the header's shape and dtype account for exactly the member's data bytes


def npy_headers(raw: bytes) -> list[NpyHeader]:
    """The .npy headers of an .npz (nothing allocated beyond them). np.load allocates what a
    header claims before reading, so callers check ``fits`` (and the sizes) first. Raises what
    zipfile and numpy's header reader raise on a damaged file."""
    out = []
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f"{info.filename}: .npy version {version}")
                read = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read(f)
                header = f.tell()
            claimed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            fits = not dtype.hasobject and claimed == info.file_size - header
            name = info.filename[: -len(".npy")]
            out.append(NpyHeader(name, tuple(shape), dtype, info.file_size, fits))
    return out


def npy_shapes(raw: bytes, filename: str) -> dict[str, tuple]:
    """``{array name: shape}`` of an .npz from its .npy headers alone, after checking that each
    header's shape and dtype match the member's size (a header claiming far more than the file
    holds is refused here, before numpy allocates it)."""
    try:
        headers = npy_headers(raw)
    except Exception as e:  # zipfile / numpy header errors
        raise DataError(f"{filename} is not a readable .npz file ({_reason(e)})") from None
    for h in headers:
        if not h.fits and not h.dtype.hasobject:  # object arrays: refused by np.load itself
            raise DataError(
                f"{filename}: {h.name}.npy claims shape {h.shape} ({h.dtype}), which does not "
                f"match its {h.size:,} bytes"
            )
    return {h.name: h.shape for h in headers}

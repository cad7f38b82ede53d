"""``load_dataset``: one entry point for every source, and the compact cache for local files."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from . import formats
from .csvfile import parse_csv
from .dataset import Dataset
from .errors import DataError
from .sample import SAMPLE_NAME, SAMPLE_SOURCE, read_sample

DATA_DIR = Path(__file__).resolve().parent
DOWNLOAD_DIR = DATA_DIR / "downloads"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # 200 MB, Streamlit's default upload limit
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # one file inside a .zip/.gz (full MNIST CSV: ~110 MB)
MAX_IMAGES = 1_000_000  # images per dataset when the caller states no limit (a server does)
PARTS = ("train", "test")
CACHE_VERSION = 1
_SCAN_DEPTH = 4


@dataclass(frozen=True)
class ReadLimits:
    """How much one load may take: the file as given (``size``, compressed), each file once
    unpacked (``unpacked``, measured while streaming) and the images of the dataset
    (``images``, counted from CSV lines, IDX and .npy headers before anything is parsed)."""

    size: int = MAX_UPLOAD_BYTES
    unpacked: int = MAX_UNPACKED_BYTES
    images: int = MAX_IMAGES


def load_dataset(
    source="sample",
    *,
    name: str | None = None,
    part: str = "train",
    cache: bool = True,
    max_bytes: int | None = None,
    max_unpacked: int | None = None,
    max_images: int | None = None,
    secrets=None,
    progress=None,
) -> Dataset:
    """One clean :class:`Dataset` from any source, or :class:`DataError` saying what is wrong.

    ``source``:
      * ``"sample"`` — the 5,000 MNIST digits shipped in data/mnist_5k.npz (works offline);
      * a path (str or Path) to a .csv, IDX file (its partner is found next to it), .npz, .zip,
        any of them gzipped, or a folder holding them;
      * ``bytes`` (or a file-like object with ``.read()``, e.g. Streamlit's UploadedFile) with
        ``name=`` the original file name, which decides the format;
      * ``"kaggle:<competition-or-owner/dataset>"`` — downloaded once into data/downloads/
        (needs credentials, see :mod:`data.kaggle`; ``secrets``/``progress`` are passed on).

    ``part``: ``"train"`` (default) or ``"test"`` — which half of a source that has both: Keras'
    mnist.npz (x_train/x_test), a folder or .zip with train and test files (Kaggle's test.csv has
    no labels). ``name``: file name of uploaded bytes; for a path, the dataset's display name.
    ``max_bytes``: size limit for uploads and files (default :data:`MAX_UPLOAD_BYTES`);
    ``max_unpacked``: size limit of a file once unpacked from .gz/.zip/.npz (default
    :data:`MAX_UNPACKED_BYTES`), measured while streaming, so a refused bomb costs one chunk of
    memory; ``max_images``: most images the dataset may have (default :data:`MAX_IMAGES`),
    counted before parsing.
    ``cache``: for local files, reuse/write the compact ``<file>.nnmath.npz`` next to the file.
    Nothing the caller holds is modified, whether the load succeeds or fails.
    """
    if part not in PARTS:
        raise DataError(f"part must be 'train' or 'test', got {part!r}")
    limit = ReadLimits(  # module constants read now, so tests can lower them
        MAX_UPLOAD_BYTES if max_bytes is None else int(max_bytes),
        MAX_UNPACKED_BYTES if max_unpacked is None else int(max_unpacked),
        MAX_IMAGES if max_images is None else int(max_images),
    )
    try:
        if isinstance(source, (bytes, bytearray, memoryview)) or hasattr(source, "read"):
            return _load_upload(source, name, part, limit)
        if isinstance(source, str) and source == "sample":
            return load_sample()
        if isinstance(source, str) and source.startswith("kaggle:"):
            return _load_kaggle(source[len("kaggle:") :], part, cache, limit, secrets, progress)
        if isinstance(source, (str, os.PathLike)):
            return _load_path(Path(source), part, cache, limit, display=name)
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{_label(source, name)}: not enough memory to load this file") from None
    except Exception as e:  # last resort: a loader bug must still reach the user as a message
        from .kaggle import scrub

        raise DataError(
            scrub(
                f"{_label(source, name)}: cannot be read ({type(e).__name__}: "
                f"{formats._reason(e)})",
                secrets=secrets,
            )
        ) from None
    raise DataError(
        f"cannot load a dataset from {type(source).__name__}: expected 'sample', "
        f"a path, 'kaggle:<ref>' or bytes with name="
    )


def _label(source, name):
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name or str(source)
    return "the upload"


# ---------------------------------------------------------------- sample


def load_sample() -> Dataset:
    """The embedded 5,000-digit MNIST sample (``data/mnist_5k.npz``, sorted by label)."""
    images, labels = read_sample()
    return Dataset(images, labels, SAMPLE_NAME, SAMPLE_SOURCE)


# ---------------------------------------------------------------- bytes (uploads)


def _load_upload(source, name, part, limit) -> Dataset:
    if name is None:
        name = getattr(source, "name", None)
    if not name:
        raise DataError(
            "uploaded data needs its file name (name='train.csv'): the name decides the format"
        )
    name = PurePosixPath(str(name).replace("\\", "/")).name or "upload"
    if hasattr(source, "read"):
        raw = source.read(limit.size + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
    else:
        raw = bytes(source)
    _check_size(len(raw), name, limit.size)
    images, labels, detail = parse_bytes(raw, name, part, limits=limit)
    return _make(images, labels, detail, f"upload:{name}", limit)


def _check_count(n: int, name: str, limits: ReadLimits) -> None:
    if n > limits.images:
        raise DataError(
            f"{name} has {n:,} images; the limit is {limits.images:,} images per dataset"
        )


def _check_size(size: int, name: str, limit: int):
    if size > limit:
        shown = (
            f"more than {formats.human_bytes(limit)}"
            if size == limit + 1
            else formats.human_bytes(size)
        )
        raise DataError(
            f"{name} is {shown}; the limit is {formats.human_bytes(limit)} (MAX_UPLOAD_BYTES)"
        )


def _make(images, labels, detail: str, source: str, limits: ReadLimits) -> Dataset:
    n = images.shape[0]
    _check_count(n, detail, limits)
    return Dataset(images.reshape(n, 28, 28), labels, f"{detail} ({n:,} images)", source)


def parse_bytes(
    raw: bytes, name: str, part: str = "train", *, limits: ReadLimits | None = None, _depth=0
):
    """(images, labels, display name) from one file's bytes; the format comes from the content
    (gzip/zip magic numbers, IDX header) and the file name. ``limits`` (default
    :class:`ReadLimits` of the module's constants) bound what is unpacked and parsed."""
    if limits is None:
        limits = ReadLimits(MAX_UPLOAD_BYTES, MAX_UNPACKED_BYTES, MAX_IMAGES)
    if not raw:
        raise DataError(f"{name} is empty (0 bytes)")
    if raw[:2] == formats.GZIP_MAGIC:
        inner = formats.strip_gz(name)
        if inner == name:
            inner = name + ".ungz"
        unpacked = formats.gunzip(raw, name, limits.unpacked, limits.images)
        return parse_bytes(unpacked, inner, part, limits=limits, _depth=_depth)
    if name.lower().endswith(".gz"):
        raise DataError(f"{name}: expected a gzip file (it ends in .gz), found no gzip header")
    if raw[:4] in formats.ZIP_MAGICS:
        if name.lower().endswith(".npz"):
            formats.zip_members(raw, name, limits.unpacked, everything=True).close()
            images, labels, key = formats.parse_npz(raw, name, part, limits.images)
            return images, labels, f"{name} [{key}]"
        return _parse_zip(raw, name, part, _depth, limits)
    if name.lower().endswith(".npz"):
        raise DataError(f"{name}: expected an .npz archive (zip), found something else")
    if name.lower().endswith(".zip"):
        raise DataError(f"{name} is not a zip archive (no zip header); download it again")
    if formats.looks_like_idx(name, raw):
        return _parse_idx_alone(raw, name)
    images, labels = parse_csv(raw, name, max_rows=limits.images)
    return images, labels, name


def _parse_idx_alone(raw, name):
    role = formats.idx_role(name)
    partner = (formats.idx_partner_candidates(name) or ["its partner file"])[0]
    if role == "labels" or (role is None and len(raw) > 3 and raw[3] == 1):
        raise DataError(
            f"{name} holds labels only; the images are in {partner}: load the "
            f"images file (with this one next to it) or a .zip with both"
        )
    formats.parse_idx(raw, name, 3)  # report a broken file before the missing partner
    raise DataError(
        f"{name} holds images only; its labels are in {partner}: put both in one "
        f".zip (or one folder) and load that"
    )


def _parse_zip(raw, name, part, depth, limits: ReadLimits):
    archive = formats.zip_members(raw, name, limits.unpacked)
    with archive:
        members = [i.filename for i in archive.infolist() if not i.is_dir()]
        choice = formats.choose(members, part, name)
        data = formats.read_member(archive, choice.main, name, limits.unpacked, limits.images)
        member_name = f"{name}/{choice.main}"
        if choice.kind == "idx":
            if choice.partner is None:
                _missing_partner(choice.main, name)
            partner = formats.read_member(archive, choice.partner, name, limits.unpacked)
            images, labels = _idx_pair(
                data, member_name, partner, f"{name}/{choice.partner}", limits
            )
            return images, labels, member_name
    if depth >= 1:
        raise DataError(f"{name}: archives nested more than one level deep are not read")
    return parse_bytes(data, member_name, part, limits=limits, _depth=depth + 1)


def _missing_partner(images_name, where):
    wanted = (formats.idx_partner_candidates(images_name) or ["a labels file"])[0]
    raise DataError(f"{where}: found {images_name} but not its labels file {wanted} next to it")


def _idx_pair(images_raw, images_name, labels_raw, labels_name, limits: ReadLimits):
    if images_raw[:2] == formats.GZIP_MAGIC:
        images_raw = formats.gunzip(images_raw, images_name, limits.unpacked)
    if labels_raw[:2] == formats.GZIP_MAGIC:
        labels_raw = formats.gunzip(labels_raw, labels_name, limits.unpacked)
    count = formats.idx_count(images_raw)
    if count is not None:  # from the header, before the pixels are read
        _check_count(count, images_name, limits)
    images = formats.idx_pixels(formats.parse_idx(images_raw, images_name, 3), images_name)
    labels = formats.idx_labels(formats.parse_idx(labels_raw, labels_name, 1), labels_name)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_name} has {images.shape[0]:,} images but {labels_name} has "
            f"{labels.shape[0]:,} labels: expected the same number (are they from "
            f"the same set, train or t10k?)"
        )
    if images.shape[0] == 0:
        raise DataError(f"{images_name} has no images")
    return images, labels


# ---------------------------------------------------------------- paths


def _load_path(path: Path, part, cache, limit, display=None, source=None) -> Dataset:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        files = _scan(path)
        rel = [f.relative_to(path).as_posix() for f in files]
        choice = formats.choose(rel, part, f"folder {path}")
        main = path / choice.main
        if choice.kind == "idx" and choice.partner is None:
            _missing_partner(choice.main, f"folder {path}")
        return _load_file(
            main,
            part,
            cache,
            limit,
            display,
            source,
            partner=path / choice.partner if choice.partner else None,
        )
    return _load_file(path, part, cache, limit, display, source)


def _load_file(path: Path, part, cache, limit, display, source, partner=None) -> Dataset:
    source = source or f"file:{path.resolve()}"
    kind = formats.classify(path.name)
    if kind in ("idx-images", "idx-labels") and partner is None:
        if kind == "idx-labels":
            images_name = (formats.idx_partner_candidates(path.name) or ["its images file"])[0]
            found = _sibling(path, formats.idx_partner_candidates(path.name))
            if found is None:
                raise DataError(
                    f"{path.name} holds labels only and its images file "
                    f"{images_name} is not next to it"
                )
            path, partner = found, path
        else:
            partner = _sibling(path, formats.idx_partner_candidates(path.name))
            if partner is None:
                _missing_partner(path.name, f"folder {path.parent}")
    inputs = [path] + ([partner] if partner else [])
    for f in inputs:
        _check_size(f.stat().st_size, f.name, limit.size)
    use_cache = cache and not path.name.lower().endswith(".npz")
    key = _cache_key(inputs, part)
    cache_file = _cache_file_for(path, part) if use_cache else None
    if cache_file is not None:
        hit = _read_cache(cache_file, key, None, source, display)
        if hit is not None:
            _check_count(hit.n, path.name, limit)
            return hit
    raw = _read(path)
    if partner is not None:
        images, labels = _idx_pair(raw, path.name, _read(partner), partner.name, limit)
        detail = path.name
    else:
        images, labels, detail = parse_bytes(raw, path.name, part, limits=limit)
    n = images.shape[0]
    _check_count(n, path.name, limit)
    dataset = Dataset(
        images.reshape(n, 28, 28), labels, display or f"{detail} ({n:,} images)", source
    )
    if cache_file is not None:
        _write_cache(cache_file, key, dataset)
    return dataset


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror or e})") from None


def _sibling(path: Path, candidates: list[str]) -> Path | None:
    """The file next to ``path`` whose name is one of ``candidates`` (case-insensitive)."""
    wanted = {c.lower() for c in candidates}
    try:
        for f in sorted(path.parent.iterdir()):
            if f.is_file() and f.name.lower() in wanted:
                return f
    except OSError:
        return None
    return None


def _scan(root: Path) -> list[Path]:
    out = []

    def walk(folder: Path, depth: int):
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__MACOSX":
                continue
            if entry.is_dir():
                if depth < _SCAN_DEPTH:
                    walk(entry, depth + 1)
            elif formats.classify(entry.name):
                out.append(entry)

    walk(root, 0)
    return out


def list_local_files(root: Path | str | None = None) -> list[Path]:
    """Loadable files under ``root`` (default :data:`DOWNLOAD_DIR`): CSV, IDX images files (whose
    labels file is next to them), .npz and .zip — not labels files, caches or submissions."""
    root = Path(root) if root is not None else DOWNLOAD_DIR
    if not root.is_dir():
        return []
    files = _scan(root)
    out = []
    for f in files:
        kind = formats.classify(f.name)
        if kind == "idx-labels":
            continue
        if kind == "idx-images" and _sibling(f, formats.idx_partner_candidates(f.name)) is None:
            continue
        out.append(f)
    return out


# ---------------------------------------------------------------- Kaggle


def _load_kaggle(ref, part, cache, limit, secrets, progress) -> Dataset:
    from . import kaggle  # local import: keeps the kaggle client out of plain loads

    folder = kaggle.download(ref, progress=progress, secrets=secrets, max_bytes=limit.size)
    return _load_path(folder, part, cache, limit, source=f"kaggle:{kaggle.normalize_ref(ref)}")


# ---------------------------------------------------------------- compact cache


def _cache_dir() -> Path:
    """NNMATH_DATA_CACHE, else data/downloads/.cache, else a folder in the system temp dir."""
    env = os.environ.get("NNMATH_DATA_CACHE")
    candidates = (
        [Path(env)]
        if env
        else [DOWNLOAD_DIR / ".cache", Path(tempfile.gettempdir()) / "nnmath-data-cache"]
    )
    for c in candidates:
        try:
            c.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(c, os.W_OK):
            return c
    return candidates[-1]


def _path_digest(path: Path) -> str:
    return hashlib.blake2b(str(path.resolve()).encode(), digest_size=6).hexdigest()


def _cache_file_for(path: Path, part: str) -> Path:
    suffix = formats.CACHE_SUFFIX if part == "train" else f".{part}{formats.CACHE_SUFFIX}"
    if os.access(path.parent, os.W_OK):
        return path.with_name(path.name + suffix)
    return _cache_dir() / f"{path.name}-{_path_digest(path)}{suffix}"


def _cache_key(inputs: list[Path], part: str) -> str:
    files = []
    for f in inputs:
        st = f.stat()
        files.append([f.name, st.st_size, st.st_mtime_ns])
    return json.dumps({"version": CACHE_VERSION, "part": part, "files": files})


def _read_cache(cache_file: Path, key: str, name, source, display=None) -> Dataset | None:
    """The cached dataset, or None when missing, stale or damaged (then it is rebuilt)."""
    if not cache_file.is_file():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("key") != key:
                return None
            images = z["images"]
            labels = z["labels"] if "labels" in z.files else None
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            return None
        # the zip CRC of the .npz catches damaged bytes, so the stored fingerprint is trusted
        return Dataset(
            images, labels, display or name or meta["name"], source, fingerprint=meta["fingerprint"]
        )
    except Exception:  # a damaged cache is never an error: it is ignored and rebuilt
        return None


def _write_cache(cache_file: Path, key: str, dataset: Dataset) -> None:
    meta = json.dumps({"key": key, "name": dataset.name, "fingerprint": dataset.fingerprint})
    arrays = {"images": dataset.images, "meta": np.array(meta)}
    if dataset.labels is not None:
        arrays["labels"] = dataset.labels
    # unique per writer: Streamlit sessions are threads of one process, so a pid is not enough
    tmp = cache_file.with_name(f".{cache_file.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, cache_file)  # atomic: readers never see half a cache
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass

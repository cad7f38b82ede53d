"""Files: a whole TrainResult (save_result, for the run store) and a model (save_model: the four
parameter arrays plus JSON metadata, for people to take away and for the notebook's weights to
come in). Both are .npz: arrays as arrays, everything else as JSON text inside.

Loading uses allow_pickle=False, so a file handed in by a user can hold data, never code.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ._checks import N_CLASSES, N_PIXELS, Bounds, check_choice
from ._version import __version__
from .activations import ACTIVATIONS
from .network import Params
from .optim import state_names
from .train import (
    NUMERICS_VERSION,
    PARAM_NAMES,
    SETTING_BOUNDS,
    History,
    Status,
    TrainConfig,
    TrainResult,
)

FORMAT = "nnmath.TrainResult"
VERSION = 1
_SCALARS = (
    "iterations",
    "status",
    "diverged_at",
    "message",
    "loss",
    "train_accuracy",
    "dev_accuracy",
    "dev_loss",
    "n_train",
)


def save_result(result: TrainResult, path) -> None:
    """Write ``result`` to ``path`` (a filename or a binary file object) as .npz."""
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "config": vars(result.config.train_config()),
        **{name: getattr(result, name) for name in _SCALARS},
    }
    arrays = {f"params/{k}": v for k, v in result.params.arrays().items()}
    arrays.update({f"history/{k}": v for k, v in result.history.arrays().items()})
    arrays.update({f"snapshots/{k}": v for k, v in result.snapshots.items()})
    arrays.update({f"state/{k}": v for k, v in result.state.items()})
    arrays.update({f"state_snapshots/{k}": v for k, v in result.state_snapshots.items()})
    arrays["snapshot_iterations"] = result.snapshot_iterations
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def load_result(path) -> TrainResult:
    """Read a file written by save_result. Any damage raises ValueError naming the file."""
    name = getattr(path, "name", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}, got {meta.get('format')!r}")
        if meta.get("version") != VERSION:
            raise ValueError(f"version must be {VERSION}, got {meta.get('version')!r}")
        result = TrainResult(
            config=TrainConfig(**meta["config"]),
            params=Params(*(arrays[f"params/{k}"] for k in PARAM_NAMES)),
            history=History(**{k: arrays[f"history/{k}"] for k in History.FIELDS}),
            snapshot_iterations=arrays["snapshot_iterations"],
            snapshots={k: arrays[f"snapshots/{k}"] for k in PARAM_NAMES},
            state=_prefixed(arrays, "state/"),
            state_snapshots=_prefixed(arrays, "state_snapshots/"),
            **{k: meta[k] for k in _SCALARS if k != "status"},
            status=Status(meta["status"]),
        )
        _check_consistent(result)
    except ValueError as error:
        raise ValueError(f"{name}: not a valid nnmath result file: {error}") from error
    except (
        OSError,
        KeyError,
        TypeError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as error:
        raise ValueError(
            f"{name}: not a readable nnmath result file ({type(error).__name__}: {error})"
        ) from error
    return result


def _prefixed(arrays: dict, prefix: str) -> dict:
    return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}


def _check_consistent(r: TrainResult) -> None:
    h, n = r.config.hidden, r.iterations
    expected = {"W1": (784, h), "b1": (h,), "W2": (h, 10), "b2": (10,)}
    names = set(state_names(r.config.optimizer))
    for what, arrays in (("state", r.state), ("state_snapshots", r.state_snapshots)):
        if set(arrays) != names:
            raise ValueError(
                f"{what} must hold {sorted(names)} for optimizer {r.config.optimizer!r}, "
                f"got {sorted(arrays)}"
            )
    for k in names:
        shape = expected[k.split("/")[1]]
        if r.state[k].shape != shape:
            raise ValueError(f"state {k} must have shape {shape}, got {r.state[k].shape}")
        k_snaps = len(r.snapshot_iterations)
        if r.state_snapshots[k].shape != (k_snaps, *shape):
            raise ValueError(
                f"state_snapshots {k} must have shape {(k_snaps, *shape)}, "
                f"got {r.state_snapshots[k].shape}"
            )
    for k, shape in expected.items():
        if getattr(r.params, k).shape != shape:
            raise ValueError(
                f"params {k} must have shape {shape}, got {getattr(r.params, k).shape}"
            )
        k_snaps = len(r.snapshot_iterations)
        if r.snapshots[k].shape != (k_snaps, *shape):
            raise ValueError(
                f"snapshots {k} must have shape {(k_snaps, *shape)}, got {r.snapshots[k].shape}"
            )
    for k, v in r.history.arrays().items():
        if v.shape != (n,):
            raise ValueError(f"history {k} must have shape ({n},), got {v.shape}")
    if r.status not in tuple(Status):
        raise ValueError(f"status must be one of {[str(s) for s in Status]}, got {r.status!r}")


# --- A model file: the four parameter arrays and JSON metadata, for people to take away --------

MODEL_FORMAT = "nnmath.model"
MODEL_VERSION = 1
_FLOATS = ("float32", "float64")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_PICKLE_MAGIC = b"\x80"


@dataclass(frozen=True)
class Model:
    """What load_model returns: the parameters in nnmath's layout and the file's metadata."""

    params: Params
    meta: dict = field(default_factory=dict)
    layout: str = "nnmath"  # "nnmath" or "notebook": how the arrays were stored

    @property
    def activation(self) -> str:
        return self.meta.get("activation", "relu")


def save_model(path_or_file, params: Params, meta: dict | None = None) -> None:
    """Write ``params`` as a plain .npz that numpy alone can read back.

    Arrays W1 (784, h), b1 (h,), W2 (h, 10), b2 (10,) in nnmath's layout, and ``meta`` (a
    JSON-serialisable dict: settings, dataset, metrics...) as the JSON text array ``meta``, to
    which the format, nnmath's version, NUMERICS_VERSION and the creation time (UTC) are added.
    ``meta["activation"]`` (default "relu") is the hidden activation a reader must apply.
    """
    _check_params(params.arrays(), _expected_shapes("nnmath", params.hidden), "nnmath")
    meta = dict(meta or {})
    check_choice("meta['activation']", meta.setdefault("activation", "relu"), ACTIVATIONS)
    meta.update(
        format=MODEL_FORMAT,
        version=MODEL_VERSION,
        nnmath_version=__version__,
        numerics_version=NUMERICS_VERSION,
        hidden=params.hidden,
        dtype=str(params.dtype),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        text = json.dumps(meta, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"meta must be JSON-serialisable (no NaN), got {error}") from error
    np.savez(path_or_file, meta=np.array(text), **params.arrays())


def load_model(path_or_file, *, max_bytes: int = 64 * 1024 * 1024) -> Model:
    """Read a model file: one written by save_model, or the notebook's own ``np.savez`` of
    W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1) (transposed into nnmath's layout).

    Never unpickles (allow_pickle=False); the arrays inside may unpack to at most ``max_bytes``
    (checked on the zip directory before anything is decompressed). Any problem raises a
    ValueError that names the file, the array and what was expected. Other arrays in the file
    are ignored.
    """
    name = getattr(path_or_file, "name", path_or_file)
    try:
        return _load_model(path_or_file, max_bytes)
    except ValueError as error:
        raise ValueError(f"{name}: not a usable model file: {error}") from error
    except Exception as error:  # noqa: BLE001 - a file from anyone: whatever zipfile, zlib,
        # numpy's header parser or json raise (BadZipFile, zlib.error, EOFError, OSError,
        # NotImplementedError for an unknown compression, RecursionError, MemoryError...) is a
        # refusal of that file, never a crash of the page
        raise ValueError(
            f"{name}: not a readable model file ({type(error).__name__}: {str(error)[:200]})"
        ) from error


def _load_model(source, max_bytes: int) -> Model:
    raw = _read_bytes(source)
    if raw.startswith(_PICKLE_MAGIC):
        raise ValueError("it is a Python pickle, which is never loaded (it could run code)")
    if not raw.startswith(_ZIP_MAGIC):
        raise ValueError(
            f"expected an .npz file (a zip archive of .npy arrays), got a file starting with "
            f"{raw[:8]!r}"
        )
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max_bytes:
            raise ValueError(
                f"its arrays would unpack to {unpacked:,} bytes, more than the limit of "
                f"{max_bytes:,} (a zip bomb?)"
            )
        _check_headers(archive)
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        missing = [k for k in PARAM_NAMES if k not in npz.files]
        if missing:
            raise ValueError(
                f"missing array {', '.join(missing)}: expected W1, b1, W2 and b2, "
                f"found {sorted(npz.files) or 'no arrays'}"
            )
        arrays = {k: _read_array(npz, k) for k in PARAM_NAMES}
        meta = _read_meta(npz) if "meta" in npz.files else {}
    layout, hidden = _layout(arrays)
    _check_params(arrays, _expected_shapes(layout, hidden), layout)
    if layout == "notebook":  # samples as columns: transpose, and flatten the bias columns
        arrays = {"W1": arrays["W1"].T, "b1": arrays["b1"][:, 0], "W2": arrays["W2"].T,
                  "b2": arrays["b2"][:, 0]}  # fmt: skip
    dtype = np.result_type(*arrays.values())
    params = Params(*(np.ascontiguousarray(arrays[k], dtype=dtype) for k in PARAM_NAMES))
    activation = meta.get("activation", "relu")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(
            f"meta activation must be one of {list(ACTIVATIONS)}, got {Bounds.shown(activation)}"
        )
    return Model(params, meta, layout)


#: Largest hidden layer a model file may declare (nnmath's bound on the setting), and the
#: largest JSON text of its meta: both checked on the .npy headers, before numpy allocates.
MAX_MODEL_HIDDEN = int(SETTING_BOUNDS["hidden"].high)
MAX_META_CHARS = 1_000_000


def _check_headers(archive: zipfile.ZipFile) -> None:
    """Read the .npy header of W1, b1, W2, b2 and meta in the archive and refuse, before any array
    is read, shapes and dtypes a model cannot have: numpy allocates what a header declares (a W1
    of (784, 1e8) asked for 584 GiB), whatever the bytes that follow hold."""
    members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
    for key in (*PARAM_NAMES, "meta"):
        info = members.get(key)
        if info is None:
            continue  # missing arrays are named by the caller
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"array {key} has .npy format version {version}, expected 1.0/2.0")
            data_bytes = info.file_size - f.tell()
        if key == "meta":
            if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_META_CHARS:
                raise ValueError(
                    f"array meta must be one JSON text of at most {MAX_META_CHARS:,} characters, "
                    f"got {dtype} {shape}"
                )
            continue
        if dtype.hasobject:
            raise ValueError(
                f"array {key} holds Python objects (it needs pickle, never used here), expected "
                "numbers"
            )
        if dtype.name not in _FLOATS:
            raise ValueError(f"array {key} must be float32 or float64, got dtype {dtype}")
        # each side at most 784 pixels or MAX_MODEL_HIDDEN units; exact shapes are checked
        # once the (now bounded) arrays are read, by _check_params
        longest = max(MAX_MODEL_HIDDEN, N_PIXELS)
        if (
            not (len(shape) in (1, 2) and all(0 <= n <= longest for n in shape))
            or int(np.prod(shape)) > N_PIXELS * MAX_MODEL_HIDDEN
        ):
            raise ValueError(
                f"array {key} declares shape {Bounds.shown(shape)}, more than a model of at most "
                f"{MAX_MODEL_HIDDEN:,} hidden units holds"
            )
        if int(np.prod(shape)) * dtype.itemsize > data_bytes:
            raise ValueError(
                f"array {key} declares {int(np.prod(shape)) * dtype.itemsize:,} bytes of data but "
                f"holds {data_bytes:,} (a truncated or forged file)"
            )


def _read_bytes(source) -> bytes:
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        return source.read()
    with open(source, "rb") as f:
        return f.read()


def _read_array(npz, key: str) -> np.ndarray:
    try:
        a = npz[key]
    except ValueError as error:  # object arrays (refused without pickle), short data...
        raise ValueError(f"array {key} cannot be read: {error}") from error
    if a.dtype.name not in _FLOATS:
        raise ValueError(f"array {key} must be float32 or float64, got dtype {a.dtype}")
    return a


def _read_meta(npz) -> dict:
    try:
        text = npz["meta"]
    except ValueError as error:
        raise ValueError(f"array meta holds Python objects, expected JSON text: {error}") from error
    if text.shape != () or text.dtype.kind != "U":
        raise ValueError(f"array meta must be one JSON text, got {text.dtype} {text.shape}")
    try:
        meta = json.loads(str(text))
    except json.JSONDecodeError as error:
        raise ValueError(f"array meta must be JSON text: {error}") from error
    except RecursionError:  # nested 100,000 deep: the parser gives up, so do we
        raise ValueError("array meta is JSON nested too deep to read") from None
    if not isinstance(meta, dict):
        raise ValueError(f"array meta must be a JSON object, got {type(meta).__name__}")
    return meta


def _layout(arrays: dict[str, np.ndarray]) -> tuple[str, int]:
    """("nnmath" | "notebook", hidden) from W1 and b1; W1 (784, h) vs the notebook's (h, 784)."""
    W1, b1 = arrays["W1"], arrays["b1"]
    if W1.ndim == 2 and W1.shape[0] == N_PIXELS and (b1.ndim == 1 or W1.shape[1] != N_PIXELS):
        return "nnmath", W1.shape[1]
    if W1.ndim == 2 and W1.shape[1] == N_PIXELS:
        return "notebook", W1.shape[0]
    raise ValueError(
        f"array W1 must have shape (784, h) (nnmath) or (h, 784) (the notebook's), got {W1.shape}"
    )


def _expected_shapes(layout: str, h: int) -> dict[str, tuple[int, ...]]:
    if layout == "notebook":
        return {"W1": (h, N_PIXELS), "b1": (h, 1), "W2": (N_CLASSES, h), "b2": (N_CLASSES, 1)}
    return {"W1": (N_PIXELS, h), "b1": (h,), "W2": (h, N_CLASSES), "b2": (N_CLASSES,)}


def _check_params(arrays: dict[str, np.ndarray], expected: dict, layout: str) -> None:
    h = expected["b1"][0]
    if h < 1:
        raise ValueError(f"array W1 must have at least 1 hidden unit, got shape {expected['W1']}")
    for key, shape in expected.items():
        a = arrays[key]
        if a.shape != shape:
            raise ValueError(
                f"array {key} must have shape {shape} ({layout} layout, {h} hidden units "
                f"from W1), got {a.shape}"
            )
        bad = np.flatnonzero(~np.isfinite(a).ravel())
        if bad.size:
            where = np.unravel_index(bad[0], a.shape)
            raise ValueError(
                f"array {key} must hold finite numbers, got {a.ravel()[bad[0]]} at index "
                f"{tuple(int(i) for i in where)} ({bad.size:,} non-finite values)"
            )

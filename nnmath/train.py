"""Training: the notebook's gradient_descent loop, returning a result instead of printing.

The loop walks the training images in fixed blocks of BLOCK_ROWS rows (see ``_pass``); the math
inside a block is the textbook forward_propagation / backward_propagation of network.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from ._checks import (
    DTYPES,
    INITS,
    N_PIXELS,
    Bounds,
    check_images,
    check_int,
    check_labels,
    dtype_name,
)
from ._threads import Blocks, one_blas_thread, others_turn, resolve_workers
from .activations import ACTIVATIONS
from .corrupt import CORRUPTIONS, augment
from .network import (
    Params,
    backward_propagation,
    forward_propagation,
    init_params,
    one_hot,
    scores,
)
from .optim import OPTIMIZERS, SCHEDULES, init_state, state_names
from .optim import step as optimizer_step

# Rows per block. Fixed (never derived from the thread count or the machine) because the order
# in which block gradients are added decides the last bits of every number: with a fixed block
# size the same data, settings and seed give the same bits in any process. 1,536 rows (4.7 MB of
# float32) stay in this machine's L3 per worker, and split the embedded sample's 4,000 training
# rows (plus its 1,000 dev rows) evenly over two workers; 1,024 left one worker idle a third of
# each iteration (the bench's block-size table).
BLOCK_ROWS = 1536

PARAM_NAMES = ("W1", "b1", "W2", "b2")
AUGMENTATIONS = ("none", *CORRUPTIONS)
# The largest augment_level of each augmentation (degrees, pixels, noise std, dilations).
AUGMENT_MAX = {"noise": 1.0, "rotate": 180.0, "shift": 14.0, "thickness": 3.0}
AUGMENT_MAX["none"] = max(AUGMENT_MAX.values())  # unused then: any level another one allows
# The settings of the notebook's network and loop (the rest are beyond plain gradient descent).
CORE_FIELDS = ("hidden", "alpha", "seed", "init", "dtype", "batch_size", "snapshot_every",
               "activation")  # fmt: skip

# Raised whenever training computes different bits from the same data, settings and seed (2: the
# block loop leaves out all-zero pixel columns and moves 1/255 onto W1; 3: dW1 is computed as
# (dZ1.T @ X).T, and on OpenBLAS's AVX-512 kernels X @ W1 and dZ1.T @ X are taken in pieces of
# rows, see network.py; 4: the (m, 10) and (m, h) arrays are stored column by column, the pieces
# go to BLAS as one stack, the loss's log-sum-exp comes from A2; 5: pieces of a power-of-two
# number of rows, after commits that computed other bits under 4; 6: Z1's pieces as
# W1.T @ piece.T on the TN kernel; 7: the same up to ~75 units, after a commit that computed
# other bits under 6; 8: the loss adds its terms in another order, see network.scores; 9: on
# OpenBLAS's Haswell kernel dZ1.T @ X takes dZ1's columns in whole groups, see
# network.transposed_times). A cache
# of runs keys on it, so that no stored run is continued, or served, by code that rounds
# differently.
NUMERICS_VERSION = 9

# A run has diverged when its loss is not finite, or more than this many times the loss it
# started from: with a stable softmax and loss, a too-large alpha rarely overflows (ReLUs die and
# the output biases swing by alpha per step, loss in the thousands yet finite), but no run that
# is learning ever multiplies its starting loss by 10.
DIVERGENCE_FACTOR = 10.0


class Status(StrEnum):
    """How a run ended. A StrEnum: it compares equal to (and is stored as) its plain string."""

    FINISHED = "finished"  # did every iteration asked for
    DIVERGED = "diverged"  # loss not finite or > DIVERGENCE_FACTOR x its start: stopped there
    STOPPED = "stopped"  # the callback asked to stop
    PARTIAL = "partial"  # a checkpoint of a run still training (saved by the run store)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the numbers of a run, apart from the data and iteration count.

    The one declaration of the training settings: the app's run identity, URL, sweeps, ledger and
    comparisons derive their field lists from ``dataclasses.fields(TrainConfig)``.
    """

    hidden: int = 10
    alpha: float = 0.1
    seed: int = 0
    init: str = "uniform"
    dtype: str = "float32"
    batch_size: int | None = None
    snapshot_every: int = 50
    activation: str = "relu"
    # Beyond plain gradient descent (nnmath.optim: the update rules, as torch.optim writes them).
    # Each default is the notebook's behaviour; at their defaults these settings change no bit.
    optimizer: str = "gd"  # gd | momentum | nesterov | adam
    momentum: float = 0.9  # mu of momentum and nesterov
    beta1: float = 0.9  # adam
    beta2: float = 0.999  # adam
    eps: float = 1e-8  # adam
    weight_decay: float = 0.0  # L2 on W1 and W2, added to the gradient (not in the loss shown)
    schedule: str = "constant"  # constant | step | cosine (never depends on the run's length)
    step_every: int = 100  # step: alpha times gamma every step_every updates
    gamma: float = 0.5  # step
    horizon: int = 1000  # cosine: alpha falls to 0 over this many updates
    dropout: float = 0.0  # share of hidden units dropped per training image (inverted dropout)
    augment: str = "none"  # none | a corruption of nnmath.corrupt, redrawn every iteration
    augment_level: float = 0.0  # its largest level (degrees, pixels, noise std, dilations)

    def validated(self) -> TrainConfig:
        """The same settings with canonical Python types; ValueError naming the first bad one,
        its rule (:data:`SETTING_BOUNDS`) and its value. One rule spans two settings: the
        augmentation's own largest level (:data:`AUGMENT_MAX`) bounds ``augment_level``."""
        checked = TrainConfig(
            **{f.name: check_setting(f.name, getattr(self, f.name)) for f in fields(TrainConfig)}
        )
        level = Bounds(0.0, AUGMENT_MAX[checked.augment])
        level.check("augment_level", checked.augment_level, float)
        return checked

    def canonical(self) -> TrainConfig:
        """The same run with every setting that cannot change its numbers at its default (the
        betas under gd, the step decay's gamma under a cosine schedule, ...): two configs of one
        canonical form train the same bits, so the run store gives them one id."""
        keep = set(CORE_FIELDS)
        keep |= {
            "momentum": {"momentum"},
            "nesterov": {"momentum"},
            "adam": {"beta1", "beta2", "eps"},
        }.get(self.optimizer, set())
        keep |= {"step": {"step_every", "gamma"}, "cosine": {"horizon"}}.get(self.schedule, set())
        keep |= {"optimizer", "weight_decay", "schedule", "dropout", "augment"}
        if self.augment != "none":
            keep.add("augment_level")
        default = TrainConfig()
        return replace(
            self,
            **{f.name: getattr(default, f.name) for f in fields(TrainConfig) if f.name not in keep},
        )

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> TrainConfig:
        """A TrainConfig from keyword settings, naming any key that is not a training setting."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}: the settings are {', '.join(names)}")
        return cls(**settings)

    def train_config(self) -> TrainConfig:
        """Just the training settings (of a subclass that adds, e.g., a dataset identity)."""
        return TrainConfig(**{f.name: getattr(self, f.name) for f in fields(TrainConfig)})


#: What each training setting may be, both sides bounded: :meth:`TrainConfig.validated` checks
#: every field against its row, and the app derives its URL parsing, widgets and messages from
#: it. Every field of TrainConfig has a row (a test checks): a new setting adds one here. Why
#: these numbers: hidden 10,000 is W1 of 31 MB in float32; the seed is what most RNG APIs take
#: (32 bits); alpha beyond a million only diverges; batch and snapshot_every in rows/iterations.
SETTING_BOUNDS: dict[str, Bounds] = {
    "hidden": Bounds(1, 10_000),
    "alpha": Bounds(0.0, 1e6, open_low=True),
    "seed": Bounds(0, 2**32 - 1),
    "init": Bounds(choices=INITS),
    "dtype": Bounds(choices=DTYPES),
    "batch_size": Bounds(1, 1_000_000),
    "snapshot_every": Bounds(1, 1_000_000),
    "activation": Bounds(choices=tuple(ACTIVATIONS)),
    "optimizer": Bounds(choices=OPTIMIZERS),
    "momentum": Bounds(0.0, 1.0, open_high=True),
    "beta1": Bounds(0.0, 1.0, open_high=True),
    "beta2": Bounds(0.0, 1.0, open_high=True),
    "eps": Bounds(0.0, 1.0, open_low=True),
    "weight_decay": Bounds(0.0, 1.0),
    "schedule": Bounds(choices=SCHEDULES),
    "step_every": Bounds(1, 10_000_000),
    "gamma": Bounds(0.0, 1.0, open_low=True),
    "horizon": Bounds(1, 10_000_000),
    "dropout": Bounds(0.0, 1.0, open_high=True),
    "augment": Bounds(choices=AUGMENTATIONS),
    # each augmentation's own largest level (AUGMENT_MAX) is checked by validated()
    "augment_level": Bounds(0.0, max(AUGMENT_MAX.values())),
}
#: Most iterations one call of gradient_descent / continue_training may do.
MAX_ITERATIONS = 10_000_000


def setting_kind(name: str) -> tuple[type, bool]:
    """(int, float or str; whether None is allowed) of training setting ``name``, read from its
    annotation in TrainConfig (``int | None``: batch_size, None = full batch)."""
    annotation = str({f.name: f.type for f in fields(TrainConfig)}[name])
    kind = {"int": int, "float": float}.get(annotation.replace(" | None", ""), str)
    return kind, "None" in annotation


def check_setting(name: str, value: Any, bounds: Bounds | None = None) -> Any:
    """``value`` of training setting ``name`` in canonical form, checked against ``bounds``
    (default :data:`SETTING_BOUNDS`; the app passes narrower ones); ValueError stating the rule."""
    kind, optional = setting_kind(name)
    if name == "dtype" and value is not None:
        value = dtype_name(value)  # np.float32, "f4" -> "float32"; ValueError otherwise
    return (bounds or SETTING_BOUNDS[name]).check(name, value, kind, optional)


@dataclass(frozen=True)
class History:
    """Per-iteration metrics, 1-D arrays of length = iterations completed.

    Row i describes the parameters after i updates (the forward pass of iteration i).
    With ``batch_size`` set, loss and train_accuracy are those of iteration i's mini-batch.
    loss is always the mean cross-entropy, never weight decay's L2 penalty; with dropout or
    augmentation it and train_accuracy are those of iteration i's training pass (its masks, its
    augmented images). The TrainResult's final loss and accuracies are of the whole network
    (no masks) on the training images as given.
    dev_accuracy and dev_loss are NaN when no dev set was given. elapsed is cumulative seconds.
    """

    loss: np.ndarray
    train_accuracy: np.ndarray
    dev_accuracy: np.ndarray
    dev_loss: np.ndarray
    elapsed: np.ndarray

    FIELDS = ("loss", "train_accuracy", "dev_accuracy", "dev_loss", "elapsed")

    def __len__(self) -> int:
        return len(self.loss)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def head(self, n: int) -> History:
        return History(**{k: v[:n] for k, v in self.arrays().items()})

    @staticmethod
    def empty() -> History:
        return History(*(np.zeros(0) for _ in History.FIELDS))


@dataclass(frozen=True)
class Progress:
    """What a training callback sees."""

    iteration: int  # updates done so far
    total: int  # updates this call will do in all (counting earlier ones)
    loss: float
    train_accuracy: float
    dev_accuracy: float  # NaN without a dev set
    history: History  # rows so far
    params: Params  # after `iteration` updates
    # The run so far as a TrainResult (status "partial"): see _checkpoint. A method of the loop,
    # so a callback that never saves pays nothing.
    checkpoint: Callable[[], TrainResult] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class TrainResult:
    config: TrainConfig
    params: Params  # after `iterations` updates
    history: History
    iterations: int  # updates done
    snapshot_iterations: np.ndarray  # (k,) int, sorted, includes 0 and `iterations`
    snapshots: dict[
        str, np.ndarray
    ]  # "W1": (k, 784, h), "b1": (k, h), "W2": (k, h, 10), "b2": (k, 10)
    status: Status  # PARTIAL only for a checkpoint (see _checkpoint)
    diverged_at: int | None  # iteration whose loss was not finite
    message: str
    loss: float  # metrics of the final params on the whole training set
    train_accuracy: float
    dev_accuracy: float  # NaN without a dev set
    dev_loss: float
    n_train: int = 0  # rows of the training set (checked by continue_training)
    # The optimizer's state after `iterations` updates ("velocity/W1", or "m/W1" ... "v/b2":
    # nnmath.optim; none for gd), and at every snapshot iteration ((k, ...) arrays, as snapshots),
    # so that a run continued from its end or from a snapshot is the unbroken run, bit for bit.
    state: dict[str, np.ndarray] = field(default_factory=dict)
    state_snapshots: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def start(cls, config: TrainConfig, params: Params, *, n_train: int = 0) -> TrainResult:
        """A run of 0 iterations from ``params``: what training (or continue_training with
        ``iterations=0``, for parameters made elsewhere) starts from."""
        return cls(
            config=config,
            params=params,
            history=History.empty(),
            iterations=0,
            snapshot_iterations=np.zeros(0, np.int64),
            snapshots={},
            status=Status.FINISHED,
            diverged_at=None,
            message="",
            loss=math.nan,
            train_accuracy=math.nan,
            dev_accuracy=math.nan,
            dev_loss=math.nan,
            n_train=n_train,
            state=init_state(config.optimizer, params),
        )

    @property
    def elapsed(self) -> float:
        """Seconds spent in training iterations (cumulative over continuations)."""
        return float(self.history.elapsed[-1]) if len(self.history) else 0.0

    def snapshot(self, i: int) -> Params:
        """Parameters after i updates; i must be one of snapshot_iterations."""
        k = self._snapshot_index(i)
        return Params(*(self.snapshots[name][k].copy() for name in PARAM_NAMES))

    def snapshot_state(self, i: int) -> dict[str, np.ndarray]:
        """The optimizer's state after i updates; i must be one of snapshot_iterations."""
        k = self._snapshot_index(i)
        return {name: array[k].copy() for name, array in self.state_snapshots.items()}

    def _snapshot_index(self, i: int) -> int:
        k = np.searchsorted(self.snapshot_iterations, i)
        if k == len(self.snapshot_iterations) or self.snapshot_iterations[k] != i:
            raise ValueError(
                f"i must be a snapshot iteration {self.snapshot_iterations.tolist()}, got {i}"
            )
        return int(k)

    def truncated(self, n: int) -> TrainResult:
        """The run as it stood after n updates (n must be a snapshot iteration)."""
        if n == self.iterations:
            return self
        if not 0 <= n < self.iterations:
            raise ValueError(f"n must be between 0 and {self.iterations}, got {n}")
        params = self.snapshot(n)
        keep = self.snapshot_iterations <= n
        row = self.history.arrays()
        return replace(
            self,
            params=params,
            history=self.history.head(n),
            iterations=n,
            snapshot_iterations=self.snapshot_iterations[keep],
            snapshots={k: v[keep] for k, v in self.snapshots.items()},
            state=self.snapshot_state(n),
            state_snapshots={k: v[keep] for k, v in self.state_snapshots.items()},
            status=Status.FINISHED,
            diverged_at=None,
            message=f"finished {n} iterations",
            # row n of the history is the forward pass of the params after n updates
            loss=float(row["loss"][n]),
            train_accuracy=float(row["train_accuracy"][n]),
            dev_accuracy=float(row["dev_accuracy"][n]),
            dev_loss=float(row["dev_loss"][n]),
        )


Callback = Callable[[Progress], "bool | None"]


def gradient_descent(
    X,
    y,
    config: TrainConfig | None = None,
    *,
    iterations=500,
    X_dev=None,
    y_dev=None,
    callback: Callback | None = None,
    callback_every=10,
    workers=None,
    **settings,
) -> TrainResult:
    """Train the network from ``init_params(hidden, seed)`` for ``iterations`` updates.

    Settings come as a TrainConfig or as its fields by keyword, as in the notebook:
    ``gradient_descent(X, y, hidden=10, alpha=0.1, iterations=500)`` (not both).
    X: images one per row, (m, 784) or (m, 28, 28), uint8 pixels (scaled by 1/255 here) or
    floats already in [0, 1]; y: labels 0..9. Full-batch gradient descent unless
    ``batch_size`` is set (then batch order is a pure function of seed and iteration).
    ``callback(progress)`` runs every ``callback_every`` updates; returning True stops training.
    Fast by default: ``workers`` threads share the blocks of rows (numpy and BLAS release the
    GIL), None meaning min(2, cores) or NNMATH_TRAIN_WORKERS, and BLAS is limited to one thread
    for the duration of the call (nnmath._threads; a caller inside threadpool_limits keeps its
    own choice). The numbers do not depend on ``workers``.
    Never prints. Stops early with status "diverged" when the loss is not finite or more than
    DIVERGENCE_FACTOR times the starting loss, keeping the last parameters before that.
    """
    if config is not None and settings:
        raise ValueError(
            f"give the settings as config or as keywords, not both (got config and "
            f"{', '.join(sorted(settings))})"
        )
    config = (config.train_config() if config is not None else TrainConfig.of(settings)).validated()
    iterations = check_int("iterations", iterations, 0, maximum=MAX_ITERATIONS)
    data = _Data.checked(X, y, X_dev, y_dev, config.dtype, config.augment)
    params = init_params(config.hidden, config.seed, init=config.init, dtype=config.dtype)
    start = TrainResult.start(config, params, n_train=data.m)
    return _run(
        start,
        data,
        iterations,
        callback,
        check_int("callback_every", callback_every, 1),
        resolve_workers(workers),
    )


def continue_training(
    result: TrainResult,
    X,
    y,
    *,
    iterations,
    X_dev=None,
    y_dev=None,
    callback: Callback | None = None,
    callback_every=10,
    workers=None,
) -> TrainResult:
    """``iterations`` more updates of a run, on the same training data.

    Gives the same numbers, bit for bit, as one run of the total length (elapsed aside).
    ``workers`` and BLAS threads as in :func:`gradient_descent`.
    A diverged run is returned unchanged: the long run would have stopped there too.
    """
    iterations = check_int("iterations", iterations, 0, maximum=MAX_ITERATIONS)
    data = _Data.checked(X, y, X_dev, y_dev, result.config.dtype, result.config.augment)
    if result.n_train and data.m != result.n_train:
        raise ValueError(
            f"X must be the run's training set of {result.n_train} rows, got {data.m} rows"
        )
    if result.status == Status.DIVERGED:
        return result
    return _run(
        result,
        data,
        iterations,
        callback,
        check_int("callback_every", callback_every, 1),
        resolve_workers(workers),
    )


@dataclass
class _Images:
    """One set of images (train or dev) as the block loop reads it.

    Two exact rewrites of Z1 = (X / 255) @ W1 save work on every block (the bench measures both):
    - the 1/255 moves from the pixels onto W1: (X / 255) @ W1 == X @ (W1 / 255), so a block is
      converted from uint8 but never scaled, and dW1 = (X / 255).T @ dZ1 == (X.T @ dZ1) / 255;
    - pixel columns that are 0 in every image of the set are left out: they add nothing to Z1 and
      their rows of dW1 are exactly 0 (a sum of 0 * dZ1). Real MNIST has many (the embedded
      sample's 4,000 training images: 123 of 784); random test data has none.
    Both apply to uint8 pixels only; float images are read as they are.
    """

    X: np.ndarray  # (m, k) uint8 pixels or floats: the `live` columns of the images
    live: np.ndarray | None  # (k,) which of the 784 pixel columns X holds; None: all of them
    scale: float  # 1/255 for uint8 pixels, 1 for floats in [0, 1]
    y: np.ndarray  # (m,) int
    Y: np.ndarray  # (m, 10) one-hot in the training dtype

    @property
    def m(self) -> int:
        return self.X.shape[0]

    @staticmethod
    def of(X, y, dtype, name, *, all_columns=False) -> _Images:
        """``all_columns``: keep every pixel column (augmented images light up any of them)."""
        X = check_images(X, name)
        y = check_labels(y, X.shape[0], "y" if name == "X" else "y_dev")
        live, scale = None, 1.0
        if X.dtype == np.uint8:
            scale = 1 / 255
            used = np.flatnonzero(X.any(axis=0))
            if 0 < len(used) < X.shape[1] and not all_columns:
                # take: one C-ordered copy (X[:, used] is F-ordered, so making it C copied twice)
                live, X = used, X.take(used, axis=1)  # (m, k) uint8, a copy
        return _Images(X, live, scale, y, one_hot(y, dtype=dtype))

    def block_params(self, params: Params) -> Params:
        """params as this set's blocks use them: W1 cut to the live rows, times the scale."""
        W1 = params.W1 if self.live is None else params.W1[self.live]  # (k, h)
        if self.scale != 1:
            W1 = W1 * W1.dtype.type(self.scale)
        return replace(params, W1=W1)

    def full_dW1(self, dW1) -> np.ndarray:
        """(k, h) gradient of the block weights -> (784, h) gradient of W1."""
        if self.scale != 1:
            dW1 = dW1 * dW1.dtype.type(self.scale)
        if self.live is None:
            return dW1
        full = np.zeros((N_PIXELS, dW1.shape[1]), dW1.dtype)  # (784, h)
        full[self.live] = dW1
        return full


@dataclass
class _Data:
    train: _Images
    dev: _Images | None
    dtype: np.dtype

    @property
    def m(self) -> int:
        return self.train.m

    @staticmethod
    def checked(X, y, X_dev, y_dev, dtype, augment="none") -> _Data:
        dtype = np.dtype(dtype)
        train = _Images.of(X, y, dtype, "X", all_columns=augment != "none")
        if augment != "none" and train.X.dtype != np.uint8:
            raise ValueError(
                f"augment={augment!r} needs X as uint8 pixels 0..255, got dtype {train.X.dtype}"
            )
        if train.m == 0:
            raise ValueError("X must hold at least 1 image, got 0 rows")
        if (X_dev is None) != (y_dev is None):
            raise ValueError(
                "X_dev and y_dev must be given together, got only "
                + ("X_dev" if y_dev is None else "y_dev")
            )
        dev = None if X_dev is None else _Images.of(X_dev, y_dev, dtype, "X_dev")
        return _Data(train, dev, dtype)


def _block(X, rows, start, stop, buffer, transform=None):
    """Rows start:stop of X (or of X[rows]) as floats, converted into ``buffer`` (after
    ``transform`` of the uint8 rows: augmentation).

    Converting one block at a time keeps memory at a block's worth of floats however large
    the uint8 X is, and the block is still in cache when both matmuls read it.
    """
    part = X[start:stop] if rows is None else X[rows[start:stop]]
    if transform is not None:
        part = transform(part)
    if part.dtype == buffer.dtype:
        return part  # already floats of the right type
    out = buffer[: part.size].reshape(part.shape)  # (block, k) contiguous view
    with others_turn():
        np.copyto(out, part, casting="unsafe")
    return out


@dataclass(frozen=True)
class _Noise:
    """The training-only randomness of iteration ``iteration``: dropout masks and augmented
    images, drawn per block from generators seeded by (seed, iteration, block), so that they do
    not depend on the thread count, and a resumed run draws what the unbroken one did."""

    config: TrainConfig
    iteration: int

    def rng(self, block: int, purpose: int) -> np.random.Generator:
        return np.random.default_rng([self.config.seed, self.iteration, block, purpose])

    def transform(self, block: int):
        c = self.config
        if c.augment == "none":
            return None
        return lambda part: augment(part, c.augment, c.augment_level, self.rng(block, 0))

    def keep(self, block: int, rows: int, hidden: int, dtype) -> np.ndarray | None:
        """Inverted dropout's mask (rows, hidden): 0 with probability p, else 1 / (1 - p)."""
        p = self.config.dropout
        if not p:
            return None
        draws = self.rng(block, 1).random((hidden, rows)).T  # (rows, hidden) column-major
        kept = draws >= p
        return np.multiply(kept, dtype.type(1 / (1 - p)), dtype=dtype)

    @staticmethod
    def of(config: TrainConfig, iteration: int) -> _Noise | None:
        if config.dropout == 0 and config.augment == "none":
            return None
        return _Noise(config, iteration)


class _Pass(NamedTuple):
    images: _Images
    m: int
    results: Iterator  # (loss, correct, grads or None) per block, in block order


def _pass(params, images: _Images, blocks: Blocks, *, rows=None, backward=True, activation="relu"):
    """Loss, accuracy and (optionally) full-batch gradients of params on the images[rows]."""
    return _collect(
        _start_pass(params, images, blocks, rows=rows, backward=backward, activation=activation)
    )


def _start_pass(
    params,
    images: _Images,
    blocks: Blocks,
    *,
    rows=None,
    backward=True,
    activation="relu",
    noise: _Noise | None = None,
) -> _Pass:
    """Hands the blocks of one pass to the workers (all at once, so a second pass started before
    this one is collected keeps both threads busy).

    The gradient of a mean over m samples is a sum over samples, so it is computed block by
    block with backward_propagation(..., m=m) and the block gradients are added, in block order
    (a fixed order, whichever thread computed which block).
    """
    m = images.m if rows is None else len(rows)
    X, Y, y = images.X, images.Y, images.y
    block_params = images.block_params(params)  # W1: live rows only, times 1/255

    def one_block(start):
        stop = min(start + BLOCK_ROWS, m)
        buffer = blocks.buffers.get()
        block = start // BLOCK_ROWS
        transform = keep = None
        if noise is not None:
            transform = noise.transform(block)
            keep = noise.keep(block, stop - start, params.hidden, params.dtype)
        try:
            Xb = _block(X, rows, start, stop, buffer, transform)  # (block, k)
            Yb = Y[start:stop] if rows is None else Y[rows[start:stop]]  # (block, 10)
            yb = y[start:stop] if rows is None else y[rows[start:stop]]  # (block,)
            cache = forward_propagation(block_params, Xb, activation=activation, keep=keep)
            loss, correct = scores(cache.Z2, cache.A2, yb, m=m)
            grads = (
                backward_propagation(
                    block_params, cache, Xb, Yb, m=m, activation=activation, keep=keep
                )
                if backward
                else None
            )
        finally:
            blocks.buffers.put(buffer)
        return loss, correct, grads

    return _Pass(images, m, blocks.map(one_block, range(0, m, BLOCK_ROWS)))


def _collect(started: _Pass):
    loss, correct, total = 0.0, 0, None
    for block_loss, block_correct, grads in started.results:
        loss += block_loss
        correct += block_correct
        if total is None:
            total = grads  # fresh arrays of ours: safe to add into
        elif grads is not None:
            for name in ("dW1", "db1", "dW2", "db2"):
                getattr(total, name).__iadd__(getattr(grads, name))
    if total is not None:
        total = replace(total, dW1=started.images.full_dW1(total.dW1))
    return loss, correct / started.m, total


def _batch_rows(seed, iteration, m, batch_size):
    """Sorted row indices of the mini-batch of `iteration`: a pure function of its arguments.

    Epoch e = iteration // batches_per_epoch visits the rows in the order of a permutation drawn
    from default_rng([seed, e]); so a resumed run draws the same batches as an unbroken one.
    """
    per_epoch = -(-m // batch_size)
    epoch, k = divmod(iteration, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(m)
    return np.sort(order[k * batch_size : (k + 1) * batch_size])


def _run(
    result: TrainResult, data: _Data, more: int, callback, callback_every, workers
) -> TrainResult:
    with one_blas_thread(), Blocks(workers, data.dtype, BLOCK_ROWS * N_PIXELS) as blocks:
        return _iterate(result, data, more, callback, callback_every, blocks)


def _iterate(result, data, more, callback, callback_every, blocks) -> TrainResult:
    config = result.config
    act = config.activation
    done = result.iterations
    total = done + more
    rows_hist = {name: np.full(more, np.nan) for name in History.FIELDS}
    snap_iters = list(result.snapshot_iterations)
    snaps = {name: list(result.snapshots.get(name, ())) for name in PARAM_NAMES}
    snaps.update(
        {name: list(result.state_snapshots.get(name, ())) for name in state_names(config.optimizer)}
    )
    elapsed0 = result.elapsed
    params = prev_params = result.params
    state = prev_state = result.state or init_state(config.optimizer, params)
    status, diverged_at, message = Status.FINISHED, None, f"finished {total} iterations"
    t0 = time.perf_counter()
    i = done
    while i < total:
        rows = None
        if config.batch_size is not None and config.batch_size < data.m:
            rows = _batch_rows(config.seed, i, data.m, config.batch_size)
        train_pass = _start_pass(
            params, data.train, blocks, rows=rows, activation=act, noise=_Noise.of(config, i)
        )
        dev_pass = (
            None
            if data.dev is None
            # same params: runs beside the train pass
            else _start_pass(params, data.dev, blocks, backward=False, activation=act)
        )
        loss, acc, grads = _collect(train_pass)
        if i == 0:
            start_loss = loss
        elif len(result.history) and i == done:
            start_loss = float(result.history.loss[0])
        if not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * start_loss:
            status, diverged_at = Status.DIVERGED, i
            why = (
                f"loss is {loss}"
                if not math.isfinite(loss)
                else f"loss {loss:.4g} > {DIVERGENCE_FACTOR:g} × the starting loss {start_loss:.4g}"
            )
            if i > done:  # keep the last finite parameters: those of iteration i - 1
                params, state = prev_params, prev_state
                i -= 1
            message = (
                f"diverged at iteration {diverged_at} ({why}) — lower alpha "
                f"(was {config.alpha:g}); kept the parameters of iteration {i}"
            )
            break
        row = i - done
        rows_hist["loss"][row] = loss
        rows_hist["train_accuracy"][row] = acc
        if dev_pass is not None:
            dev_loss, dev_acc, _ = _collect(dev_pass)
            rows_hist["dev_loss"][row], rows_hist["dev_accuracy"][row] = dev_loss, dev_acc
        if i % config.snapshot_every == 0 and (not snap_iters or snap_iters[-1] != i):
            _add_snapshot(snap_iters, snaps, i, params, state)
        prev_params, prev_state = params, state
        params, state = optimizer_step(params, grads, state, config, i)
        i += 1
        rows_hist["elapsed"][row] = elapsed0 + time.perf_counter() - t0
        if callback is not None and (i % callback_every == 0 or i == total):
            progress = Progress(
                iteration=i,
                total=total,
                loss=loss,
                train_accuracy=acc,
                dev_accuracy=float(rows_hist["dev_accuracy"][row]),
                history=_joined(result.history, rows_hist, row + 1),
                params=params,
                checkpoint=partial(
                    _checkpoint,
                    result,
                    rows_hist,
                    row + 1,
                    list(snap_iters),
                    snaps,
                    params,
                    state,
                    i,
                ),
            )
            if callback(progress) and i < total:
                status, message = Status.STOPPED, f"stopped by the caller at iteration {i}"
                break
    n_new = i - done
    history = _joined(result.history, rows_hist, n_new)
    # Metrics of the final parameters on the whole training (and dev) set.
    loss, acc, _ = _pass(params, data.train, blocks, backward=False, activation=act)
    dev_loss = dev_acc = math.nan
    if data.dev is not None:
        dev_loss, dev_acc, _ = _pass(params, data.dev, blocks, backward=False, activation=act)
    if not snap_iters or snap_iters[-1] != i:
        _add_snapshot(snap_iters, snaps, i, params, state)
    if status == Status.FINISHED and diverged_at is None:
        message = f"finished {i} iterations"
    return TrainResult(
        config=config,
        params=params,
        history=history,
        iterations=i,
        snapshot_iterations=np.array(snap_iters, dtype=np.int64),
        snapshots={name: np.stack(snaps[name]) for name in PARAM_NAMES},
        state=state,
        state_snapshots={k: np.stack(v) for k, v in snaps.items() if k not in PARAM_NAMES},
        status=status,
        diverged_at=diverged_at,
        message=message,
        loss=loss,
        train_accuracy=acc,
        dev_accuracy=dev_acc,
        dev_loss=dev_loss,
        n_train=data.m,
    )


def _checkpoint(base, rows_hist, n_rows, snap_iters, snaps, params, state, i) -> TrainResult:
    """The run after ``i`` updates, for a callback to save: ``continue_training`` from it gives
    the same numbers, bit for bit, as the unbroken run (elapsed aside), snapshots included.

    So it holds the snapshots at multiples of snapshot_every up to ``i`` only (not one at ``i``,
    which the unbroken run would not have), and no final pass over the training set is made:
    its loss and accuracies are NaN (the history holds the metrics of every iteration before)."""
    config = base.config
    snap_iters = list(snap_iters)
    arrays = {name: list(snaps[name][: len(snap_iters)]) for name in snaps}
    if i % config.snapshot_every == 0 and (not snap_iters or snap_iters[-1] != i):
        _add_snapshot(snap_iters, arrays, i, params, state)
    return replace(
        base,
        params=params,
        history=_joined(base.history, rows_hist, n_rows),
        iterations=i,
        snapshot_iterations=np.array(snap_iters, dtype=np.int64),
        snapshots={name: np.stack(arrays[name]) for name in PARAM_NAMES},
        state=state,
        state_snapshots={k: np.stack(v) for k, v in arrays.items() if k not in PARAM_NAMES},
        status=Status.PARTIAL,
        diverged_at=None,
        message=f"checkpoint at iteration {i}",
        loss=math.nan,
        train_accuracy=math.nan,
        dev_accuracy=math.nan,
        dev_loss=math.nan,
    )


def _add_snapshot(snap_iters, snaps, i, params, state):
    snap_iters.append(i)
    for name, array in {**params.arrays(), **state}.items():
        snaps[name].append(array.copy())


def _joined(old: History, new_rows: dict, n: int) -> History:
    return History(
        **{
            name: np.concatenate([getattr(old, name), new_rows[name][:n]])
            for name in History.FIELDS
        }
    )

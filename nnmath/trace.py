"""One image through one training step, every intermediate array kept, and the source line of
nnmath that computes each of them.

:func:`trace_step` does not re-implement anything: it calls forward_propagation, cross_entropy,
backward_propagation and update_params of network.py on a batch of one image, so the numbers it
returns are the library's numbers. :func:`equation_lines` reads the line of network.py that
computes each quantity from the source (``inspect``), so a page can show the code without
retyping it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import N_PIXELS, check_alpha, check_images
from .network import (
    Params,
    backward_propagation,
    cross_entropy,
    forward_propagation,
    one_hot,
    scale_pixels,
    update_params,
)


@dataclass(frozen=True)
class StepTrace:
    """Everything one gradient-descent step computes for a batch of one image (m = 1)."""

    X: np.ndarray  # (1, 784)  pixels / 255
    y: int  # the label
    Y: np.ndarray  # (1, 10)   one_hot(y)
    Z1: np.ndarray  # (1, h)
    A1: np.ndarray  # (1, h)
    Z2: np.ndarray  # (1, 10)
    A2: np.ndarray  # (1, 10)
    loss: float  # -log A2[0, y]
    dZ2: np.ndarray  # (1, 10)
    dW2: np.ndarray  # (h, 10)
    db2: np.ndarray  # (10,)
    dA1: np.ndarray  # (1, h)
    dZ1: np.ndarray  # (1, h)
    dW1: np.ndarray  # (784, h)
    db1: np.ndarray  # (h,)
    alpha: float
    params: Params  # before the step
    updated: Params  # after W <- W - alpha * dW
    loss_after: float  # the loss on this same image with the updated params
    A2_after: np.ndarray  # (1, 10)


def trace_step(params: Params, x, y, alpha, *, activation="relu") -> StepTrace:
    """One step of gradient descent on the single image ``x`` (784 or 28x28 pixels, uint8 0..255
    or floats in [0, 1]) with label ``y``, learning rate ``alpha``; every array it computes."""
    alpha = check_alpha(alpha)
    x = np.asarray(x)
    if x.size != N_PIXELS:
        raise ValueError(f"x must have {N_PIXELS} pixels (28x28), got shape {x.shape}")
    y = int(y)
    if not 0 <= y <= 9:
        raise ValueError(f"y must be a digit 0..9, got {y}")
    X = scale_pixels(check_images(x.reshape(1, N_PIXELS), "x"), params.dtype)  # (1, 784)
    Y = one_hot([y], dtype=params.dtype)  # (1, 10)
    cache = forward_propagation(params, X, activation=activation)
    loss = cross_entropy(cache.Z2, Y)
    grads = backward_propagation(params, cache, X, Y, activation=activation)
    updated = update_params(params, grads, alpha)
    after = forward_propagation(updated, X, activation=activation)
    # Grads holds the bias gradients, not dZ2 and dZ1; with one image (one row) the sum over
    # samples, db = ones(1) @ dZ, is that row itself, bit for bit. dA1 is not returned by
    # backward_propagation either: it is recomputed by the same expression as its line.
    dZ2 = grads.db2[None, :]  # (1, 10)
    return StepTrace(
        X=X,
        y=y,
        Y=Y,
        Z1=cache.Z1,
        A1=cache.A1,
        Z2=cache.Z2,
        A2=cache.A2,
        loss=loss,
        dZ2=dZ2,
        dW2=grads.dW2,
        db2=grads.db2,
        dA1=dZ2 @ params.W2.T,  # (1, h)
        dZ1=grads.db1[None, :],  # (1, h)
        dW1=grads.dW1,
        db1=grads.db1,
        alpha=alpha,
        params=params,
        updated=updated,
        loss_after=cross_entropy(after.Z2, Y),
        A2_after=after.A2,
    )


class SourceLine(NamedTuple):
    """One line of nnmath's source: the file (relative to the package), its 1-based number and
    the text without its indentation."""

    file: str
    lineno: int
    text: str


# quantity -> (function of network.py whose body computes it, how the computing line starts)
_EQUATIONS: dict[str, tuple[object, str]] = {
    "Z1": (forward_propagation, "Z1 ="),
    "A1": (forward_propagation, "A1 ="),
    "Z2": (forward_propagation, "Z2 ="),
    "A2": (forward_propagation, "A2 ="),
    "L": (cross_entropy, "return -float(np.sum(Y * log_softmax(Z2)"),
    "dZ2": (backward_propagation, "dZ2 ="),
    "dW2": (backward_propagation, "dW2 ="),
    "db2": (backward_propagation, "db2 ="),
    "dA1": (backward_propagation, "dA1 ="),
    "dZ1": (backward_propagation, "dZ1 ="),
    "dW1": (backward_propagation, "dW1 ="),
    "db1": (backward_propagation, "db1 ="),
    "W1": (update_params, "W1="),
    "b1": (update_params, "b1="),
    "W2": (update_params, "W2="),
    "b2": (update_params, "b2="),
}

EQUATIONS = tuple(_EQUATIONS)


def equation_line(name: str) -> SourceLine:
    """The line of nnmath/network.py that computes ``name`` (one of :data:`EQUATIONS`), read from
    the source as it is now."""
    if name not in _EQUATIONS:
        raise ValueError(f"name must be one of {', '.join(EQUATIONS)}, got {name!r}")
    function, start = _EQUATIONS[name]
    lines, first = inspect.getsourcelines(function)
    for offset, line in enumerate(lines):
        if line.strip().startswith(start):
            file = inspect.getsourcefile(function)
            return SourceLine(_package_relative(file), first + offset, line.strip())
    raise LookupError(f"no line starting with {start!r} in {function.__name__}")


def equation_lines() -> dict[str, SourceLine]:
    return {name: equation_line(name) for name in EQUATIONS}


def _package_relative(file: str | None) -> str:
    parts = str(file).replace("\\", "/").split("/")
    return "/".join(parts[-2:])

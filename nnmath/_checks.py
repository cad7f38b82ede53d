"""Argument validation: every error names the parameter, the rule and the value."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

N_PIXELS = 784
N_CLASSES = 10
DTYPES = ("float32", "float64")
INITS = ("uniform", "he")


def check_int(name, value, minimum, *, allow_none=False, maximum=None):
    if value is None and allow_none:
        return None
    if maximum is not None:
        return Bounds(minimum, maximum).check(name, value, int, allow_none)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {short(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@dataclass(frozen=True)
class Bounds:
    """What one setting may be: an int or float in [low, high] (an end excluded with
    ``open_low``/``open_high``), or one of ``choices`` (strings); None as well when ``optional``.
    Every message states the whole rule, so a visitor who typed 1e300 learns what the setting
    accepts."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] = ()

    def rule(self, kind: type = int, optional: bool = False) -> str:
        """The rule in words: 'an integer between 1 and 10000', 'in (0, 1000000]',
        "one of ['uniform', 'he']"."""
        if self.choices:
            text = f"one of {list(self.choices)}"
        elif kind is int:
            text = f"an integer between {_num(self.low)} and {_num(self.high)}"
        else:
            left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
            text = f"in {left}{_num(self.low)}, {_num(self.high)}{right}"
        return text + (" (or None)" if optional else "")

    def check(self, name: str, value, kind: type = int, optional: bool = False):
        """``value`` as a plain int/float/str; ValueError naming the setting, its rule and the
        value. Bools are not numbers here, floats are not integers, NaN and inf are refused."""
        if value is None and optional:
            return None
        plain_number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        if self.choices:
            if isinstance(value, str) and value in self.choices:
                return value
        elif kind is int:
            if isinstance(value, numbers.Integral) and plain_number and self._holds(value):
                return int(value)
        elif plain_number and math.isfinite(float(value)) and self._holds(float(value)):
            return float(value)
        raise ValueError(f"{name} must be {self.rule(kind, optional)}, got {short(value)}")

    def _holds(self, x) -> bool:
        above = x > self.low if self.open_low else x >= self.low
        return above and (x < self.high if self.open_high else x <= self.high)

    @staticmethod
    def shown(value) -> str:
        """``value`` as messages quote it: cut to about 40 characters (a 5,000-digit URL value
        is not echoed back whole)."""
        return short(value)


def short(value, limit: int = 40) -> str:
    if isinstance(value, numbers.Integral) and int(value).bit_length() > 4 * limit:
        # str() of an int of thousands of digits raises (Python's limit) and is slow anyway
        return f"an integer of about {int(int(value).bit_length() * 0.30103):,} digits"
    text = str(value)
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else text
    cut = text[: limit - 10]
    what = "digits" if isinstance(value, numbers.Integral) else "characters"
    return (
        f"{cut!r}… ({len(text):,} {what})"
        if isinstance(value, str)
        else f"{cut}… ({len(text):,} {what})"
    )


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) and not float(x).is_integer() else f"{int(x)}"


def check_alpha(alpha):
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise ValueError(f"alpha must be a number > 0, got {alpha!r}")
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    return float(alpha)


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def dtype_name(dtype):
    """'float32' | 'float64' from a string or numpy dtype; ValueError otherwise (numpy's dtype
    parser is only asked about short strings: '1_0' or '(1000000000,)f8' make it raise
    SyntaxError or ValueError, 5,000 digits make it parse for long)."""
    name = None
    if not isinstance(dtype, str) or len(dtype) <= 16:
        try:
            name = np.dtype(dtype).name
        except Exception:  # noqa: BLE001 - TypeError, ValueError, SyntaxError: all "not a dtype"
            name = None
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {short(dtype)}")
    return name


def check_images(X, name="X"):
    """Images one per row: (m, 784) or (m, 28, 28); uint8 pixels 0..255 or floats in [0, 1].

    Returns a 2-D view (no copy). Float inputs are scanned once for NaN and range.
    """
    X = np.asarray(X)
    if X.ndim == 3 and X.shape[1:] == (28, 28):
        X = X.reshape(X.shape[0], N_PIXELS)
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise ValueError(
            f"{name} must have shape (m, 784), one image of 28*28 pixels per row, "
            f"got shape {X.shape}"
        )
    if X.dtype == np.uint8:
        return X
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(
            f"{name} must be uint8 pixels 0..255 or floats in [0, 1], got dtype {X.dtype}"
        )
    if X.size:
        nan_rows = np.flatnonzero(np.isnan(X).any(axis=1))
        if nan_rows.size:
            raise ValueError(f"{name} must not contain NaN, got NaN in row {nan_rows[0]}")
        low, high = X.min(), X.max()
        if low < 0 or high > 1:
            raise ValueError(
                f"{name} float pixels must be in [0, 1] (divide uint8 pixels by 255),"
                f" got values in [{low}, {high}]"
            )
    return X


def check_labels(y, m, name="y"):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != m:
        raise ValueError(f"{name} must have one label per image: shape ({m},), got shape {y.shape}")
    if y.size == 0:
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(f"{name} must hold integer labels 0..9, got non-integer values")
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels 0..9, got dtype {y.dtype}")
    bad = np.flatnonzero((y < 0) | (y >= N_CLASSES))
    if bad.size:
        raise ValueError(f"{name} must hold labels 0..9, got {y[bad[0]]} at index {bad[0]}")
    return y.astype(np.int64)


def check_real(name, value, low, high, *, low_open=False, high_open=False):
    """A finite number in [low, high] (an open end with ``low_open``/``high_open``) as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    if (
        not np.isfinite(value)
        or value < low
        or value > high
        or (low_open and value == low)
        or (high_open and value == high)
    ):
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value:g}")
    return value

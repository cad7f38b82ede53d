"""Plain numbers for records, JSON and tables: the one NaN-aware conversion of the project."""

from __future__ import annotations

import math
from typing import Any


def as_float(value: Any) -> float:
    """A Python float; NaN when ``value`` is not a number (None, text, missing)."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int of 400 digits
        return math.nan


def finite_or_none(value: Any) -> float | None:
    """A Python float, or None when ``value`` is not a finite number (for JSON, which has no NaN)."""
    value = as_float(value)
    return value if math.isfinite(value) else None

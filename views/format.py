"""How numbers read on screen: one place, so every page shows a missing value the same way."""

from __future__ import annotations

import math

from engine.values import as_float

MISSING = "—"  # a value that does not exist: no dev set, a run that diverged at once


def pct(x) -> str:
    """A share as '85.0%', or '—' when there is none."""
    x = as_float(x)
    return MISSING if math.isnan(x) else f"{x:.1%}"


def number(x, fmt: str = ".3f") -> str:
    """``x`` formatted with ``fmt`` ('.3f', ',', '.1f', ...), or '—' when it is not a number."""
    x = as_float(x)
    return MISSING if math.isnan(x) else format(x, fmt)

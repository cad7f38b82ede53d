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


#: A share in a table column: the column holds percent (see percent_column), drawn as '85.0%'
#: (Streamlit's own "percent" format drops trailing zeros: 97% beside 91.51%).
PERCENT_COLUMN = "%.1f%%"
TRAINING_TIME_HELP = (
    "Seconds spent in the training iterations (the gradient-descent steps, over every "
    "continuation of the run); loading the data and drawing the page are not counted."
)


def percent_column(values):
    """Shares (0..1, NaN where missing) as percent for a table column shown with PERCENT_COLUMN."""
    return values * 100


def points(a, b) -> str:
    """The change from share ``a`` to share ``b`` in percentage points ('+1.2 pts'), or '' when
    either is missing."""
    a, b = as_float(a), as_float(b)
    return "" if math.isnan(a) or math.isnan(b) else f"{(b - a) * 100:+.1f} pts"


def upper_first(text: str) -> str:
    """``text`` with its first letter a capital: a lower-case message made a sentence."""
    return text[:1].upper() + text[1:]


def span(x: float) -> str:
    """A time limit in words: '10 minutes', '90 s'."""
    if x >= 120 and x % 60 == 0:
        return f"{x / 60:g} minutes"
    return f"{x:g} s"


def seconds(x) -> str:
    """A duration as '2.6 s', or '—' when there is none."""
    return number(x, ".1f") + ("" if math.isnan(as_float(x)) else " s")

"""How numbers read on screen: one place, so every page shows a missing value the same way."""

from __future__ import annotations

import math
from decimal import Decimal

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
    either is missing: the difference of the two as :func:`pct` writes them (85.0% → 86.2% is
    +1.2 pts even when the unrounded shares differ by 1.16 points)."""
    a, b = as_float(a), as_float(b)
    if math.isnan(a) or math.isnan(b):
        return ""
    return f"{shown_difference(b, a, '.1%'):+.1f} pts"  # of the two as pct() writes them


def upper_first(text: str) -> str:
    """``text`` with its first letter a capital: a lower-case message made a sentence."""
    return text[:1].upper() + text[1:]


def listed(items) -> str:
    """Words as a reader lists them: "a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def span(x: float) -> str:
    """A time limit in words: '10 minutes', '90 s'."""
    if x >= 120 and x % 60 == 0:
        return f"{x / 60:g} minutes"
    return f"{x:g} s"


def seconds(x) -> str:
    """A duration as '2.6 s', or '—' when there is none."""
    return number(x, ".1f") + ("" if math.isnan(as_float(x)) else " s")


def as_shown(x: float, fmt: str) -> Decimal:
    """The number a reader sees when ``x`` is written with ``fmt`` ('.3f', '.1%', ',.0f'), in
    the units written (percent for '%'): the value to do a page's arithmetic with, so that a sum
    or a difference the page writes holds for the digits it writes."""
    return Decimal(format(x, fmt).replace(",", "").rstrip("%"))


def shown_difference(a: float, b: float, fmt: str) -> Decimal:
    """``a`` − ``b`` as a reader computes it from the two written with ``fmt``: 85.0% − 83.4% is
    1.6 points even when the unrounded shares differ by 1.64."""
    return as_shown(a, fmt) - as_shown(b, fmt)


def written_sum(values, fmt: str) -> Decimal:
    """What ``values`` add up to as a reader adds them, each written with ``fmt`` (:func:`as_shown`)."""
    return sum((as_shown(v, fmt) for v in values), Decimal(0))


def decimals_adding_up(sums, start: int = 3, most: int = 9) -> int | None:
    """The fewest decimals (at least ``start``, at most ``most``) at which each of ``sums``, a
    list of (parts, total), adds up as written: the parts written with that many decimals add up
    to the total written with them (2.698 − 0.345 − 0.395 = 1.958 is no check of a total written
    1.959; with 4 decimals it may be). None when no count up to ``most`` does."""
    for d in range(start, most + 1):
        fmt = f".{d}f"
        if all(written_sum(parts, fmt) == as_shown(t, fmt) for parts, t in sums):
            return d
    return None


def decimals_apart(high: float, low: float, start: int = 0, most: int = 6) -> int:
    """The fewest decimals of a percentage (at least ``start``) at which ``high`` is written
    above ``low``: two probabilities both written 48% say nothing of which is the answer."""
    for d in range(start, most + 1):
        if as_shown(high, f".{d}%") > as_shown(low, f".{d}%"):
            return d
    return most

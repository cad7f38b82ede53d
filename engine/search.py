"""Random search: N settings drawn from ranges, reproducible from a seed and a link.

A range is typed as ``low-high`` (``0.01-1`` for alpha, ``10-128`` for hidden units); alpha is
drawn log-uniformly (a learning rate's scale matters, not its digits), hidden units uniformly
among the integers, both from ``numpy.random.default_rng(seed)``, so the same text and seed
give the same settings on every server. Everything is counted and bounded before anything is
drawn: at most :data:`MAX_DRAWS` settings per search.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from engine.config import MAX_HIDDEN

MAX_DRAWS = 64
ALPHA_BOUNDS = (1e-4, 10.0)  # what the Train page offers, widened to a log range
_NUMBER = r"\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*"
_RANGE = re.compile(f"{_NUMBER}-{_NUMBER}", re.IGNORECASE)


@dataclass(frozen=True)
class Search:
    """What a random search draws: ``n`` settings, alpha in [alpha_low, alpha_high] (log-
    uniform), hidden in [hidden_low, hidden_high] (uniform integers), from ``seed``."""

    n: int
    alpha_low: float
    alpha_high: float
    hidden_low: int
    hidden_high: int
    seed: int = 0

    def draws(self) -> list[dict]:
        """[{"alpha": ..., "hidden": ...}, ...]: ``n`` settings, in draw order. Alphas are
        rounded to 3 significant digits, so a link reproduces them exactly and the run cache
        can share runs between searches."""
        rng = np.random.default_rng(self.seed)
        logs = rng.uniform(math.log(self.alpha_low), math.log(self.alpha_high), self.n)
        hidden = rng.integers(self.hidden_low, self.hidden_high, self.n, endpoint=True)
        return [
            {"alpha": float(f"{math.exp(a):.3g}"), "hidden": int(h)} for a, h in zip(logs, hidden)
        ]

    def to_query(self) -> dict[str, str]:
        return {
            "search": "random",
            "n": str(self.n),
            "alpha_range": f"{self.alpha_low:g}-{self.alpha_high:g}",
            "hidden_range": f"{self.hidden_low}-{self.hidden_high}",
            "search_seed": str(self.seed),
        }


def parse_range(text: str, name: str, bounds: tuple[float, float], integer: bool = False):
    """``low-high`` within ``bounds`` (inclusive), low <= high; a ValueError naming the rule."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError(f"{name} must be a range such as 0.01-1")
    m = _RANGE.fullmatch(text)
    if not m:
        raise ValueError(f"{name} must be a range low-high such as 0.01-1, got {text!r}")
    low, high = (float(v) for v in m.groups())
    if integer:
        if not (low.is_integer() and high.is_integer()):
            raise ValueError(f"{name} must be whole numbers, got {text!r}")
        low, high = int(low), int(high)
    if not (bounds[0] <= low <= high <= bounds[1]):
        raise ValueError(
            f"{name} must satisfy {bounds[0]:g} <= low <= high <= {bounds[1]:g}, got {text!r}"
        )
    return low, high


def parse_search(n, alpha_text: str, hidden_text: str, seed, max_draws: int = MAX_DRAWS) -> Search:
    """A :class:`Search` from what a page or a link holds (strings or numbers)."""
    try:
        n = int(str(n).strip())
    except ValueError:
        raise ValueError(
            f"the number of settings must be a whole number, got {str(n)[:20]!r}"
        ) from None
    if not 1 <= n <= max_draws:
        raise ValueError(f"the number of settings must be 1 to {max_draws}, got {n}")
    try:
        seed = int(str(seed).strip())
    except ValueError:
        raise ValueError(
            f"the search seed must be a whole number, got {str(seed)[:20]!r}"
        ) from None
    if not 0 <= seed < 2**32:
        raise ValueError(f"the search seed must be 0 to {2**32 - 1}, got {seed}")
    a_low, a_high = parse_range(alpha_text, "alpha range", ALPHA_BOUNDS)
    h_low, h_high = parse_range(hidden_text, "hidden range", (1, MAX_HIDDEN), integer=True)
    return Search(n, a_low, a_high, h_low, h_high, seed)

"""Is the difference real? Seeds as groups, intervals for a difference, and which setting mattered.

- :func:`group_key` / :func:`groups`: runs that differ only in their seed (same dataset, split,
  every other setting and the same length) form a group; :func:`summary` gives its mean, sample
  standard deviation (``ddof=1``) and count, exactly numpy's.
- :func:`paired_difference`: two runs on the same dev images. Each image is a pair (A right?,
  B right?); the paired bootstrap resamples images, so the interval for "B's dev accuracy minus
  A's" accounts for the images both get right or wrong. Only the images where they disagree
  move the difference (McNemar's observation): B fixed ``fixed`` of A's errors and broke
  ``broke`` of its right answers. Resampling n images is a multinomial draw of how many land in
  "B fixed", "B broke" and "same", so 10,000 resamples cost a (10,000, 3) array, not 10,000 x n.
- :func:`group_difference`: two groups of seeds. Welch's t interval for the difference of the
  group means (unequal variances, Welch–Satterthwaite degrees of freedom): the seeds are the
  samples, so it says whether the *setting* matters beyond seed-to-seed luck.
- :func:`main_effects`: for a sweep's finished runs, each setting's share of the variance of dev
  accuracy (its between-level sum of squares over the total: eta squared of a one-way analysis,
  per setting), with a one-line reading.

No streamlit here; every number is a plain function of the runs' own numbers.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import numpy as np

from engine.config import SETTINGS, run_label
from views.format import decimals_adding_up, shown_difference

LEVEL = 0.95  # every interval here is a 95% interval
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # fixed: the same two runs always get the same interval


# --------------------------------------------------------------------------------------------
# Groups of seeds
# --------------------------------------------------------------------------------------------
def group_key(config, iterations: int) -> str:
    """The identity of a run's group: everything that decides its numbers except the seed, and
    its length. Runs with the same key differ only in seed."""
    d = {k: v for k, v in config.to_dict().items() if k != "seed"}
    return json.dumps({**d, "iterations": int(iterations)}, sort_keys=True, default=str)


def groups(records: Iterable) -> dict[str, list]:
    """Records grouped by :func:`group_key`, in first-seen order, each group sorted by seed."""
    out: dict[str, list] = {}
    for r in records:
        out.setdefault(group_key(r.config, r.iterations), []).append(r)
    for members in out.values():
        members.sort(key=lambda r: r.config.seed)
    return out


@dataclasses.dataclass(frozen=True)
class Summary:
    mean: float
    sd: float  # sample standard deviation (ddof=1); NaN for one value
    n: int

    def text(self, scale: float = 100.0, unit: str = "%", digits: int = 1) -> str:
        """'85.2% ± 0.4 (3 seeds)': mean ± sd, or the value alone for a single seed."""
        if self.n == 0:
            return "no runs"
        mean = f"{self.mean * scale:.{digits}f}{unit}"
        if self.n == 1:
            return f"{mean} (1 seed)"
        return f"{mean} ± {self.sd * scale:.{digits}f} ({self.n} seeds)"


def summary(values: Sequence[float]) -> Summary:
    """Mean, sample sd (ddof=1) and count of the finite values, as numpy computes them."""
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Summary(math.nan, math.nan, 0)
    sd = float(np.std(v, ddof=1)) if v.size > 1 else math.nan
    return Summary(float(np.mean(v)), sd, int(v.size))


def seed_band(curves: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, mean − sd, mean + sd) per iteration over a group's per-seed curves, cut to the
    shortest curve; sd is ddof=1 (zero band for one seed)."""
    n = min(len(c) for c in curves)
    stack = np.vstack([np.asarray(c, dtype=np.float64)[:n] for c in curves])  # (seeds, n)
    mean = stack.mean(axis=0)
    sd = stack.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(n)
    return mean, mean - sd, mean + sd


# --------------------------------------------------------------------------------------------
# Is B better than A?
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Difference:
    """B's dev accuracy minus A's (fractions, not points), with its 95% interval."""

    diff: float
    low: float
    high: float
    method: str  # "paired bootstrap over the dev images" or "Welch's t over seeds"
    detail: str  # what the interval rests on, in words
    a: float = math.nan  # A's and B's accuracies (or means over seeds) that diff is of
    b: float = math.nan

    def points(self) -> Decimal:
        """B − A in points as a reader computes it from the two accuracies written with one
        decimal ('85.5%' − '73.0%' = 12.5), as Compare's "B − A" column writes it."""
        if math.isfinite(self.a) and math.isfinite(self.b):
            return shown_difference(self.b, self.a, ".1%")
        return Decimal(f"{self.diff * 100:.1f}")

    @property
    def clear(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def sentence(self, a: str = "A", b: str = "B") -> str:
        """'B is better by 0.6 points (95% interval 0.1 to 1.1)' or 'no clear difference'."""
        if not all(map(math.isfinite, (self.diff, self.low, self.high))):
            return f"No interval: {self.detail}"
        rng = f"95% interval {self.low * 100:.1f} to {self.high * 100:.1f}"
        if not self.clear:
            return (
                f"No clear difference: {b} minus {a} is {self.points():+.1f} points ({rng}, "
                "which includes 0)."
            )
        better, worse = (b, a) if self.diff > 0 else (a, b)
        return (
            f"{better} is better than {worse} by {abs(self.points()):.1f} points ({rng} "
            f"for {b} minus {a})."
        )


def paired_difference(
    right_a: np.ndarray,
    right_b: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Difference:
    """Accuracy of B minus A on the same images (``right_*``: one bool per image), with the 95%
    percentile interval of a paired bootstrap over images."""
    right_a, right_b = (np.asarray(v, dtype=bool) for v in (right_a, right_b))
    if right_a.shape != right_b.shape or right_a.ndim != 1:
        raise ValueError(
            f"right_a and right_b must be 1-D of the same length, got {right_a.shape} and "
            f"{right_b.shape}"
        )
    n = right_a.size
    fixed = int(np.sum(~right_a & right_b))
    broke = int(np.sum(right_a & ~right_b))
    detail = (
        f"{n:,} dev images; B fixed {fixed} of A's mistakes and broke {broke} of its right "
        "answers, the other images count the same for both"
    )
    if n == 0:
        return Difference(math.nan, math.nan, math.nan, "paired bootstrap", "no dev images")
    diff = (fixed - broke) / n
    draws = np.random.default_rng(seed).multinomial(
        n, [fixed / n, broke / n, (n - fixed - broke) / n], size=resamples
    )  # (resamples, 3): how many of the n resampled images fall in each kind
    boot = (draws[:, 0] - draws[:, 1]) / n
    low, high = np.quantile(boot, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return Difference(
        diff,
        float(low),
        float(high),
        "paired bootstrap over the dev images",
        detail,
        float(right_a.mean()),
        float(right_b.mean()),
    )


def group_difference(values_a: Sequence[float], values_b: Sequence[float]) -> Difference:
    """Mean of B minus mean of A over seeds, with Welch's 95% t interval."""
    a, b = summary(values_a), summary(values_b)
    if a.n < 2 or b.n < 2:
        return Difference(
            b.mean - a.mean,
            math.nan,
            math.nan,
            "Welch's t over seeds",
            "each group needs at least 2 seeds for an interval across seeds",
            a.mean,
            b.mean,
        )
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    se = math.sqrt(va + vb)
    diff = b.mean - a.mean
    detail = f"{a.n} seeds against {b.n}"
    if se == 0:
        return Difference(
            diff, diff, diff, "Welch's t over seeds", detail + ", no spread at all", a.mean, b.mean
        )
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = t_quantile((1 + LEVEL) / 2, df) * se
    return Difference(
        diff,
        diff - half,
        diff + half,
        "Welch's t over seeds",
        detail + f", {df:.1f} df",
        a.mean,
        b.mean,
    )


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` (> 0, any real) degrees of freedom, by bisection
    on its CDF (the regularized incomplete beta function)."""
    if not 0 < p < 1 or not df > 0:
        raise ValueError(f"need 0 < p < 1 and df > 0, got p={p}, df={df}")
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def t_cdf(t: float, df: float) -> float:
    if t * t < df:  # near the centre: from the middle out, so small |t| keeps its digits
        half = 0.5 * _betainc(0.5, df / 2, t * t / (df + t * t))
        return 0.5 + half if t > 0 else 0.5 - half
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (continued fraction, Numerical Recipes 6.4)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    ln_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(ln_front) * _betacf(a, b, x) / a
    return 1 - math.exp(ln_front) * _betacf(b, a, 1 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return h


# --------------------------------------------------------------------------------------------
# Which setting mattered
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Effects:
    shares: dict[str, float]  # setting -> share of the total variance (0..1), largest first
    levels: dict[str, int]  # setting -> how many distinct values it took
    n: int  # runs analysed
    reading: str
    decimals: int = 0  # of each share written as a percentage (see share_decimals)

    def percent(self, share: float) -> str:
        """A share as the reading writes it: '73%', or '33.4%' where whole percents would not
        add up."""
        return f"{share * 100:.{self.decimals}f}%"


MAX_LEVELS = 6  # a numeric setting with more distinct values is cut into BINS bins
BINS = 4


def main_effects(rows: Sequence[Mapping], metric: str = "dev_accuracy") -> Effects:
    """Each setting's share of the variance of ``metric`` over ``rows`` (one mapping per run with
    its settings and the metric): SS between the setting's levels / SS total. Settings that took
    one value are left out; runs without a finite metric (diverged) too. With a full grid and one
    run per cell the shares of the settings and the interactions add up to 1; what the main
    effects leave is printed as "the rest". A numeric setting with more than MAX_LEVELS values
    (a random search's alphas) is cut into BINS bins of equal counts by rank first, since with
    one run per value its "levels" would explain everything."""
    rows = [r for r in rows if math.isfinite(float(r.get(metric, math.nan)))]
    y = np.array([float(r[metric]) for r in rows])
    n = y.size
    total = float(np.sum((y - y.mean()) ** 2)) if n else 0.0
    shares, levels = {}, {}
    for name in SETTINGS:
        raw = [r.get(name) for r in rows]
        values = [json.dumps(v, default=str) for v in raw]
        n_values = len(set(values))
        if n_values > MAX_LEVELS and all(isinstance(v, (int, float)) for v in raw):
            ranks = np.argsort(np.argsort(np.asarray(raw, dtype=float), kind="stable"))
            values = [str(int(r * BINS // n)) for r in ranks]  # BINS groups by rank
        distinct = sorted(set(values))
        if len(distinct) < 2:
            continue
        between = 0.0
        for v in distinct:
            mask = np.array([x == v for x in values])
            between += mask.sum() * (y[mask].mean() - y.mean()) ** 2
        shares[name] = float(between / total) if total > 0 else 0.0
        levels[name] = n_values
    shares = dict(sorted(shares.items(), key=lambda kv: -kv[1]))
    d = share_decimals(shares)
    return Effects(shares, levels, n, _reading(shares, n, total, d), d)


def _overlap(shares: Mapping[str, float]) -> bool:
    """The shares add up to more than all of it: not a balanced grid, the settings moved together."""
    return sum(shares.values()) > 1.01


def _rest(shares: Mapping[str, float]) -> float:
    """What the shares leave of 1 (0, not -2e-16, when they take it all)."""
    rest = 1 - sum(shares.values())
    return 0.0 if abs(rest) < 1e-12 else rest


def share_decimals(shares: Mapping[str, float], most: int = 3) -> int:
    """The fewest decimals at which the shares and "the rest" (what they leave of 100%), written
    as percentages, add up to 100% as written: 33.4%, 33.4% and 33.2% leave 0%, but written
    whole they read 33% + 33% + 33% + 0% = 99%. 0 when the shares overlap (no rest is written)."""
    if _overlap(shares):
        return 0
    parts = [v * 100 for v in shares.values()]
    found = decimals_adding_up([([*parts, _rest(shares) * 100], 100.0)], start=0, most=most)
    return most if found is None else found


def _reading(shares: Mapping[str, float], n: int, total: float, decimals: int = 0) -> str:
    if n < 3 or not shares:
        return "Not enough finished runs with different settings to say which one mattered."
    if total == 0:
        return "Every run scored the same: no setting made a difference."

    def pct(v: float) -> str:
        return f"{v * 100:.{decimals}f}%"

    top, share = next(iter(shares.items()))
    parts = [f"{k} {pct(v)}" for k, v in list(shares.items())[1:]]
    overlap = _overlap(shares)
    if not overlap:
        parts.append(f"the rest {pct(_rest(shares))}")
    text = (
        f"{top} mattered most: it explains {pct(share)} of the spread of dev accuracy over "
        f"these {n} runs" + (f" ({', '.join(parts)})." if parts else ".")
    )
    if overlap:
        text += (
            " These settings changed together in these runs, so their shares overlap: each "
            "says how much lines up with that setting, not how much it caused."
        )
    return text


def group_of(records: Iterable, record) -> list:
    """The runs among ``records`` in ``record``'s group (itself included), sorted by seed."""
    key = group_key(record.config, record.iterations)
    return sorted(
        (r for r in records if group_key(r.config, r.iterations) == key),
        key=lambda r: r.config.seed,
    )


def group_label(config, iterations: int, seeds: int) -> str:
    """How a group is named: its run label with "n seeds" in place of the one seed."""
    if seeds == 1:
        return run_label(config, iterations)
    return run_label(config, iterations).replace(f"seed {config.seed}", f"{seeds} seeds", 1)

"""Why the network answers what it does, exactly, and what would change its mind.

Once an image fixes which hidden ReLUs are on, the network is linear in the pixels. With
``m_j = 1`` for an active unit (``Z1_j > 0``) and 0 otherwise, and ``d = W2[:, t] - W2[:, v]``
(the difference of two digits' output weights, or ``W2[:, t]`` alone)::

    z_t - z_v = sum_j A1_j d_j + b2_t - b2_v                                  (hidden units)
              = sum_i x_i * sum_j m_j W1_ij d_j  +  sum_j m_j b1_j d_j + b2_t - b2_v
                \\_______ pixel i's share _______/   \\__________ bias ___________/

because ``A1_j = m_j * Z1_j`` and ``Z1_j = sum_i x_i W1_ij + b1_j``. Nothing is approximated:
the shares add up to the logit difference to float rounding (float64 here, whatever the run's
dtype), unlike gradient saliency, which is a first-order estimate for a smooth network.

Other activations: the same identity holds for every activation that is piecewise linear with
g(0) = 0, with ``m_j = A1_j / Z1_j`` (the unit's slope on the piece Z1_j lies on): "relu" and
"identity" (m = 1) here. "sigmoid" (g(0) = 1/2) and "tanh" (curved) have no such linear region
around an image, so :func:`explain` and :func:`counterfactual` refuse them with a ValueError
rather than offer a decomposition that means something else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import N_CLASSES, N_PIXELS, check_images, check_int
from .activations import ACTIVATIONS, softmax
from .network import Params, forward_propagation, scale_pixels

# Activations for which A1 = m * Z1 with m constant on a region around the image: the slope.
PIECEWISE_LINEAR = {
    "relu": lambda Z1: (Z1 > 0).astype(np.float64),
    "identity": lambda Z1: np.ones_like(Z1, dtype=np.float64),
}
# Logits: by how much a counterfactual's target must beat every other digit, in the run's dtype
# AND in float64, to count as flipped. Float32 logits of ~10 carry rounding of ~1e-6 and a
# different summation order moves them by ~1e-5: 1e-3 is far beyond both, so anyone who
# recomputes the answer, in either arithmetic, gets the same digit. The search aims a little
# further (AIM) so that its projections land past MARGIN, not on it.
MARGIN = 1e-3
AIM = 1.01  # x margin: where the exact projections aim


@dataclass(frozen=True)
class Explanation:
    """One image's logit difference ``total`` split exactly into pixel, hidden-unit and bias shares.

    ``pixels.sum() + bias == total`` and ``hidden.sum() + output_bias == total`` to rounding.
    """

    target: int
    versus: int | None  # None: total is z[target] itself
    total: float  # z[target] - z[versus] from a forward pass (float64)
    pixels: np.ndarray  # (784,) pixel i's share x_i * sum_j m_j W1[i, j] d_j
    hidden: np.ndarray  # (h,)   unit j's share A1_j d_j
    bias: float  # sum_j m_j b1_j d_j + b2[target] - b2[versus]
    output_bias: float  # b2[target] - b2[versus]: the part of total no hidden unit carries
    x: np.ndarray  # (784,) the image as floats in [0, 1]
    active: np.ndarray  # (h,) the slope m_j of each hidden unit (1/0 for ReLU: on/off)
    logits: np.ndarray  # (10,) z, float64
    probs: np.ndarray  # (10,) softmax(z)

    @property
    def pixel_error(self) -> float:
        """|pixels.sum() + bias - total|: how far the pixel decomposition is from exact."""
        return abs(float(self.pixels.sum()) + self.bias - self.total)

    @property
    def hidden_error(self) -> float:
        """|hidden.sum() + output_bias - total|."""
        return abs(float(self.hidden.sum()) + self.output_bias - self.total)


@dataclass(frozen=True)
class Counterfactual:
    """A changed image that the network reads as ``target``, as close to the original as found."""

    target: int
    x: np.ndarray  # (784,) floats in [0, 1]: the changed image
    original: np.ndarray  # (784,) floats in [0, 1]
    flipped: bool  # target beats every other digit by >= margin in the run's dtype and float64
    distance: float  # L2 norm of x - original
    exact_in_pattern: bool  # x is the nearest point that flips among those with its ReLU pattern
    steps: int  # linearisations used
    probs: np.ndarray  # (10,) the network's probabilities for x, in the run's dtype
    margin: float = MARGIN  # the lead that ``flipped`` demands, in logits
    lead: float = float("nan")  # z[target] - max other z at x, float64
    lead_run_dtype: float = float("nan")  # the same in the run's dtype

    @property
    def change(self) -> np.ndarray:
        """(784,) x - original."""
        return self.x - self.original


def explain(params: Params, x, target, versus=None, *, activation="relu") -> Explanation:
    """Split z[target] - z[versus] (or z[target] alone) for one image into exact shares.

    ``x``: one image, (784,) or (28, 28), uint8 pixels 0..255 (scaled by 1/255) or floats in
    [0, 1]. ``target``, ``versus``: digits 0..9, different. See the module docstring for the
    equations; everything is computed in float64 from the run's parameters.
    """
    slope = _slope_of(activation)
    target = check_digit("target", target)
    if versus is not None:
        versus = check_digit("versus", versus)
        if versus == target:
            raise ValueError(f"versus must differ from target, got {versus} for both")
    x = one_image(x)
    W1, b1, W2, b2 = (np.asarray(a, np.float64) for a in params.arrays().values())
    Z1, A1, Z2, _ = forward_propagation(Params(W1, b1, W2, b2), x[None], activation=activation)
    Z1, A1, z = Z1[0], A1[0], Z2[0]  # (h,) (h,) (10,)
    m = slope(Z1)  # (h,)
    d = W2[:, target] - (0 if versus is None else W2[:, versus])  # (h,)
    output_bias = float(b2[target] - (0 if versus is None else b2[versus]))
    return Explanation(
        target=target,
        versus=versus,
        total=float(z[target] - (0 if versus is None else z[versus])),
        pixels=x * (W1 @ (m * d)),  # (784,)
        hidden=A1 * d,  # (h,)
        bias=float((m * b1) @ d) + output_bias,
        output_bias=output_bias,
        x=x,
        active=m,
        logits=z,
        probs=softmax(z[None])[0],
    )


def counterfactual(
    params: Params, x, target, *, activation="relu", max_steps=30, margin=MARGIN
) -> Counterfactual:
    """The smallest change to ``x`` (in L2, pixels kept in [0, 1]) found that makes the network
    answer ``target``.

    What is exact: within one ReLU pattern every logit is linear in x, so "z[target] beats every
    other digit by ``AIM * margin``" is a set of half-spaces, and the nearest point of their
    intersection with the box [0, 1]^784 is a convex projection, solved here exactly (each
    half-space by its piecewise-linear breakpoints, several by Hildreth's cyclic dual ascent).
    What is not: the projection uses the pattern of the point it linearised at; the point it
    lands on may switch units on or off. So: project the ORIGINAL image with the pattern of the
    current point, re-check the pattern at the result, repeat (at most ``max_steps`` times),
    keeping every digit that came within ``margin`` of target as a constraint. When the result
    flips and keeps the pattern it was computed with, it is the nearest flipping point of that
    pattern's region (``exact_in_pattern``); a closer point in another region is not ruled out
    (this is a local search, not a certificate). A result that flips in another pattern is
    pulled back to where the straight line from x crosses over, and linearised there next; two
    patterns that keep sending the projection to each other are broken by linearising halfway.
    If no projection flips the answer, a margin ascent (DeepFool-like steps that are kept only
    when the true margin z[target] - max z[other] grows) from x and from the last point, pulled
    back the same way, takes over; it can get stuck against the box, and then ``flipped`` is
    False. ``flipped`` is a fresh forward pass: target beats every other digit by at least
    ``margin`` logits both in the run's dtype and in float64 (``lead``, ``lead_run_dtype``), so
    a tie is never called a flip; every step of the search (the crossings included) tests that
    same condition. Measured on the sample's dev set toward each image's runner-up:
    ``python -m bench.bench_explain``.
    """
    slope = _slope_of(activation)
    target = check_digit("target", target)
    max_steps = check_int("max_steps", max_steps, 1)
    if not (isinstance(margin, (int, float)) and 0 < margin < np.inf):
        raise ValueError(f"margin must be a number > 0 (logits), got {margin!r}")
    x0 = one_image(x)
    W1, b1, W2, b2 = (np.asarray(a, np.float64) for a in params.arrays().values())
    p64 = Params(W1, b1, W2, b2)

    def logits(v):
        return forward_propagation(p64, v[None], activation=activation).Z2[0]  # (10,)

    def linear(v):
        """(w (784, 10), c (10,)): z = x @ w + c for every x with v's pattern."""
        m = slope(v @ W1 + b1)  # (h,)
        return W1 @ (m[:, None] * W2), (m * b1) @ W2 + b2

    def rivals(z):
        return {k for k in range(N_CLASSES) if k != target and z[k] > z[target] - margin}

    def flips(v):  # float64 first: the run's dtype only when that one clears the margin
        return _lead(p64, v, target, activation) >= margin and (
            _lead(params, v, target, activation) >= margin
        )

    def closer(a, b):
        return b is None or np.linalg.norm(a - x0) < np.linalg.norm(b - x0)

    keep = rivals(logits(x0))
    best, exact, point, steps, seen = None, False, x0, 0, []
    if flips(x0):
        best, exact = x0, True
    while not exact and steps < max_steps:
        steps += 1
        w, c = linear(point)
        aim = AIM * margin
        new = _project(x0, [(w[:, target] - w[:, k], aim - c[target] + c[k]) for k in keep])
        if flips(new):
            if closer(new, best):
                best = new
            if np.array_equal(slope(new @ W1 + b1), slope(point @ W1 + b1)):
                exact = best is new
                break
            # flipped, but in another pattern: the crossing on the way there is closer still
            point = _crossing(x0, new, flips)
            if closer(point, best):
                best = point
        elif np.array_equal(new, point):
            break
        elif any(np.array_equal(new, v) for v in seen):  # a cycle between patterns: linearise
            point = (point + new) / 2  # between the two instead, in a pattern of neither maybe
        else:
            point = new
        seen.append(new)
        keep |= rivals(logits(new)) | rivals(logits(point))
    if best is None:  # the projections kept missing: DeepFool-like steps from x0 and from the
        # last point, each pulled back to where the segment from x0 crosses; the closer one wins
        for start in (x0, point):
            found = _crossing(
                x0, _push(start, target, flips, linear, logits, rivals, margin), flips
            )
            if flips(found) and closer(found, best):
                best = found
        if best is None:
            best = point
    lead64, lead_run = (_lead(p, best, target, activation) for p in (p64, params))
    flipped = min(lead64, lead_run) >= margin
    return Counterfactual(
        target=target,
        x=best,
        original=x0,
        flipped=flipped,
        distance=float(np.linalg.norm(best - x0)),
        exact_in_pattern=bool(exact and flipped),
        steps=steps,
        probs=_probs(params, best, activation),
        margin=float(margin),
        lead=lead64,
        lead_run_dtype=lead_run,
    )


def blend_distance(params: Params, x, target, toward, *, activation="relu", grid=200) -> float:
    """The baseline for :func:`counterfactual`: blend ``x`` toward the image ``toward`` (e.g. the
    mean image of ``target``), ``(1 - a) x + a toward``, and return the L2 distance moved at the
    smallest a on a grid of ``grid`` steps in (0, 1] (refined by bisection between the last grid
    point that does not flip and the first that does) at which the network answers ``target``;
    inf when even a = 1 does not."""
    x0, t = one_image(x), one_image(toward, "toward")
    target = check_digit("target", target)
    a = np.linspace(0, 1, grid + 1)[1:]  # (grid,)
    X = (1 - a)[:, None] * x0 + a[:, None] * t  # (grid, 784)
    hits = np.flatnonzero(_predict_rows(params, X, activation) == target)
    if hits.size == 0:
        return float("inf")
    hi = a[hits[0]]
    lo = hi - 1 / grid
    for _ in range(30):
        mid = (lo + hi) / 2
        if _predicts(params, (1 - mid) * x0 + mid * t, target, activation):
            hi = mid
        else:
            lo = mid
    return float(hi * np.linalg.norm(t - x0))


# ---- helpers ------------------------------------------------------------------------------------
def check_digit(name, value) -> int:
    value = check_int(name, value, 0)
    if value >= N_CLASSES:
        raise ValueError(f"{name} must be a digit 0..9, got {value}")
    return value


def one_image(x, name="x") -> np.ndarray:
    """(784,) float64 in [0, 1] from one image (784,) or (28, 28), uint8 or floats in [0, 1]."""
    arr = np.asarray(x)
    if arr.shape not in ((N_PIXELS,), (28, 28)):
        raise ValueError(
            f"{name} must be one image of shape (784,) or (28, 28), got shape {arr.shape}"
        )
    return scale_pixels(check_images(arr.reshape(1, N_PIXELS), name), np.float64)[0]


def _slope_of(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
    if activation not in PIECEWISE_LINEAR:
        raise ValueError(
            f"activation must be piecewise linear with g(0) = 0 for an exact decomposition "
            f"(one of {list(PIECEWISE_LINEAR)}), got {activation!r}"
        )
    return PIECEWISE_LINEAR[activation]


def _predict_rows(params: Params, X, activation) -> np.ndarray:
    X = np.asarray(X, params.dtype)  # the run's dtype: what the app would answer
    return forward_propagation(params, X, activation=activation).Z2.argmax(axis=1)


def _predicts(params, x, target, activation) -> bool:
    return bool(_predict_rows(params, x[None], activation)[0] == target)


def _lead(params, x, target, activation) -> float:
    """z[target] - max other z for one image, in the params' own dtype."""
    z = forward_propagation(params, np.asarray(x[None], params.dtype), activation=activation).Z2[0]
    return float(z[target]) - float(np.delete(z, target).max())


def _probs(params, x, activation) -> np.ndarray:
    X = np.asarray(x[None], params.dtype)
    return forward_propagation(params, X, activation=activation).A2[0]


def _project(x0, constraints, sweeps=50, tol=1e-12) -> np.ndarray:
    """Nearest point to x0 in [0, 1]^n with a·x >= b for every (a, b) in ``constraints``.

    KKT: x = clip(x0 + sum_k lam_k a_k, 0, 1) with lam >= 0. One constraint: the smallest lam
    that satisfies it, exactly (:func:`_solve_one`). Several: Hildreth's method, the same
    one-dimensional solve for each lam_k in turn with the others fixed (coordinate ascent on the
    concave dual), until a sweep changes nothing.
    """
    if not constraints:
        return x0
    lam = np.zeros(len(constraints))
    A = np.array([a for a, _ in constraints]).reshape(len(constraints), -1)  # (k, n)
    for _ in range(sweeps if len(constraints) > 1 else 1):
        moved, before = 0.0, lam.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            for k, (a, b) in enumerate(constraints):
                base = x0 + lam @ A - lam[k] * a
                new = _solve_one(base, a, b)
                moved = max(moved, abs(new - lam[k]))
                lam[k] = new
        if not np.isfinite(lam @ A).all():  # constraints the box cannot meet together: the
            lam = before  # dual ascent runs off to infinity; keep the last finite point
            break
        if moved <= tol * (1 + lam.max(initial=0)):
            break
    return np.clip(x0 + lam @ A, 0, 1)


def _solve_one(base, a, b) -> float:
    """Smallest lam >= 0 with f(lam) = a·clip(base + lam a, 0, 1) >= b.

    f is piecewise linear and non-decreasing (its slope is the sum of a_i^2 over the pixels not
    clipped), so walk its breakpoints in order and interpolate on the piece where it reaches b.
    When no lam reaches b (the box forbids it), the lam beyond which nothing changes.
    """
    f0 = float(a @ np.clip(base, 0, 1))
    if f0 >= b:
        return 0.0
    nz = np.abs(a) > 1e-6 * np.abs(a).max()  # pixels with a_i ~ 0 stay where they are
    an, bn = a[nz], base[nz]
    t0, t1 = -bn / an, (1 - bn) / an  # where pixel i reaches 0 and 1
    lo, hi = np.minimum(t0, t1), np.maximum(t0, t1)  # pixel i is free for lam in (lo, hi)
    live = hi > 0
    lo, hi, w = np.maximum(lo[live], 0), hi[live], an[live] ** 2
    at = np.concatenate([lo, hi])
    order = np.argsort(at, kind="stable")
    at = at[order]
    slope = np.cumsum(np.concatenate([w, -w])[order])  # slope of f just after each breakpoint
    f = f0 + np.concatenate([[0.0], np.cumsum(slope[:-1] * np.diff(at))])  # f at each breakpoint
    above = np.flatnonzero(f >= b)
    if above.size == 0:  # out of reach inside the box: as far as it goes, every pixel saturated
        return float(at[-1]) if at.size else 0.0
    k = above[0]  # f crosses b on the piece (at[k-1], at[k]]; k >= 1 since f[0] = f0 < b
    return float(at[k - 1] + (b - f[k - 1]) / slope[k - 1])


def _push(point, target, flips, linear, logits, rivals, margin, steps=100):
    """From ``point``, move toward the projection onto every close rival's half-space of the
    local linear model (DeepFool-like, several rivals at once, aiming 0.5 logits past the tie),
    halving the move until the true margin z[target] - max z[other] grows: it never shrinks, so
    two patterns cannot trade places forever."""

    def lead(v):
        z = logits(v)
        return z[target] - np.delete(z, target).max()

    x = point
    aim = max(margin, 0.5)
    for _ in range(steps):
        if flips(x):
            break
        w, c = linear(x)
        z = logits(x)
        close = {k for k in range(N_CLASSES) if k != target and z[k] > z[target] - aim}
        y = _project(x, [(w[:, target] - w[:, k], aim - c[target] + c[k]) for k in close])
        now = lead(x)
        for _ in range(20):
            if lead(y) > now:
                break
            y = (x + y) / 2
        else:
            break  # no move improves the margin: stuck against the box
        x = y
    return x


def _crossing(x0, x, flips, iterations=30) -> np.ndarray:
    """The point nearest x0 found on the segment x0 -> x that still flips (bisection from x,
    which flips, toward x0, which does not); x itself when it does not flip."""
    if not flips(x):
        return x
    lo, hi = 0.0, 1.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if flips(x0 + mid * (x - x0)):
            hi = mid
        else:
            lo = mid
    return x0 + hi * (x - x0)

"""Corrupted copies of digits, to test how robust a network is and to train it to be (training-time
augmentation, :func:`augment`): Gaussian noise, rotation, shift and stroke thickness. NumPy only;
every function takes uint8 images (n, 28, 28) (or one (28, 28)) and returns new uint8 images of
the same shape, leaving its input untouched. Rotation and shift take one level for all images or
one per image ((n,) arrays). ``data.corrupt`` re-exports them.
"""

from __future__ import annotations

import numpy as np

SIDE = 28
CENTRE = (SIDE - 1) / 2  # 13.5: rotation about the middle of the image

CORRUPTIONS = ("noise", "rotate", "shift", "thickness")
# The levels a robustness curve walks through, and what a level means.
LEVELS: dict[str, tuple[float, ...]] = {
    "noise": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "rotate": (0.0, 10.0, 20.0, 30.0, 45.0, 60.0),
    "shift": (0.0, 1.0, 2.0, 3.0, 4.0, 5.0),
    "thickness": (-2.0, -1.0, 0.0, 1.0, 2.0),
}
UNITS = {
    "noise": "noise std (share of 255)",
    "rotate": "rotation (degrees, anticlockwise)",
    "shift": "shift (pixels right and down)",
    "thickness": "stroke thickness (3x3 dilations; negative: erosions)",
}


def _images(images) -> tuple[np.ndarray, bool]:
    a = np.asarray(images)
    single = a.ndim == 2
    if single:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"images must have shape (n, 28, 28) or (28, 28), got {np.shape(images)}")
    if a.dtype != np.uint8:
        raise ValueError(f"images must be uint8 pixels 0..255, got dtype {a.dtype}")
    return a, single


def _out(a: np.ndarray, single: bool) -> np.ndarray:
    return a[0] if single else a


def gaussian_noise(images, std: float, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Add N(0, (std * 255)^2) noise to every pixel, clipped to 0..255 and rounded (``seed``: an
    int or a Generator, whose draws are then used)."""
    if not np.isfinite(std) or std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    a, single = _images(images)
    rng = np.random.default_rng(seed)
    noisy = a + rng.normal(0.0, std * 255.0, a.shape)
    return _out(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), single)


def _sample_bilinear(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of images ``a`` (n, 28, 28) at (rows, cols) source coordinates, (28, 28)
    for all images or (n, 28, 28) one grid per image; outside the image counts as 0 (paper)."""
    padded = np.zeros((a.shape[0], SIDE + 2, SIDE + 2), np.float64)
    padded[:, 1:-1, 1:-1] = a
    r = np.clip(rows + 1, 0, SIDE + 1)  # padded coordinates; beyond the border is 0 anyway
    c = np.clip(cols + 1, 0, SIDE + 1)
    r0 = np.clip(np.floor(r).astype(int), 0, SIDE)
    c0 = np.clip(np.floor(c).astype(int), 0, SIDE)
    fr, fc = r - r0, c - c0
    if r.ndim == 2:
        top = padded[:, r0, c0] * (1 - fc) + padded[:, r0, c0 + 1] * fc
        bottom = padded[:, r0 + 1, c0] * (1 - fc) + padded[:, r0 + 1, c0 + 1] * fc
        return top * (1 - fr) + bottom * fr
    # One grid per image: the four neighbours gathered from the flat padded images with take
    # (the same values as padded[image, r0, c0], several times faster than three index arrays).
    width = SIDE + 2
    flat = padded.reshape(-1)
    at = np.arange(a.shape[0])[:, None, None] * (width * width) + r0 * width + c0  # (n, 28, 28)
    top = flat.take(at) * (1 - fc) + flat.take(at + 1) * fc
    bottom = flat.take(at + width) * (1 - fc) + flat.take(at + width + 1) * fc
    return top * (1 - fr) + bottom * fr


def _per_image(level, n: int) -> np.ndarray:
    """A level as a scalar array, or an (n,) array of levels as (n, 1, 1) for one per image."""
    level = np.asarray(level, np.float64)
    if level.ndim == 0:
        return level
    if level.shape != (n,):
        raise ValueError(f"levels must be one number or one per image ({n},), got {level.shape}")
    return level[:, None, None]


def rotate(images, degrees) -> np.ndarray:
    """Rotate anticlockwise (as seen, rows down) by ``degrees`` (one number, or one per image)
    about the image centre, by inverse mapping: each output pixel samples the input bilinearly
    where the rotation came from."""
    if not np.all(np.isfinite(degrees)):
        raise ValueError(f"degrees must be a finite number, got {degrees}")
    a, single = _images(images)
    t = np.deg2rad(_per_image(degrees, a.shape[0]))
    rr, cc = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    y, x = CENTRE - rr, cc - CENTRE  # y up, x right
    # the source of output (x, y) is (x, y) rotated by -t
    xs = np.cos(t) * x + np.sin(t) * y
    ys = -np.sin(t) * x + np.cos(t) * y
    out = _sample_bilinear(a, CENTRE - ys, xs + CENTRE)
    return _out(np.clip(np.rint(out), 0, 255).astype(np.uint8), single)


def shift(images, right, down=None) -> np.ndarray:
    """Move the digit ``right`` pixels right and ``down`` pixels down (default: as many as
    right; each one number or one per image); what leaves the frame is lost, what enters is 0.
    Fractional shifts interpolate."""
    down = right if down is None else down
    if not (np.all(np.isfinite(right)) and np.all(np.isfinite(down))):
        raise ValueError(f"shift must be finite, got right={right}, down={down}")
    a, single = _images(images)
    rr, cc = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    n = a.shape[0]
    out = _sample_bilinear(a, rr - _per_image(down, n), cc - _per_image(right, n))
    return _out(np.clip(np.rint(out), 0, 255).astype(np.uint8), single)


def _filter3(a: np.ndarray, reduce) -> np.ndarray:
    """3x3 max or min filter; outside the image counts as 0 (paper)."""
    padded = np.zeros((a.shape[0], SIDE + 2, SIDE + 2), a.dtype)
    padded[:, 1:-1, 1:-1] = a
    windows = [padded[:, dr : dr + SIDE, dc : dc + SIDE] for dr in range(3) for dc in range(3)]
    return reduce.reduce(np.stack(windows), axis=0)


def thickness(images, steps: int) -> np.ndarray:
    """Thicker strokes (``steps`` > 0: that many 3x3 max filters, dilation) or thinner ones
    (``steps`` < 0: 3x3 min filters, erosion); 0 returns a copy."""
    if int(steps) != steps:
        raise ValueError(f"steps must be a whole number, got {steps}")
    a, single = _images(images)
    out = a.copy()
    for _ in range(abs(int(steps))):
        out = _filter3(out, np.maximum if steps > 0 else np.minimum)
    return _out(out, single)


def corrupt(images, kind: str, level: float, seed: int = 0) -> np.ndarray:
    """One of :data:`CORRUPTIONS` at ``level`` (see :data:`UNITS`)."""
    if kind == "noise":
        return gaussian_noise(images, level, seed)
    if kind == "rotate":
        return rotate(images, level)
    if kind == "shift":
        return shift(images, level)
    if kind == "thickness":
        return thickness(images, int(round(level)))
    raise ValueError(f"kind must be one of {', '.join(CORRUPTIONS)}, got {kind!r}")


def augment(images, kind: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """Training-time augmentation: a fresh random corruption of every image, uint8 (n, 784) or
    (n, 28, 28) in, the same shape out. The draws, per image, from ``rng``: "rotate" an angle
    uniform in [-level, level] degrees; "shift" right and down each uniform in [-level, level]
    pixels; "noise" Gaussian noise of std ``level`` (the noise itself is the draw); "thickness" a
    whole number of dilations (> 0) or erosions (< 0) uniform in [-level, level]."""
    a = np.asarray(images)
    flat = a.ndim == 2
    a = a.reshape(-1, SIDE, SIDE)
    n = a.shape[0]
    if kind == "noise":
        out = gaussian_noise(a, level, rng)
    elif kind == "rotate":
        angles = rng.uniform(-level, level, n)
        out = _in_chunks(a, lambda rows: rotate(a[rows], angles[rows]))
    elif kind == "shift":
        right, down = rng.uniform(-level, level, (2, n))
        out = _in_chunks(a, lambda rows: shift(a[rows], right[rows], down[rows]))
    elif kind == "thickness":
        reach = int(round(level))
        steps = rng.integers(-reach, reach + 1, n)
        out = a.copy()
        for k in range(1, reach + 1):  # k-th dilation / erosion of the images that need k
            for sign, reduce in ((1, np.maximum), (-1, np.minimum)):
                which = np.flatnonzero(steps * sign >= k)
                if which.size:
                    out[which] = _filter3(out[which], reduce)
    else:
        raise ValueError(f"kind must be one of {', '.join(CORRUPTIONS)}, got {kind!r}")
    return out.reshape(n, SIDE * SIDE) if flat else out


# Images per chunk of a per-image resampling: its (chunk, 28, 28) float arrays stay in cache
# (~3x faster than the whole block at once on 1,536 images); each image's numbers are the same.
CHUNK = 64


def _in_chunks(a: np.ndarray, resample) -> np.ndarray:
    out = np.empty_like(a)
    for start in range(0, a.shape[0], CHUNK):
        rows = slice(start, start + CHUNK)
        out[rows] = resample(rows)
    return out

"""A drawing, as MNIST would have stored it: (28, 28) uint8, ink bright on black.

MNIST's recipe (LeCun et al.): crop the ink to its bounding box, scale it so the longer side is
20 pixels keeping the aspect ratio (anti-aliased, hence the grey edges), and place it in a 28x28
frame with its centre of mass at the centre. "The centre", measured on the 5,000 real digits of
the embedded sample (tests/data/test_drawing.py recomputes it): row 13.99 (sd 0.29), column
14.00 (sd 0.29) in pixel indices 0..27, i.e. (14, 14), half a pixel below and right of the frame's
geometric centre (13.5, 13.5). Putting it there, not at 13.5, is the point of measuring.

Inputs: what a drawing pad returns, RGBA (H, W, 4) uint8 with a transparent background and
strokes of any colour (the ink is the alpha channel), and also RGB (H, W, 3) or grey (H, W) with
dark ink on light paper or light ink on a dark background, told apart by the border: the median
of the outermost pixels is the paper. NumPy only: resampling is exact area averaging.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

BOX = 20  # the longer side of the digit, in pixels
FRAME = 28
CENTRE = (14.0, 14.0)  # where the centre of mass of real MNIST digits lies (row, column); see above
INK_THRESHOLD = 0.1  # ink below this (of the full range) is paper noise, not part of the digit
EMPTY = "The drawing is empty: draw a digit (the network sees an all-black image)."


class Drawing(NamedTuple):
    image: np.ndarray  # (28, 28) uint8, as MNIST would have stored the drawing
    message: str | None  # why the image is blank, or None


def from_drawing(image) -> Drawing:
    """A drawing -> ``Drawing(image (28, 28) uint8, message)``. An empty drawing gives an
    all-zero image and a message, never an exception; an array that is not an image at all
    (wrong shape or type) raises ValueError saying so."""
    ink = ink_of(image)  # (H, W) floats in [0, 1], 1 = full ink
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        return Drawing(np.zeros((FRAME, FRAME), np.uint8), EMPTY)
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # the ink's bounding box
    h, w = crop.shape
    scale = BOX / max(h, w)
    out_h, out_w = max(1, round(h * scale)), max(1, round(w * scale))
    digit = resize_area(crop, out_h, out_w)  # (out_h, out_w)
    digit = digit / digit.max()  # strokes as dark as MNIST's: the densest pixel is full ink
    frame = np.zeros((FRAME, FRAME))
    r, c = centre_of_mass(digit)
    top = int(np.clip(round(CENTRE[0] - r), 0, FRAME - out_h))
    left = int(np.clip(round(CENTRE[1] - c), 0, FRAME - out_w))
    frame[top : top + out_h, left : left + out_w] = digit
    return Drawing(np.round(frame * 255).astype(np.uint8), None)


def ink_of(image) -> np.ndarray:
    """(H, W) ink in [0, 1] from RGBA (alpha, when the background is transparent), RGB or grey
    (dark on light or light on dark, by the border)."""
    arr = np.asarray(image)
    if (
        arr.ndim not in (2, 3)
        or (arr.ndim == 3 and arr.shape[2] not in (3, 4))
        or min(arr.shape[:2]) < 1
    ):
        raise ValueError(
            f"image must be grey (H, W), RGB (H, W, 3) or RGBA (H, W, 4), got shape {arr.shape}"
        )
    if arr.dtype == np.uint8:
        arr = arr / 255.0
    elif np.issubdtype(arr.dtype, np.floating) and arr.size and arr.min() >= 0 and arr.max() <= 1:
        arr = arr.astype(np.float64)
    else:
        raise ValueError(f"image must be uint8 0..255 or floats in [0, 1], got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[..., 3]
        if alpha.min() < 1:  # a transparent background: what is drawn is what is opaque
            return alpha
        arr = arr[..., :3]
    grey = arr.mean(axis=2) if arr.ndim == 3 else arr  # (H, W)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    paper = float(np.median(border))
    if paper > 0.5:  # dark ink on light paper
        return np.clip((paper - grey) / paper, 0, 1)
    return np.clip((grey - paper) / max(1 - paper, 1e-12), 0, 1)


def resize_area(img, out_h, out_w) -> np.ndarray:
    """Resample (h, w) to (out_h, out_w) by exact area averaging: each output pixel is the mean
    of the input area it covers, partial pixels weighted by overlap (anti-aliased; no ringing)."""
    return area_weights(img.shape[0], out_h) @ img @ area_weights(img.shape[1], out_w).T


def area_weights(n_in, n_out) -> np.ndarray:
    """(n_out, n_in): the share of output cell k's span [k, k+1) * n_in/n_out covered by input
    cell i, divided by the span, so each row sums to 1."""
    edges = np.arange(n_out + 1) * (n_in / n_out)  # output cell edges in input coordinates
    lo, hi = edges[:-1, None], edges[1:, None]  # (n_out, 1)
    i = np.arange(n_in)[None, :]  # (1, n_in)
    overlap = np.clip(np.minimum(hi, i + 1) - np.maximum(lo, i), 0, None)  # (n_out, n_in)
    return overlap / (n_in / n_out)


def centre_of_mass(img) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixel indices."""
    total = img.sum()
    r = np.arange(img.shape[0]) @ img.sum(axis=1) / total
    c = np.arange(img.shape[1]) @ img.sum(axis=0) / total
    return float(r), float(c)

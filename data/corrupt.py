"""Corrupted copies of digits (noise, rotation, shift, thickness): the pure-numpy transforms live
in :mod:`nnmath.corrupt`, where training-time augmentation uses them too; re-exported here, where
the Lab and the data layer have always found them."""

from nnmath.corrupt import (
    CENTRE,
    CORRUPTIONS,
    LEVELS,
    SIDE,
    UNITS,
    corrupt,
    gaussian_noise,
    rotate,
    shift,
    thickness,
)

__all__ = [
    "CENTRE",
    "CORRUPTIONS",
    "LEVELS",
    "SIDE",
    "UNITS",
    "corrupt",
    "gaussian_noise",
    "rotate",
    "shift",
    "thickness",
]

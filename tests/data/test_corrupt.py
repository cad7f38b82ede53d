"""Image corruptions: each checked against what it must do to a digit."""

from __future__ import annotations

import numpy as np
import pytest

from data import corrupt, load_dataset


@pytest.fixture(scope="module")
def digits():
    return load_dataset("sample").images[::250].copy()  # 20 real digits, uint8 (20, 28, 28)


def centre_of_mass(img):
    img = img.astype(np.float64)
    rr, cc = np.mgrid[0:28, 0:28]
    return np.array([(img * rr).sum(), (img * cc).sum()]) / img.sum()


def test_rotation_by_0_is_the_identity_and_by_90_is_rot90(digits):
    np.testing.assert_array_equal(corrupt.rotate(digits, 0), digits)
    np.testing.assert_array_equal(corrupt.rotate(digits, 360), digits)
    # MNIST digits have blank borders, so nothing is lost at the edges
    np.testing.assert_array_equal(corrupt.rotate(digits, 90), np.rot90(digits, axes=(1, 2)))
    np.testing.assert_array_equal(corrupt.rotate(digits, -90), np.rot90(digits, -1, axes=(1, 2)))
    np.testing.assert_array_equal(corrupt.rotate(digits[0], 180), np.rot90(digits[0], 2))


def test_rotation_keeps_ink_near_the_centre_and_the_input_untouched(digits):
    before = digits.copy()
    r = corrupt.rotate(digits, 30)
    np.testing.assert_array_equal(digits, before)
    assert r.dtype == np.uint8 and r.shape == digits.shape
    # interpolation blurs a little, but the total ink stays close
    np.testing.assert_allclose(r.sum(axis=(1, 2)), digits.sum(axis=(1, 2)), rtol=0.08)


@pytest.mark.parametrize("k", [1, 2, 3, -2])
def test_shift_moves_the_centre_of_mass_by_the_shift(digits, k):
    for img, moved in zip(digits, corrupt.shift(digits, k)):
        if moved.sum() == img.sum():  # nothing left the frame
            np.testing.assert_allclose(centre_of_mass(moved) - centre_of_mass(img), [k, k])
    np.testing.assert_array_equal(corrupt.shift(digits, 2, 0)[:, :, 2:], digits[:, :, :-2])
    np.testing.assert_array_equal(corrupt.shift(digits, 0), digits)


def test_thickening_never_lowers_a_pixel_and_thinning_never_raises_one(digits):
    thick, thin = corrupt.thickness(digits, 1), corrupt.thickness(digits, -1)
    assert (thick >= digits).all() and (thick > digits).any()
    assert (thin <= digits).all() and (thin < digits).any()
    # a single bright pixel becomes a 3x3 square, and back
    dot = np.zeros((28, 28), np.uint8)
    dot[10, 12] = 200
    square = corrupt.thickness(dot, 1)
    assert square.sum() == 9 * 200 and (square[9:12, 11:14] == 200).all()
    np.testing.assert_array_equal(corrupt.thickness(square, -1), dot)
    np.testing.assert_array_equal(corrupt.thickness(digits, 0), digits)


def test_noise_has_the_asked_spread_and_is_reproducible(digits):
    grey = np.full((50, 28, 28), 128, np.uint8)
    noisy = corrupt.gaussian_noise(grey, 0.1)
    assert noisy.astype(float).std() == pytest.approx(25.5, rel=0.03)
    assert abs(noisy.astype(float).mean() - 128) < 0.5
    np.testing.assert_array_equal(corrupt.gaussian_noise(grey, 0.1), noisy)
    np.testing.assert_array_equal(corrupt.gaussian_noise(digits, 0.0), digits)


def test_bad_arguments_name_the_rule():
    img = np.zeros((28, 28), np.uint8)
    with pytest.raises(ValueError, match="std must be >= 0, got -0.1"):
        corrupt.gaussian_noise(img, -0.1)
    with pytest.raises(ValueError, match=r"images must have shape \(n, 28, 28\)"):
        corrupt.rotate(np.zeros((3, 27, 28), np.uint8), 5)
    with pytest.raises(ValueError, match="images must be uint8"):
        corrupt.shift(img.astype(float), 1)
    with pytest.raises(ValueError, match="steps must be a whole number, got 1.5"):
        corrupt.thickness(img, 1.5)
    with pytest.raises(ValueError, match="kind must be one of noise, rotate, shift, thickness"):
        corrupt.corrupt(img, "blur", 1)

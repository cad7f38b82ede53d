"""from_drawing: a drawing pad's image as MNIST would have stored it."""

import numpy as np
import pytest

import nnmath
from data import from_drawing, load_dataset, train_dev_split
from data.drawing import BOX, CENTRE, EMPTY, area_weights, centre_of_mass, resize_area


@pytest.fixture(scope="module")
def sample():
    return load_dataset("sample")


@pytest.fixture(scope="module")
def net_and_dev(sample):
    train, dev = train_dev_split(sample, seed=0)
    run = nnmath.gradient_descent(train.images, train.labels, iterations=500)
    return run.params, dev


def test_the_centre_is_where_real_mnist_digits_have_their_centre_of_mass(sample):
    """The measurement behind CENTRE: the mean centre of mass of the sample's 5,000 digits."""
    com = np.array([centre_of_mass(im.astype(float)) for im in sample.images])  # (5000, 2)
    assert np.abs(com.mean(axis=0) - CENTRE).max() < 0.05, com.mean(axis=0)  # (13.99, 14.00)
    assert com.std(axis=0).max() < 0.35  # every digit near it: MNIST centred them all


def pad(image, scale, canvas, at, colour=(200, 30, 90)):
    """A digit enlarged ``scale`` times and drawn at ``at`` on a transparent RGBA canvas."""
    big = np.kron(image, np.ones((scale, scale))).astype(np.uint8)
    out = np.zeros((*canvas, 4), np.uint8)
    (y, x), (h, w) = at, big.shape
    out[y : y + h, x : x + w, 3] = big
    out[y : y + h, x : x + w, :3] = colour
    return out


def test_real_digits_enlarged_and_moved_come_back_close_and_read_the_same(net_and_dev):
    params, dev = net_and_dev
    rng = np.random.default_rng(0)
    images = dev.images[:100]
    back = []
    for im in images:
        at = (int(rng.integers(0, 120)), int(rng.integers(0, 220)))
        drawing = from_drawing(pad(im, 10, (400, 500), at))
        assert drawing.message is None and drawing.image.dtype == np.uint8
        back.append(drawing.image)
    back = np.array(back)
    error = np.abs(back.astype(float) - images).mean(axis=(1, 2))  # per image, of 255
    assert error.mean() < 1 and error.max() < 5, (error.mean(), error.max())
    same = nnmath.make_predictions(back, params) == nnmath.make_predictions(images, params)
    assert same.all(), np.flatnonzero(~same)


def test_grey_and_rgb_with_dark_or_light_paper_give_the_same_digit(sample):
    im = sample.images[1234]
    big = np.kron(im, np.ones((6, 6))).astype(np.uint8)
    light_on_dark = np.zeros((300, 260), np.uint8)
    light_on_dark[40 : 40 + 168, 50 : 50 + 168] = big
    dark_on_light = np.stack([255 - light_on_dark] * 3, axis=2)  # RGB, black ink, white paper
    a, b = from_drawing(light_on_dark).image, from_drawing(dark_on_light).image
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(float) - im).mean() < 2


def test_shape_box_and_centre_of_a_drawn_bar():
    """A tall bar: 20 pixels high, aspect kept, centre of mass at (14, 14) to half a pixel."""
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[30:230, 100:140, 3] = 255  # 200 x 40 of ink -> 20 x 4
    img = from_drawing(canvas).image
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    assert (rows.size, cols.size) == (BOX, 4)
    r, c = centre_of_mass(img.astype(float))
    assert abs(r - CENTRE[0]) <= 0.5 and abs(c - CENTRE[1]) <= 0.5
    assert img.max() == 255


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((280, 280, 4), np.uint8),  # a transparent pad
        np.full((100, 80, 3), 255, np.uint8),  # white paper
        np.zeros((50, 50), np.uint8),  # a black pad
    ],
)
def test_an_empty_drawing_is_a_black_image_and_a_message(blank):
    drawing = from_drawing(blank)
    assert drawing.message == EMPTY
    assert drawing.image.shape == (28, 28) and not drawing.image.any()


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((10, 10, 2), np.uint8), r"RGBA \(H, W, 4\), got shape \(10, 10, 2\)"),
        (np.zeros(5, np.uint8), r"got shape \(5,\)"),
        (np.zeros((5, 5), np.int64), "uint8 0..255 or floats in \\[0, 1\\], got dtype int64"),
    ],
)
def test_something_that_is_not_an_image_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        from_drawing(bad)


def test_area_resampling_keeps_the_mean_and_is_exact_for_whole_blocks():
    rng = np.random.default_rng(0)
    img = rng.random((57, 31))
    assert resize_area(img, 20, 11).mean() == pytest.approx(img.mean())
    blocks = np.kron(rng.random((4, 3)), np.ones((5, 5)))
    np.testing.assert_allclose(resize_area(blocks, 4, 3), blocks[::5, ::5])
    np.testing.assert_allclose(area_weights(7, 3).sum(axis=1), 1)

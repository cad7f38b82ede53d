"""The math: shapes, a gradient check, one update worked by hand, stability, no mutation."""

import math

import numpy as np
import pytest

from nnmath import (
    ACTIVATIONS,
    Params,
    backward_propagation,
    cross_entropy,
    forward_propagation,
    get_accuracy,
    get_predictions,
    init_params,
    log_softmax,
    make_predictions,
    one_hot,
    predict_proba,
    scale_pixels,
    softmax,
    update_params,
)


def tiny_problem(hidden=3, m=5, seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.random((m, 784))
    y = rng.integers(0, 10, m)
    return init_params(hidden, seed, dtype=dtype), X.astype(dtype), y


def loss_of(params, X, Y, activation="relu"):
    return cross_entropy(forward_propagation(params, X, activation=activation).Z2, Y)


def test_shapes_follow_the_notation():
    params, X, y = tiny_problem(hidden=7, m=4)
    assert (params.W1.shape, params.b1.shape, params.W2.shape, params.b2.shape) == (
        (784, 7),
        (7,),
        (7, 10),
        (10,),
    )
    assert params.hidden == 7
    Z1, A1, Z2, A2 = forward_propagation(params, X)
    assert Z1.shape == A1.shape == (4, 7) and Z2.shape == A2.shape == (4, 10)
    np.testing.assert_allclose(A2.sum(axis=1), 1)
    grads = backward_propagation(params, forward_propagation(params, X), X, one_hot(y))
    assert [g.shape for g in (grads.dW1, grads.db1, grads.dW2, grads.db2)] == [
        (784, 7),
        (7,),
        (7, 10),
        (10,),
    ]


def test_uniform_init_is_the_notebooks_rand_minus_half():
    params = init_params(10, seed=3, dtype=np.float64)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(params.W1, (rng.random((10, 784)) - 0.5).T)
    np.testing.assert_array_equal(params.b1, rng.random(10) - 0.5)
    for a in params.arrays().values():
        assert a.min() >= -0.5 and a.max() < 0.5
    assert init_params(10, seed=3).W1.dtype == np.float32
    assert init_params(10, seed=3, dtype="float64").W1.dtype == np.float64


def test_he_init_scales_weights_and_zeroes_biases():
    params = init_params(64, seed=0, init="he", dtype=np.float64)
    assert abs(params.W1.std() - math.sqrt(2 / 784)) < 0.002
    assert not params.b1.any() and not params.b2.any()


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_check_central_differences(activation):
    """backward_propagation agrees with central differences of the loss, every parameter."""
    params, X, y = tiny_problem()
    Y = one_hot(y, dtype=np.float64)
    grads = backward_propagation(
        params, forward_propagation(params, X, activation=activation), X, Y, activation=activation
    )
    eps = 1e-6
    for name, grad in zip(("W1", "b1", "W2", "b2"), (grads.dW1, grads.db1, grads.dW2, grads.db2)):
        numeric = np.zeros_like(grad)
        for index in np.ndindex(grad.shape):
            plus, minus = (getattr(params, name).copy() for _ in range(2))
            plus[index] += eps
            minus[index] -= eps
            numeric[index] = (
                loss_of(Params(**{**params.arrays(), name: plus}), X, Y, activation)
                - loss_of(Params(**{**params.arrays(), name: minus}), X, Y, activation)
            ) / (2 * eps)
        rel = np.linalg.norm(numeric - grad) / np.linalg.norm(numeric + grad)
        assert rel < 1e-6, (name, rel)


def test_one_update_worked_by_hand():
    """hidden = 1, two images, both labelled 3, alpha = 0.5, float64.

    Image 1 has pixel 0 = 1 and every other pixel 0; image 2 is blank.
    W1 = 0 except W1[0, 0] = 0.5; b1 = 0; W2 = 0 except W2[0, 3] = 2 ln 9; b2 = 0.
    """
    ln9 = math.log(9)
    X = np.zeros((2, 784))
    X[0, 0] = 1.0
    W1 = np.zeros((784, 1))
    W1[0, 0] = 0.5
    W2 = np.zeros((1, 10))
    W2[0, 3] = 2 * ln9
    params = Params(W1, np.zeros(1), W2, np.zeros(10))
    Y = one_hot([3, 3], dtype=np.float64)

    Z1, A1, Z2, A2 = forward_propagation(params, X)
    # Z1 = [[1*0.5 + 0], [0]] = [[0.5], [0]]; ReLU keeps both: A1 = [[0.5], [0]]
    np.testing.assert_allclose(A1, [[0.5], [0.0]])
    # Z2 row 1 = 0.5 * W2 = ln 9 at class 3, 0 elsewhere -> exp = 9 there, 1 at the 9 others,
    # sum 18: A2 row 1 = 1/18 everywhere, 9/18 = 1/2 at class 3. Row 2: Z2 = 0 -> 1/10 each.
    np.testing.assert_allclose(A2[0], [1 / 18] * 3 + [0.5] + [1 / 18] * 6)
    np.testing.assert_allclose(A2[1], [0.1] * 10)
    # loss = mean(-ln A2[i, 3]) = (ln 2 + ln 10) / 2 = ln(20) / 2 = 1.4979
    assert cross_entropy(Z2, Y) == pytest.approx(math.log(20) / 2)

    g = backward_propagation(params, (Z1, A1, Z2, A2), X, Y)
    # dZ2 = (A2 - Y) / 2: row 1 = 1/36 elsewhere, (1/2 - 1)/2 = -1/4 at 3;
    #                     row 2 = 1/20 elsewhere, (1/10 - 1)/2 = -0.45 at 3
    # dW2 = A1.T @ dZ2 = 0.5 * row 1 + 0 * row 2 = 1/72 elsewhere, -1/8 at 3
    np.testing.assert_allclose(g.dW2, [[1 / 72] * 3 + [-1 / 8] + [1 / 72] * 6])
    # db2 = row 1 + row 2 (summed over the samples): 1/36 + 1/20 = 7/90 elsewhere, -0.7 at 3
    np.testing.assert_allclose(g.db2, [7 / 90] * 3 + [-0.7] + [7 / 90] * 6)
    # dA1 = dZ2 @ W2.T = dZ2[:, 3] * 2 ln 9 = [[-ln 9 / 2], [-0.9 ln 9]]
    # dZ1 = dA1 * (Z1 > 0) = [[-ln 9 / 2], [0]]   (the blank image's unit is at 0: no gradient)
    # dW1 = X.T @ dZ1: row 0 = 1 * (-ln 9 / 2) = -1.0986, every other row 0; db1 = -ln 9 / 2
    expected_dW1 = np.zeros((784, 1))
    expected_dW1[0, 0] = -ln9 / 2
    np.testing.assert_allclose(g.dW1, expected_dW1)
    np.testing.assert_allclose(g.db1, [-ln9 / 2])

    new = update_params(params, g, alpha=0.5)
    # W1[0, 0] = 0.5 - 0.5 * (-ln 9 / 2) = 0.5 + ln 9 / 4 = 1.0493; b1 = ln 9 / 4 = 0.5493
    assert new.W1[0, 0] == pytest.approx(0.5 + ln9 / 4) and new.W1[1:].sum() == 0
    np.testing.assert_allclose(new.b1, [ln9 / 4])
    # W2 = W2 - 0.5 * dW2: -1/144 elsewhere, 2 ln 9 + 1/16 at 3
    np.testing.assert_allclose(new.W2, [[-1 / 144] * 3 + [2 * ln9 + 1 / 16] + [-1 / 144] * 6])
    # b2 = -0.5 * db2: -7/180 elsewhere, +0.35 at 3
    np.testing.assert_allclose(new.b2, [-7 / 180] * 3 + [0.35] + [-7 / 180] * 6)
    # and the old parameters are untouched
    assert params.W1[0, 0] == 0.5 and not params.b2.any()


def test_bias_gradients_sum_over_samples_only():
    params, X, y = tiny_problem(hidden=4, m=6)
    Y = one_hot(y, dtype=np.float64)
    cache = forward_propagation(params, X)
    g = backward_propagation(params, cache, X, Y)
    dZ2 = (cache.A2 - Y) / 6
    np.testing.assert_allclose(g.db2, dZ2.sum(axis=0))
    assert g.db1.shape == (4,) and g.db2.shape == (10,)


def test_block_gradients_add_up_to_the_full_batch_gradient():
    params, X, y = tiny_problem(hidden=4, m=10)
    Y = one_hot(y, dtype=np.float64)
    full = backward_propagation(params, forward_propagation(params, X), X, Y)
    a = backward_propagation(params, forward_propagation(params, X[:4]), X[:4], Y[:4], m=10)
    b = backward_propagation(params, forward_propagation(params, X[4:]), X[4:], Y[4:], m=10)
    total = a + b
    for name in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_allclose(getattr(total, name), getattr(full, name), rtol=1e-12)


def test_softmax_and_loss_are_stable_for_huge_logits():
    Z = np.array([[1000.0, 0.0, -1000.0] + [0.0] * 7, [1e30] * 10], dtype=np.float32)
    A = softmax(Z)
    assert np.isfinite(A).all()
    np.testing.assert_allclose(A[0, 0], 1.0)
    np.testing.assert_allclose(A[1], 0.1)
    # the true class has probability e^-2000, which underflows to 0: the loss stays finite
    Y = one_hot([2, 0])
    assert cross_entropy(Z, Y) == pytest.approx((2000 + math.log(10)) / 2, rel=1e-5)
    # given A2, the log-sum-exp comes from the largest probability: the same loss
    assert cross_entropy(Z, Y, A2=A) == pytest.approx((2000 + math.log(10)) / 2, rel=1e-5)


def test_loss_from_probabilities_is_the_loss_from_logits():
    rng = np.random.default_rng(4)
    for scale in (0.1, 3, 30, 300):  # up to true-class probabilities far below float32's range
        Z = (rng.standard_normal((500, 10)) * scale).astype(np.float32)
        Y = one_hot(rng.integers(0, 10, 500))
        expected = -np.sum(Y * log_softmax(Z.astype(np.float64))) / 500
        assert cross_entropy(Z, Y, A2=softmax(Z)) == pytest.approx(expected, rel=1e-5)
        assert cross_entropy(Z, Y) == pytest.approx(expected, rel=1e-5)


def test_nothing_mutates_its_arguments():
    params, X, y = tiny_problem()
    before = {k: v.copy() for k, v in params.arrays().items()}
    X_before, Y = X.copy(), one_hot(y, dtype=np.float64)
    cache = forward_propagation(params, X)
    grads = backward_propagation(params, cache, X, Y)
    new = update_params(params, grads, 0.1)
    assert new is not params and new.W1 is not params.W1
    for k, v in params.arrays().items():
        np.testing.assert_array_equal(v, before[k])
    np.testing.assert_array_equal(X, X_before)


def test_one_hot_predictions_accuracy():
    Y = one_hot([0, 3, 9])
    assert Y.shape == (3, 10) and Y.sum() == 3 and Y[1, 3] == 1 and Y[2, 9] == 1
    A2 = np.array([[0.1, 0.9] + [0] * 8, [0.8, 0.2] + [0] * 8])
    np.testing.assert_array_equal(get_predictions(A2), [1, 0])
    assert get_accuracy(np.array([1, 0, 2]), np.array([1, 1, 2])) == pytest.approx(2 / 3)


def test_count_correct_is_the_argmax_count_ties_included():
    """Training counts right answers from the row maxima; argmax takes the first of tied
    classes, so rows with ties (many here: small integer scores) must count the same."""
    from nnmath.network import count_correct

    rng = np.random.default_rng(0)
    for trial in range(300):
        m = int(rng.integers(1, 60))
        A2 = rng.integers(0, 3 if trial % 2 else 1000, (m, 10)).astype(np.float32)
        if trial % 3:
            A2 = np.asfortranarray(A2)  # as training stores it
        y = rng.integers(0, 10, m)
        assert count_correct(A2, y) == np.count_nonzero(get_predictions(A2) == y)
    assert count_correct(np.ones((2, 10)), np.array([0, 1])) == 1  # all tied: argmax says 0


@pytest.mark.parametrize("layout", ["F", "C"])
def test_scores_are_the_loss_and_the_right_answers(layout):
    """Training takes loss and right answers together from the labels' entries (scores): the
    same as cross_entropy and count_correct, ties and logits far beyond float32's exp included,
    in either layout."""
    from nnmath.network import count_correct, scores

    rng = np.random.default_rng(5)
    for trial in range(120):
        m = int(rng.integers(1, 300))
        if trial % 3 == 0:  # small integer logits: many tied rows
            Z = rng.integers(0, 3, (m, 10)).astype(np.float32)
        else:
            Z = (rng.standard_normal((m, 10)) * (0.1, 3, 300)[trial % 3]).astype(np.float32)
        Z = np.asfortranarray(Z) if layout == "F" else np.ascontiguousarray(Z)
        A = softmax(Z)
        y = rng.integers(0, 10, m)
        loss, correct = scores(Z, A, y, m=1000)
        assert loss == pytest.approx(cross_entropy(Z, one_hot(y), m=1000, A2=A), rel=1e-12)
        assert correct == count_correct(A, y) == np.count_nonzero(get_predictions(A) == y)
    Z = np.asfortranarray(np.array([[1000.0, 0.0, -1000.0] + [0.0] * 7, [1e30] * 10], np.float32))
    loss, correct = scores(Z, softmax(Z), np.array([2, 0]))
    assert loss == pytest.approx((2000 + math.log(10)) / 2, rel=1e-5) and correct == 1


def test_pass_arrays_are_stored_column_by_column_with_the_same_values():
    """forward/backward keep the (m, 10) arrays column by column (the fast layout for their
    per-row sums); shapes and values are what the row-major textbook lines give."""
    rng = np.random.default_rng(1)
    X = rng.random((300, 784)).astype(np.float32)
    Y = one_hot(rng.integers(0, 10, 300))
    params = init_params(12, seed=3)
    cache = forward_propagation(params, X)
    assert cache.Z2.flags.f_contiguous and cache.A2.flags.f_contiguous
    Z1 = X @ params.W1 + params.b1
    Z2 = np.maximum(Z1, 0) @ params.W2 + params.b2
    np.testing.assert_allclose(cache.Z1, Z1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cache.Z2, Z2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cache.A2.sum(axis=1), 1, rtol=1e-6)
    grads = backward_propagation(params, cache, X, Y)
    dZ2 = (cache.A2 - Y) / 300
    np.testing.assert_allclose(grads.dW2, cache.A1.T @ dZ2, rtol=1e-5, atol=1e-6)
    dZ1 = (dZ2 @ params.W2.T) * (Z1 > 0)
    np.testing.assert_allclose(grads.dW1, X.T @ dZ1, rtol=1e-4, atol=1e-6)


def test_uint8_pixels_and_scaled_floats_predict_alike():
    rng = np.random.default_rng(0)
    X8 = rng.integers(0, 256, (50, 784), dtype=np.uint8)
    params = init_params(16, seed=0)
    np.testing.assert_array_equal(scale_pixels(X8), X8.astype(np.float32) * np.float32(1 / 255))
    p8 = predict_proba(params, X8)
    pf = predict_proba(params, X8 / 255.0)
    assert p8.shape == (50, 10)
    np.testing.assert_allclose(p8, pf, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(make_predictions(X8, params), get_predictions(p8))
    # (m, 28, 28) images are accepted too
    np.testing.assert_array_equal(
        make_predictions(X8.reshape(50, 28, 28), params), make_predictions(X8, params)
    )


@pytest.mark.parametrize(
    "hidden, pieces, tn_pieces",
    [(10, 12, 24), (13, 24, 24), (16, 24, 1), (64, 1, 96), (256, 1, 1)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_in_pieces_are_the_products(monkeypatch, hidden, pieces, tn_pieces, dtype):
    """Where the BLAS has a small-product path, X @ W1 and dZ1.T @ X are taken in pieces of rows
    of at most SMALL_PRODUCT multiply-adds, Z1's as W1.T @ piece.T (outputs of at most
    SMALL_TN_OUTPUT numbers) where whole registers of columns would go unused or the other pieces
    would be too narrow (64 units): the same products to rounding; elsewhere (and when pieces
    would be too narrow for both, as at 256 units) the plain product, bit for bit."""
    from nnmath import network

    rng = np.random.default_rng(0)
    X = (rng.random((1536, 661)) < 0.2).astype(dtype) * rng.integers(1, 256, (1536, 661))
    W = rng.standard_normal((661, hidden)).astype(dtype)
    D = rng.standard_normal((1536, hidden)).astype(dtype)
    monkeypatch.setattr(network, "small_products", lambda: True)
    rows = network._piece_rows(X, hidden)
    assert (rows is None) == (pieces == 1)
    if rows is not None:
        assert rows * hidden * 661 <= network.SMALL_PRODUCT and -(-1536 // rows) == pieces
    tn_rows = network._tn_rows(X, hidden)
    if dtype == np.float32:  # 16 floats per register; doubles: 8, so 16 units fill two
        assert (tn_rows is None) == (tn_pieces == 1)
    if tn_rows is not None:
        assert tn_rows * hidden <= network.SMALL_TN_OUTPUT
        assert tn_rows * hidden * 661 <= network.SMALL_PRODUCT
        assert -(-1536 // tn_rows) == tn_pieces
    Z1 = network.times(X, W)
    assert Z1.flags.f_contiguous == (rows is not None or tn_rows is not None)
    np.testing.assert_allclose(Z1, X @ W, rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(network.transposed_times(D, X), D.T @ X, rtol=1e-5, atol=1e-1)
    monkeypatch.setattr(network, "small_products", lambda: False)
    monkeypatch.setattr(network, "column_groups", lambda: False)
    np.testing.assert_array_equal(network.times(X, W), X @ W)
    np.testing.assert_array_equal(network.transposed_times(D, X), D.T @ X)


@pytest.mark.parametrize("hidden", [1, 2, 3, 4, 5, 10, 11, 64, 66])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_in_column_groups_are_the_products(monkeypatch, hidden, dtype):
    """Where the BLAS takes dZ1's columns in groups of COLUMN_GROUP (OpenBLAS's Haswell kernel),
    dZ1.T @ X in float32 is the product with zero columns added up to whole groups, their zero
    rows dropped: the same sums to rounding, bit for bit the padded product; a last group of 1
    column, and float64, as they are."""
    from nnmath import network

    rng = np.random.default_rng(1)
    X = (rng.random((1536, 661)) < 0.2).astype(dtype) * rng.integers(1, 256, (1536, 661))
    D = np.asfortranarray(rng.standard_normal((1536, hidden)).astype(dtype))
    monkeypatch.setattr(network, "small_products", lambda: False)
    monkeypatch.setattr(network, "column_groups", lambda: True)
    got = network.transposed_times(D, X)
    assert got.shape == (hidden, 661)
    padded = hidden % network.COLUMN_GROUP > 1 and dtype == np.float32
    if padded:
        whole = -(-hidden // network.COLUMN_GROUP) * network.COLUMN_GROUP
        P = np.zeros((whole, 1536), dtype)
        P[:hidden] = D.T
        np.testing.assert_array_equal(got, (P @ X)[:hidden])
        np.testing.assert_allclose(got, D.T @ X, rtol=1e-5, atol=1e-1)
    else:
        np.testing.assert_array_equal(got, D.T @ X)

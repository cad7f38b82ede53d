"""trace_step: the numbers of one image's training step are nnmath's own; equation_line: the
source line shown for each equation really is in network.py and computes that quantity."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nnmath
from nnmath.trace import EQUATIONS, equation_line, equation_lines, trace_step

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)
    params = nnmath.init_params(12, seed=1)
    x = rng.integers(0, 256, size=(28, 28)).astype(np.uint8)
    return params, x, 7


def test_every_array_equals_the_library_functions_on_a_batch_of_one(setup):
    params, x, y = setup
    t = trace_step(params, x, y, 0.1)
    X = nnmath.scale_pixels(x.reshape(1, 784))
    Y = nnmath.one_hot([y])
    cache = nnmath.forward_propagation(params, X)
    grads = nnmath.backward_propagation(params, cache, X, Y)
    for name in ("Z1", "A1", "Z2", "A2"):
        np.testing.assert_array_equal(getattr(t, name), getattr(cache, name))
    for name in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_array_equal(getattr(t, name), getattr(grads, name))
    assert t.loss == nnmath.cross_entropy(cache.Z2, Y)
    assert t.loss == pytest.approx(-np.log(cache.A2[0, y]), rel=1e-5)
    # dZ2 = A2 - Y for one image; dZ1 = dZ2 W2^T * relu'(Z1)
    np.testing.assert_allclose(t.dZ2, cache.A2 - Y, atol=1e-7)
    np.testing.assert_allclose(t.dZ1, (t.dZ2 @ params.W2.T) * (cache.Z1 > 0), atol=1e-7)
    new = nnmath.update_params(params, grads, 0.1)
    for name, a in new.arrays().items():
        np.testing.assert_array_equal(getattr(t.updated, name), a)
    after = nnmath.forward_propagation(new, X)
    assert t.loss_after == nnmath.cross_entropy(after.Z2, Y)
    assert t.loss_after < t.loss  # a small step down the gradient lowers this image's loss


def test_inputs_are_checked_and_not_written(setup):
    params, x, y = setup
    before = {k: v.copy() for k, v in params.arrays().items()}
    trace_step(params, x.reshape(784) / 255.0, y, 0.5)
    for k, v in params.arrays().items():
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(ValueError, match="alpha must be > 0, got -1"):
        trace_step(params, x, y, -1)
    with pytest.raises(ValueError, match="x must have 784 pixels"):
        trace_step(params, x[:10], y, 0.1)
    with pytest.raises(ValueError, match=r"x float pixels must be in \[0, 1\]"):
        trace_step(params, x.astype(float), y, 0.1)
    with pytest.raises(ValueError, match="y must be a digit 0..9, got 12"):
        trace_step(params, x, 12, 0.1)


def test_each_equation_line_is_in_network_py_and_assigns_its_quantity():
    source = (ROOT / "nnmath" / "network.py").read_text().splitlines()
    lines = equation_lines()
    assert tuple(lines) == EQUATIONS
    for name, line in lines.items():
        assert line.file == "nnmath/network.py"
        assert source[line.lineno - 1].strip() == line.text, name
        if name == "L":
            assert "log_softmax(Z2)" in line.text
        else:
            assert re.match(rf"{name}\s*=", line.text), line.text
    assert "params.W1" in lines["Z1"].text and "alpha * grads.dW1" in lines["W1"].text


def test_unknown_equation_names_the_choices():
    with pytest.raises(ValueError, match="name must be one of Z1, A1"):
        equation_line("Z3")

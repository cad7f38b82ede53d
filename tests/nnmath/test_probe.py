"""snapshot_passes equals one forward_propagation per snapshot; forward_with_units with a unit
at 0 equals the network with that unit removed."""

from __future__ import annotations

import numpy as np
import pytest

import nnmath
from nnmath import probe


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(300, 784)).astype(np.uint8)
    y = rng.integers(0, 10, size=300)
    result = nnmath.gradient_descent(X, y, hidden=7, alpha=0.5, snapshot_every=5, iterations=20)
    return X, y, result


@pytest.mark.parametrize("block_rows", [4096, 64])
def test_snapshot_passes_equal_a_forward_pass_per_snapshot(run, monkeypatch, block_rows):
    X, _, result = run
    monkeypatch.setattr(probe, "MAX_COLUMNS", 14)  # two snapshots per matmul: groups are joined
    passes = probe.snapshot_passes(result.snapshots, X, block_rows=block_rows)
    k = len(result.snapshot_iterations)
    assert passes.pred.shape == (k, 300) and passes.active.shape == (k, 7)
    for j, it in enumerate(result.snapshot_iterations):
        params = result.snapshot(int(it))
        cache = nnmath.forward_propagation(params, nnmath.scale_pixels(X))
        np.testing.assert_array_equal(passes.pred[j], cache.A2.argmax(axis=1))
        np.testing.assert_array_equal(passes.active[j], (cache.A1 > 0).any(axis=0))


def test_a_unit_that_never_fires_is_not_active(run):
    X, _, result = run
    snaps = {k: v.copy() for k, v in result.snapshots.items()}
    snaps["W1"][:, :, 3] = 0
    snaps["b1"][:, 3] = -1  # Z1 = -1 for every image: ReLU gives 0
    passes = probe.snapshot_passes(snaps, X)
    assert not passes.active[:, 3].any()


def test_switching_a_unit_off_is_removing_it(run):
    X, _, result = run
    p = result.params
    Xf = nnmath.scale_pixels(X)
    scale = np.ones(7)
    np.testing.assert_array_equal(
        probe.forward_with_units(p, Xf, scale).A2, nnmath.forward_propagation(p, Xf).A2
    )
    scale[[2, 5]] = 0
    keep = [0, 1, 3, 4, 6]
    smaller = nnmath.Params(p.W1[:, keep], p.b1[keep], p.W2[keep], p.b2)
    np.testing.assert_allclose(
        probe.forward_with_units(p, Xf, scale).A2,
        nnmath.forward_propagation(smaller, Xf).A2,
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        probe.predict_with_units(p, X, scale, block_rows=50),
        probe.forward_with_units(p, Xf, scale).A2,
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.raises(ValueError, match=r"unit_scale must have one value per hidden unit \(7\)"):
        probe.forward_with_units(p, Xf, np.ones(3))


def test_hidden_activations_are_forward_propagations_a1(run):
    X, _, result = run
    # float32 matmuls of different row blocks may round differently in the last bits
    np.testing.assert_allclose(
        probe.hidden_activations(result.params, X, block_rows=77),
        nnmath.forward_propagation(result.params, nnmath.scale_pixels(X)).A1,
        rtol=1e-5,
        atol=1e-5,
    )

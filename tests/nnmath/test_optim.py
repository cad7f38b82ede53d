"""Optimizers, weight decay and schedules (nnmath.optim) against PyTorch's torch.optim and
lr_scheduler, step for step in float64: the independent reference. Then the optimizer's state
through checkpoints, resume and prefix reuse, and the default run left unchanged."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

import nnmath
from nnmath import TrainConfig
from nnmath.network import Grads, init_params
from nnmath.optim import init_state, learning_rate, step
from nnmath.persist import load_result, save_result

torch = pytest.importorskip("torch")  # requirements-test.txt pins it

OPTIMIZERS = ("gd", "momentum", "nesterov", "adam")
SCHEDULES = {
    "constant": {},
    "step": {"schedule": "step", "step_every": 4, "gamma": 0.5},
    "cosine": {"schedule": "cosine", "horizon": 9},  # 20 steps: past the horizon as well
}
TOL = 1e-10


def torch_optimizer(config: TrainConfig, tensors: dict):
    """torch.optim's optimizer and scheduler for ``config``: weight decay on W1 and W2 only (a
    second parameter group of the biases without it)."""
    groups = [
        {"params": [tensors["W1"], tensors["W2"]], "weight_decay": config.weight_decay},
        {"params": [tensors["b1"], tensors["b2"]], "weight_decay": 0.0},
    ]
    if config.optimizer == "adam":
        opt = torch.optim.Adam(
            groups, lr=config.alpha, betas=(config.beta1, config.beta2), eps=config.eps
        )
    else:
        opt = torch.optim.SGD(
            groups,
            lr=config.alpha,
            momentum=0.0 if config.optimizer == "gd" else config.momentum,
            nesterov=config.optimizer == "nesterov",
        )
    if config.schedule == "step":
        return opt, torch.optim.lr_scheduler.StepLR(opt, config.step_every, config.gamma)
    if config.schedule == "cosine":
        return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.horizon)
    return opt, None


def configs():
    for optimizer, wd, schedule in itertools.product(OPTIMIZERS, (0.0, 0.01), SCHEDULES):
        alpha = 0.01 if optimizer == "adam" else 0.1
        yield TrainConfig(
            hidden=6,
            alpha=alpha,
            dtype="float64",
            optimizer=optimizer,
            weight_decay=wd,
            **SCHEDULES[schedule],
        ).validated()


IDS = [f"{c.optimizer}-wd{c.weight_decay:g}-{c.schedule}" for c in configs()]


@pytest.mark.parametrize("config", list(configs()), ids=IDS)
def test_one_step_at_a_time_equals_torch_optim(config):
    """Given the same gradients, every update (parameters and learning rate) equals torch's."""
    rng = np.random.default_rng(1)
    params = init_params(config.hidden, 0, dtype=np.float64)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.arrays().items()}
    opt, scheduler = torch_optimizer(config, tensors)
    state = init_state(config.optimizer, params)
    for t in range(20):
        grads = Grads(*(rng.normal(0, 0.1, a.shape) for a in params.arrays().values()))
        assert learning_rate(config, t) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-15)
        params, state = step(params, grads, state, config, t)
        for tensor, g in zip(tensors.values(), vars(grads).values(), strict=True):
            tensor.grad = torch.tensor(g)
        opt.step()
        if scheduler is not None:
            scheduler.step()
        for name, tensor in tensors.items():
            np.testing.assert_allclose(
                getattr(params, name), tensor.detach().numpy(), rtol=0, atol=TOL, err_msg=name
            )


def _torch_run(config: TrainConfig, X, y, iterations):
    """The network and its loss written in torch (autograd for the gradients), trained by
    torch.optim from nnmath's starting parameters: parameters after every update."""
    start = init_params(config.hidden, config.seed, dtype=np.float64)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in start.arrays().items()}
    opt, scheduler = torch_optimizer(config, tensors)
    Xt = torch.tensor(X, dtype=torch.float64) / 255
    yt = torch.tensor(y)
    out = []
    for _ in range(iterations):
        opt.zero_grad()
        A1 = torch.relu(Xt @ tensors["W1"] + tensors["b1"])
        Z2 = A1 @ tensors["W2"] + tensors["b2"]
        torch.nn.functional.cross_entropy(Z2, yt).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        out.append({k: v.detach().numpy().copy() for k, v in tensors.items()})
    return out


@pytest.fixture(scope="module")
def digits(mnist5k):
    """400 real digits (dead pixel columns and all), uint8."""
    X, y = mnist5k
    rows = np.random.default_rng(0).permutation(len(y))[:400]
    return X[rows], y[rows]


@pytest.mark.parametrize("config", list(configs()), ids=IDS)
def test_training_equals_torch_step_for_step(config, digits):
    """The whole loop (block sums, 1/255 on W1, dead columns left out) then the optimizer, against
    torch's autograd and torch.optim: the parameters after each of 20 updates, float64, 1e-10."""
    X, y = digits
    seen = []
    nnmath.gradient_descent(
        X, y, config, iterations=20, callback=lambda p: seen.append(p.params), callback_every=1
    )
    reference = _torch_run(config, X, y, 20)
    assert len(seen) == 20
    for t, (ours, theirs) in enumerate(zip(seen, reference, strict=True)):
        for name, value in theirs.items():
            np.testing.assert_allclose(
                getattr(ours, name), value, rtol=0, atol=TOL, err_msg=f"{name} after update {t}"
            )


# ---- the optimizer's state: checkpoints, resume, prefix reuse ---------------------------------


def _data(m=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(m, 784), dtype=np.uint8)
    X[:, :40] = 0
    y = rng.integers(0, 10, size=m)
    return X[:250], y[:250], X[250:], y[250:]


def same_bits(a, b, snapshots=True):
    """Equal bit for bit; ``snapshots`` False for a run continued from its end, which keeps the
    snapshot of where it ended (the unbroken run has none there)."""
    assert a.iterations == b.iterations and a.status == b.status
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(getattr(a.params, name), getattr(b.params, name))
        if snapshots:
            np.testing.assert_array_equal(a.snapshots[name], b.snapshots[name])
    assert a.state.keys() == b.state.keys() == a.state_snapshots.keys()
    for name in a.state:
        np.testing.assert_array_equal(a.state[name], b.state[name])
        if snapshots:
            np.testing.assert_array_equal(a.state_snapshots[name], b.state_snapshots[name])
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name))
        assert getattr(a, name) == getattr(b, name) or np.isnan(getattr(a, name))


KINDS = {
    "gd-step": dict(schedule="step", step_every=7),
    "momentum": dict(optimizer="momentum", weight_decay=0.001),
    "nesterov-cosine": dict(optimizer="nesterov", schedule="cosine", horizon=30),
    "adam": dict(optimizer="adam", alpha=0.005, weight_decay=0.001),
    "adam-dropout": dict(optimizer="adam", alpha=0.005, dropout=0.3),
    "momentum-augment": dict(optimizer="momentum", augment="rotate", augment_level=20.0),
}


@pytest.mark.parametrize("kind", KINDS)
def test_continued_checkpointed_and_truncated_runs_are_the_unbroken_run(kind, tmp_path):
    X, y, Xd, yd = _data()
    config = TrainConfig(
        **{"hidden": 8, "alpha": 0.05, "seed": 2, "snapshot_every": 10, **KINDS[kind]}
    )
    run = dict(X_dev=Xd, y_dev=yd)
    unbroken = nnmath.gradient_descent(X, y, config, iterations=45, **run)
    assert unbroken.status == "finished"
    assert set(unbroken.state) == set(nnmath.optim.state_names(config.optimizer))
    # continued from its end, through a file (as the run store keeps it)
    first = nnmath.gradient_descent(X, y, config, iterations=23, **run)
    save_result(first, tmp_path / "r.npz")
    continued = nnmath.continue_training(
        load_result(tmp_path / "r.npz"), X, y, iterations=22, **run
    )
    same_bits(continued, unbroken, snapshots=False)
    # continued from a checkpoint taken mid-run
    taken = {}
    nnmath.gradient_descent(
        X,
        y,
        config,
        iterations=45,
        callback=lambda p: taken.setdefault("c", p.checkpoint()) if p.iteration == 17 else None,
        callback_every=1,
        **run,
    )
    save_result(taken["c"], tmp_path / "c.npz")
    same_bits(nnmath.continue_training(load_result(tmp_path / "c.npz"), X, y, iterations=28, **run),
              unbroken)  # fmt: skip
    # prefix reuse: the long run truncated at a snapshot, then continued
    prefix = unbroken.truncated(20)
    np.testing.assert_array_equal(prefix.params.W1, unbroken.snapshots["W1"][2])
    same_bits(nnmath.continue_training(prefix, X, y, iterations=25, **run), unbroken)


@pytest.mark.parametrize("kind", ["adam-dropout", "momentum-augment"])
def test_training_noise_does_not_depend_on_the_thread_count(kind):
    X, y, Xd, yd = _data(m=2 * nnmath.BLOCK_ROWS + 300)
    config = TrainConfig(**{"hidden": 8, "alpha": 0.05, **KINDS[kind]})
    one, two = (
        nnmath.gradient_descent(X, y, config, iterations=4, X_dev=Xd, y_dev=yd, workers=w)
        for w in (1, 2)
    )
    same_bits(one, two)


def test_dropout_masks_hidden_units_only_in_training():
    X, y, Xd, yd = _data()
    base = TrainConfig(hidden=8, alpha=0.1)
    plain = nnmath.gradient_descent(X, y, base, iterations=3)
    dropped = nnmath.gradient_descent(X, y, replace(base, dropout=0.5), iterations=3)
    # iteration 0: the same parameters, a dropout forward pass gives another loss
    assert dropped.history.loss[0] != plain.history.loss[0]
    # the final metrics are of the whole network (no mask): recomputed from its parameters
    probs = nnmath.predict_proba(dropped.params, X, workers=1)
    assert dropped.train_accuracy == pytest.approx(np.mean(probs.argmax(1) == y))


def test_augmentation_draws_new_images_every_iteration_from_the_seed():
    from nnmath.corrupt import augment

    X = _data()[0][:20]
    a = augment(X, "rotate", 30.0, np.random.default_rng([0, 1, 0, 0]))
    b = augment(X, "rotate", 30.0, np.random.default_rng([0, 2, 0, 0]))
    again = augment(X, "rotate", 30.0, np.random.default_rng([0, 1, 0, 0]))
    assert a.shape == X.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, b)
    # one angle per image equals rotating that image alone by it
    from nnmath.corrupt import rotate

    angles = np.random.default_rng([0, 1, 0, 0]).uniform(-30, 30, 20)
    one = rotate(X[3].reshape(28, 28), angles[3])
    np.testing.assert_array_equal(a[3].reshape(28, 28), one)


# ---- the default run: unchanged numbers and id --------------------------------------------


def test_the_default_run_is_the_plain_gradient_descent_loop(small):
    """The default settings run the notebook's update (update_params with alpha) through the
    old path: a loop written with the block passes and update_params alone gives the same bits
    as gradient_descent, so the new settings at their defaults change nothing."""
    from nnmath import train as T

    X, y, Xd, yd = small
    config = TrainConfig()
    new = nnmath.gradient_descent(X, y, config, iterations=12, X_dev=Xd, y_dev=yd, workers=2)
    data = T._Data.checked(X, y, Xd, yd, config.dtype)
    params = init_params(config.hidden, config.seed)
    with T.one_blas_thread(), T.Blocks(2, data.dtype, T.BLOCK_ROWS * 784) as blocks:
        for i in range(12):
            loss, _, grads = T._pass(params, data.train, blocks)
            assert loss == new.history.loss[i]
            params = nnmath.update_params(params, grads, config.alpha)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(getattr(params, name), getattr(new.params, name))
    assert new.state == {} and new.state_snapshots == {}

"""Optimizers, weight decay and learning-rate schedules: one update of the parameters from the
summed gradient, as ``torch.optim`` writes it (the tests check them against PyTorch, float64, to
1e-10, step for step).

Update t (0-based: the t-th update of the run; PyTorch's step count is t + 1) with gradient g of
the mean cross-entropy, parameter p, learning rate lr_t (:func:`learning_rate`) and weight decay
lambda (on W1 and W2 only, never the biases: PyTorch with two parameter groups):

    g <- g + lambda * p                           L2 added to the gradient (torch's weight_decay;
                                                  for Adam too: Adam with L2, not AdamW)
    gd        p <- p - lr_t * g
    momentum  v <- mu * v + g                     v starts at 0, so the first v is g (torch's
              p <- p - lr_t * v                   buf = g on its first step; dampening 0)
    nesterov  v <- mu * v + g
              p <- p - lr_t * (g + mu * v)
    adam      m <- beta1 * m + (1 - beta1) * g
              v <- beta2 * v + (1 - beta2) * g^2
              p <- p - lr_t / (1 - beta1^(t+1)) * m / (sqrt(v) / sqrt(1 - beta2^(t+1)) + eps)

Schedules never depend on the run's length, so a longer run continues a shorter one exactly:
"constant" lr_t = alpha; "step" lr_t = alpha * gamma^(t // step_every) (torch's StepLR);
"cosine" lr_t = alpha * (1 + cos(pi * t / horizon)) / 2 (torch's CosineAnnealingLR with
T_max = horizon, eta_min = 0: beyond the horizon it rises again, as torch's does).

The optimizer's state (velocity, or m and v) is a dict of arrays named like "velocity/W1"; the
step count is the number of updates done, which a run knows. Nothing here writes into its
arguments: every update returns new arrays.
"""

from __future__ import annotations

import math

import numpy as np

from .network import Grads, Params, update_params

PARAM_NAMES = ("W1", "b1", "W2", "b2")
DECAYED = ("W1", "W2")  # weight decay applies to the weights, not the biases
OPTIMIZERS = ("gd", "momentum", "nesterov", "adam")
SCHEDULES = ("constant", "step", "cosine")
# The state each optimizer keeps per parameter.
STATE_KINDS = {"gd": (), "momentum": ("velocity",), "nesterov": ("velocity",), "adam": ("m", "v")}


def state_names(optimizer: str) -> tuple[str, ...]:
    """Names of the state arrays of ``optimizer``: ("velocity/W1", ...) or ("m/W1", ..., "v/b2")."""
    return tuple(f"{kind}/{name}" for kind in STATE_KINDS[optimizer] for name in PARAM_NAMES)


def init_state(optimizer: str, params: Params) -> dict[str, np.ndarray]:
    """The state before the first update: zeros shaped like the parameters (none for gd)."""
    arrays = params.arrays()
    return {key: np.zeros_like(arrays[key.split("/")[1]]) for key in state_names(optimizer)}


def learning_rate(config, t: int) -> float:
    """lr of update t (0-based) under ``config``'s schedule (see the module docstring)."""
    if config.schedule == "step":
        return config.alpha * config.gamma ** (t // config.step_every)
    if config.schedule == "cosine":
        return config.alpha * (1 + math.cos(math.pi * t / config.horizon)) / 2
    return config.alpha


def is_plain(config) -> bool:
    """Whether update t is the notebook's ``update_params(params, grads, alpha)``."""
    return config.optimizer == "gd" and config.weight_decay == 0 and config.schedule == "constant"


def step(params: Params, grads: Grads, state: dict, config, t: int) -> tuple[Params, dict]:
    """Update t (0-based) of ``params`` from the summed gradient ``grads`` and the optimizer's
    ``state`` (after t updates): the new parameters and state. One pass over the parameters
    (they are ~0.1% of a training iteration's arithmetic)."""
    lr = learning_rate(config, t)
    if config.optimizer == "gd" and config.weight_decay == 0:
        return update_params(params, grads, lr), state
    dtype = params.dtype.type
    new, new_state = {}, {}
    for name, p in params.arrays().items():
        g = getattr(grads, "d" + name)
        if config.weight_decay and name in DECAYED:
            g = g + dtype(config.weight_decay) * p
        rate, direction = lr, g
        if config.optimizer in ("momentum", "nesterov"):
            mu = dtype(config.momentum)
            v = mu * state[f"velocity/{name}"] + g
            new_state[f"velocity/{name}"] = v
            direction = g + mu * v if config.optimizer == "nesterov" else v
        elif config.optimizer == "adam":
            b1, b2 = config.beta1, config.beta2
            m = dtype(b1) * state[f"m/{name}"] + dtype(1 - b1) * g
            v = dtype(b2) * state[f"v/{name}"] + dtype(1 - b2) * (g * g)
            new_state[f"m/{name}"], new_state[f"v/{name}"] = m, v
            rate = lr / (1 - b1 ** (t + 1))  # bias correction of m, on the step size as torch
            root_correction2 = dtype(math.sqrt(1 - b2 ** (t + 1)))  # ... and of v, under sqrt
            direction = m / (np.sqrt(v) / root_correction2 + dtype(config.eps))
        new[name] = p - dtype(rate) * direction
    return Params(**new), new_state

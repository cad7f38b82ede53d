"""Hidden-layer activations and their derivatives, looked up by name.

Each entry pairs a function g(Z) with its derivative g'(Z), both elementwise, so backward
propagation reads ``dZ1 = dA1 * g'(Z1)`` whatever the activation. A UI select box is
``list(ACTIVATIONS)``; the notebook's network is ``"relu"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Activation(NamedTuple):
    function: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]  # of Z, the pre-activation


def relu(Z):
    return np.maximum(Z, Z.dtype.type(0))  # a zero of Z's own type: no scalar conversion per call


def relu_deriv(Z):
    return Z > 0  # bool: multiplies as 0/1


def sigmoid(Z):
    # exp of a non-positive number only, so large |Z| cannot overflow
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))


def sigmoid_deriv(Z):
    S = sigmoid(Z)
    return S * (1 - S)


def tanh(Z):
    return np.tanh(Z)


def tanh_deriv(Z):
    return 1 - np.tanh(Z) ** 2


def identity(Z):
    return Z


def identity_deriv(Z):
    return np.ones_like(Z)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(relu, relu_deriv),
    "sigmoid": Activation(sigmoid, sigmoid_deriv),
    "tanh": Activation(tanh, tanh_deriv),
    "identity": Activation(identity, identity_deriv),
}


def softmax(Z):
    """Row-wise softmax. Subtracting each row's max first changes nothing mathematically
    (softmax(z) = softmax(z - c)) but keeps exp() from overflowing for large logits."""
    E = Z - row_max(Z)  # (m, 10), every entry <= 0
    np.exp(E, out=E)  # (m, 10), every entry in (0, 1] (E is ours to overwrite)
    E /= row_sum(E)  # (m, 10), rows sum to 1
    return E


def log_softmax(Z):
    """log(softmax(Z)) without ever taking log(0): the log-sum-exp trick."""
    shifted = Z - row_max(Z)  # (m, 10)
    return shifted - np.log(row_sum(np.exp(shifted)))


# A sum or max over the 10 columns of each row runs down the columns when the array is stored
# column by column (Fortran order, as network.py stores its (m, 10) and (m, h) arrays): one
# vectorised pass per column. Row by row (C order), numpy makes one tiny reduction per row, the
# slow case, so a C-ordered Z is copied column by column first. Same result either way; the
# bench prints what the layout buys.
def row_max(Z):
    return np.asfortranarray(Z).max(axis=1, keepdims=True)  # (m, 1)


def row_sum(Z):
    return np.asfortranarray(Z).sum(axis=1, keepdims=True)  # (m, 1)


# The same slow case the other way round: Z.sum(axis=0) of a (m, 10) array (the bias gradients)
# adds m short rows one ufunc call at a time. A vector of ones times Z is one BLAS call over the
# whole array: the same sum over samples (the bench prints what it buys).
def col_sum(Z):
    return np.ones(Z.shape[0], Z.dtype) @ Z  # (10,) or (h,)

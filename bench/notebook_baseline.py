"""The baseline: Samson Zhang's Kaggle notebook "Simple MNIST NN from scratch (numpy, no TF/Keras)".

Reproduced as written (float64, samples as COLUMNS, its style and its bugs: the global `m`
includes the dev rows, db1/db2 sum over everything, softmax overflows for large logits,
get_accuracy prints). The only changes, so the benchmark can call it:
  - the Kaggle CSV loading at the top is left out: the benchmark hands in X (784, m) and Y (m,);
  - init_params takes `hidden` (the notebook hard-codes 10) so other sizes can be timed;
  - `m` is a module global set by the benchmark (in the notebook it comes from data.shape).
Not imported by nnmath or the tests; used by bench/bench_nnmath.py only.
"""

import numpy as np

m = 42000  # the notebook: m, n = data.shape  (train.csv: 42,000 rows, 1,000 of them dev)


def init_params(hidden=10):
    W1 = np.random.rand(hidden, 784) - 0.5
    b1 = np.random.rand(hidden, 1) - 0.5
    W2 = np.random.rand(10, hidden) - 0.5
    b2 = np.random.rand(10, 1) - 0.5
    return W1, b1, W2, b2


def ReLU(Z):
    return np.maximum(Z, 0)


def softmax(Z):
    A = np.exp(Z) / sum(np.exp(Z))
    return A


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def ReLU_deriv(Z):
    return Z > 0


def one_hot(Y):
    one_hot_Y = np.zeros((Y.size, Y.max() + 1))
    one_hot_Y[np.arange(Y.size), Y] = 1
    one_hot_Y = one_hot_Y.T
    return one_hot_Y


def backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y):
    one_hot_Y = one_hot(Y)
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2)
    dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1)
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def get_predictions(A2):
    return np.argmax(A2, 0)


def get_accuracy(predictions, Y):
    print(predictions, Y)
    return np.sum(predictions == Y) / Y.size


def gradient_descent(X, Y, alpha, iterations):
    W1, b1, W2, b2 = init_params()
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
        if i % 10 == 0:
            print("Iteration: ", i)
            predictions = get_predictions(A2)
            print(get_accuracy(predictions, Y))
    return W1, b1, W2, b2


def make_predictions(X, W1, b1, W2, b2):
    _, _, _, A2 = forward_prop(W1, b1, W2, b2, X)
    predictions = get_predictions(A2)
    return predictions


def one_iteration(X, Y, params, alpha=0.10):
    """The body of the notebook's training loop without its prints: what the benchmark times."""
    W1, b1, W2, b2 = params
    Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
    dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y)
    return update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)

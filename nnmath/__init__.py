"""nnmath — the "neural network from scratch" MNIST network in NumPy, readable like the textbook.

784 pixel inputs -> ``hidden`` ReLU units -> 10-way softmax, trained by full-batch gradient
descent on the mean cross-entropy; the function names are those of the well-known notebook.

Notation (used in every docstring and shape comment)
----------------------------------------------------
Samples are ROWS. ``m`` = number of images, ``h`` = hidden units.

    X   (m, 784)  images one per row, floats in [0, 1] (uint8 pixels / 255)
    y   (m,)      labels 0..9            Y  (m, 10)  one_hot(y)
    W1  (784, h)  b1 (h,)                W2 (h, 10)  b2 (10,)

    Z1 = X @ W1 + b1      (m, h)         A1 = g(Z1)          (m, h)    g = ReLU by default
    Z2 = A1 @ W2 + b2     (m, 10)        A2 = softmax(Z2)    (m, 10)   row-wise, stable
    L  = -sum(Y * log A2) / m            mean cross-entropy

    dZ2 = (A2 - Y) / m    (m, 10)        dW2 = A1.T @ dZ2    (h, 10)   db2 = sum_rows dZ2  (10,)
    dZ1 = dZ2 @ W2.T * g'(Z1)   (m, h)   dW1 = X.T @ dZ1     (784, h)  db1 = sum_rows dZ1  (h,)
    W <- W - alpha * dW   for every parameter (the notebook's; nnmath.optim adds momentum,
                          Nesterov, Adam, weight decay and schedules, as torch.optim has them)

The notebook stores samples as columns (X is (784, m), W1 is (h, 784)); here W1 is its
transpose. Unlike some versions of the notebook, biases get the gradient summed over the
samples axis only, softmax subtracts the row maximum before exp, and the loss is reported.

Functions never write into their arguments; update_params returns new Params. Training never
prints: it returns a TrainResult (params, per-iteration history, snapshots, status).

Fast by default: ``gradient_descent``, ``continue_training`` and ``predict_proba`` share their
row blocks over ``workers`` threads (None: min(2, cores), or the environment variable
NNMATH_TRAIN_WORKERS) and limit BLAS to one thread for the duration of the call, unless the
caller already limits it (inside ``threadpool_limits``). Same numbers for any worker count.

This package imports numpy only, plus threadpoolctl lazily inside the call that limits BLAS
threads (nnmath/_threads.py); without threadpoolctl it runs anyway, on the BLAS threads it finds.

Calibration of the predicted probabilities (ECE, NLL, Brier, temperature scaling, answering
only when sure) is in ``nnmath.calibration``.
``explain`` splits a logit difference exactly into pixel, hidden-unit and bias shares, and
``counterfactual`` finds a small change that makes the network give another answer.
"""

from ._checks import DTYPES, INITS, Bounds
from ._checks import N_CLASSES as CLASSES
from ._version import __version__
from .activations import ACTIVATIONS, Activation, log_softmax, softmax
from .calibration import (
    Reliability,
    RiskCoverage,
    Selective,
    brier,
    fit_temperature,
    nll,
    reliability,
    risk_coverage,
    softmax_t,
    temperature_nll,
)
from .explain import Counterfactual, Explanation, blend_distance, counterfactual, explain
from .network import (
    Cache,
    Grads,
    Params,
    Prediction,
    backward_propagation,
    cross_entropy,
    forward_propagation,
    get_accuracy,
    get_predictions,
    init_params,
    make_predictions,
    one_hot,
    predict,
    predict_proba,
    scale_pixels,
    update_params,
)
from .optim import OPTIMIZERS, SCHEDULES, learning_rate
from .persist import Model, load_model, load_result, save_model, save_result
from .trace import StepTrace, equation_line, trace_step
from .train import (
    AUGMENT_MAX,
    AUGMENTATIONS,
    BLOCK_ROWS,
    CORE_FIELDS,
    MAX_ITERATIONS,
    NUMERICS_VERSION,
    SETTING_BOUNDS,
    History,
    Progress,
    Status,
    TrainConfig,
    TrainResult,
    check_setting,
    continue_training,
    gradient_descent,
    setting_kind,
)

__all__ = [
    "__version__",
    "ACTIVATIONS",
    "AUGMENT_MAX",
    "AUGMENTATIONS",
    "CORE_FIELDS",
    "OPTIMIZERS",
    "SCHEDULES",
    "learning_rate",
    "Activation",
    "BLOCK_ROWS",
    "Bounds",
    "CLASSES",
    "Cache",
    "DTYPES",
    "INITS",
    "Counterfactual",
    "Explanation",
    "Grads",
    "MAX_ITERATIONS",
    "History",
    "Model",
    "NUMERICS_VERSION",
    "Params",
    "Prediction",
    "SETTING_BOUNDS",
    "Progress",
    "Status",
    "StepTrace",
    "Reliability",
    "RiskCoverage",
    "Selective",
    "TrainConfig",
    "TrainResult",
    "backward_propagation",
    "brier",
    "blend_distance",
    "check_setting",
    "continue_training",
    "counterfactual",
    "cross_entropy",
    "equation_line",
    "fit_temperature",
    "explain",
    "forward_propagation",
    "get_accuracy",
    "get_predictions",
    "gradient_descent",
    "init_params",
    "load_model",
    "load_result",
    "log_softmax",
    "make_predictions",
    "nll",
    "one_hot",
    "predict",
    "predict_proba",
    "save_model",
    "save_result",
    "scale_pixels",
    "setting_kind",
    "softmax",
    "trace_step",
    "reliability",
    "risk_coverage",
    "save_result",
    "scale_pixels",
    "softmax",
    "softmax_t",
    "temperature_nll",
    "update_params",
]

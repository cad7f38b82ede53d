"""Speed and memory of nnmath's training loop, beside the notebook's own code and PyTorch.

    python -m bench.bench_nnmath          # full: m = 41,000 and 60,000; hidden 10, 64, 256
    python -m bench.bench_nnmath targets  # the issue's targets only: m = 41,000 and the 60k run
    python -m bench.bench_nnmath optimizers  # plain gd before/after issue 24, and each optimizer
    python -m bench.bench_nnmath widths   # one block's two big products by hidden size
    BENCH_QUICK=1 python -m bench.bench_nnmath   # smoke test: small m, fewer repeats

Every figure is milliseconds per full-batch iteration (forward, loss, backward, update): the
median over ROUNDS interleaved rounds of REPEATS iterations, each round after a pause and a
warm-up, on synthetic MNIST-shaped data (uint8 pixels, ~80% zeros, random labels), all measured
in this one run. BLAS threads are set with
threadpoolctl; "b1" = 1 BLAS thread, "b2" = 2 (nnmath with workers=1 inside threadpool_limits);
"default" = nnmath called as the README shows, `gradient_descent(X, y, hidden=h)`, no
threadpoolctl and no workers: nnmath picks min(2, cores) workers and 1 BLAS thread itself.
Each implementation is shown at its best thread policy.
PyTorch runs in a subprocess (its OpenMP threads and OpenBLAS's must not share the timing).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import nnmath
from bench import notebook_baseline as notebook
from bench.machine import blas_kernel, cpu_model
from nnmath import (
    backward_propagation,
    forward_propagation,
    init_params,
    one_hot,
    scale_pixels,
    update_params,
)

QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = [6_000] if QUICK else [41_000, 60_000]
HIDDEN = [10, 64] if QUICK else [10, 64, 256]
REPEATS = 3 if QUICK else 5  # timed iterations per round (after one warm-up)
# Every figure of a table row is measured once per round. On the 2-core VMs these figures come
# from, runs that use both cores have slow spells of a few seconds (the same 2-worker call took
# 12 to 17 ms/iteration within one process, minutes apart, while 1-thread figures held within
# 5%): five rounds spread each figure over the whole row so one spell cannot decide its median.
ROUNDS = 1 if QUICK else 5
RSS_M = 6_000 if QUICK else 60_000
# The targets, checked at m = TARGET_M: nnmath's best over the notebook's best, and over
# PyTorch's best, per hidden size; and the seconds of one MNIST-size run (BIG_RUN).
TARGET_M = SIZES[0]
NOTEBOOK_TARGET = {10: 3.5}  # at least this many times faster than the notebook
TORCH_TARGET = {10: 0.6, 64: 0.8, 256: 0.8}  # at most this fraction of PyTorch's time
# The MNIST-size run: 60,000 training images x 500 iterations, as the notebook trains on
# MNIST (no dev set in its loop); the same run with a 10,000-image dev pass per iteration, as the
# app trains, is printed beside it.
BIG_RUN = (6_000, 1_000, 100) if QUICK else (60_000, 10_000, 500)  # train, dev, iterations
BIG_RUN_SECONDS = 10.0
# The machine's own limit: one iteration's matmul FLOPs at the two-core sgemm rate measured here.
BOUND_TARGET = {10: 2.5}  # at most this many times that bound


def synthetic(m, seed=0):
    """uint8 (m, 784) with ~80% zero pixels and labels 0..9, made in chunks (little memory)."""
    rng = np.random.default_rng(seed)
    X = np.empty((m, 784), np.uint8)
    for start in range(0, m, 1000):
        n = min(1000, m - start)
        ink = rng.random((n, 784)) < 0.2
        X[start : start + n] = np.where(ink, rng.integers(1, 256, (n, 784)), 0)
    return X, rng.integers(0, 10, m)


# After a call on 2 BLAS threads, OpenBLAS's idle worker spins for a while (~0.1-0.2 s) before it
# sleeps, and on 2 cores it takes one from whatever is timed next: nnmath w2 measured 19.7 ms/iter
# right after the notebook's 2-thread code against 14.4 ms after a 0.3 s pause. Every figure is
# therefore taken after a pause, so no column pays for the one before it.
SETTLE_SECONDS = 0.5


def settle():
    time.sleep(SETTLE_SECONDS)


def times_ms(step, repeats=REPEATS):
    settle()
    step()  # warm-up: allocations, BLAS buffers
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(1e3 * (time.perf_counter() - t0))
    return times


def median_ms(step, repeats=REPEATS):
    return statistics.median(times_ms(step, repeats))


def cpu_median_ms(step, repeats):
    """Median CPU milliseconds of step() on this thread (BLAS limited to 1 thread, so all of its
    work): a machine loaded by other processes disturbs CPU time far less than wall time."""
    step()
    times = []
    for _ in range(repeats):
        t0 = time.thread_time()
        step()
        times.append(1e3 * (time.thread_time() - t0))
    return statistics.median(times)


def time_notebook(X, y, hidden, threads):
    Xc = X.T / 255.0  # the notebook: (784, m) float64
    notebook.m = X.shape[0]
    np.random.seed(0)  # the notebook's own (global) generator
    state = {"params": notebook.init_params(hidden)}

    def step():
        state["params"] = notebook.one_iteration(Xc, y, state["params"])

    with threadpool_limits(threads, "blas"):
        return times_ms(step)


def time_naive(X, y, hidden, threads):
    """The textbook functions on one big float32 X: what the blocked loop improves on."""
    Xf = scale_pixels(X)  # (m, 784) float32, all at once
    Y = one_hot(y)
    state = {"params": init_params(hidden)}

    def step():
        params = state["params"]
        cache = forward_propagation(params, Xf)
        nnmath.cross_entropy(cache.Z2, Y)
        state["params"] = update_params(params, backward_propagation(params, cache, Xf, Y), 0.1)

    with threadpool_limits(threads, "blas"):
        return times_ms(step)


def sgemm_gflops(threads=2, n=1024 if QUICK else 2048, repeats=5) -> float:
    """float32 GFLOPS of one big n x n x n matmul with ``threads`` BLAS threads (best of
    ``repeats``, after a warm-up): the most this machine's BLAS does with its cores."""
    rng = np.random.default_rng(0)
    A, B = (rng.random((n, n), dtype=np.float32) for _ in range(2))
    best = float("inf")
    with threadpool_limits(threads, "blas"):
        A @ B
        for _ in range(repeats):
            t0 = time.perf_counter()
            A @ B
            best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def bound_ms(m, hidden, gflops) -> float:
    """ms one training iteration on m images would take if its matmuls ran at ``gflops``:
    X @ W1 and dZ1.T @ X (2 m 784 h FLOPs each), A1 @ W2, A1.T @ dZ2 and dZ2 @ W2.T (2 m h 10
    each). Everything else (softmax, ReLU, sums, the update) counts as free."""
    flops = 4 * m * 784 * hidden + 6 * m * hidden * 10
    return flops / (gflops * 1e9) * 1e3


def time_nnmath(X, y, hidden, threads, workers=1):
    """ms of each timed iteration of one training call (its first iteration is the warm-up)."""
    settle()
    with threadpool_limits(threads, "blas"):
        r = nnmath.gradient_descent(X, y, hidden=hidden, iterations=REPEATS + 1, workers=workers)
    return list(1e3 * np.diff(r.history.elapsed))


def time_default(X, y, hidden):
    """The README's call, nothing else: nnmath chooses its workers and BLAS threads itself."""
    settle()
    r = nnmath.gradient_descent(X, y, hidden=hidden, iterations=REPEATS + 1)
    return list(1e3 * np.diff(r.history.elapsed))


TORCH_CODE = r"""
import json, statistics, sys, time
import numpy as np, torch
import torch.nn.functional as F
sys.path.insert(0, ".")
from bench.bench_nnmath import synthetic
m, hidden, threads, repeats = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
X8, y = synthetic(m)
X = torch.from_numpy(X8).float() / 255          # (m, 784) float32, samples as rows
yt = torch.from_numpy(y)
g = torch.Generator().manual_seed(0)
W1 = (torch.rand(hidden, 784, generator=g) - 0.5).requires_grad_()   # nn.Linear layout
b1 = (torch.rand(hidden, generator=g) - 0.5).requires_grad_()
W2 = (torch.rand(10, hidden, generator=g) - 0.5).requires_grad_()
b2 = (torch.rand(10, generator=g) - 0.5).requires_grad_()
def step():
    Z2 = F.linear(F.relu(F.linear(X, W1, b1)), W2, b2)
    loss = F.cross_entropy(Z2, yt)
    (Z2.argmax(1) == yt).float().mean()
    for p in (W1, b1, W2, b2):
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in (W1, b1, W2, b2):
            p -= 0.1 * p.grad
    loss.item()
step()
times = []
for _ in range(repeats):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
print(json.dumps({"ms": 1e3 * statistics.median(times), "torch": torch.__version__}))
"""


def time_torch(m, hidden, threads):
    out = subprocess.run(
        [sys.executable, "-c", TORCH_CODE, str(m), str(hidden), str(threads), str(REPEATS)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["ms"]


def torch_available():
    return (
        subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0
    )


RSS_CODE = r"""
import json, sys
import numpy as np
from threadpoolctl import threadpool_limits
sys.path.insert(0, ".")
from bench.bench_nnmath import synthetic
import nnmath
m, naive = int(sys.argv[1]), sys.argv[2] == "naive"
X, y = synthetic(m)
def status(key):   # from /proc: ru_maxrss would include the parent's memory before exec
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024
before = status("VmRSS")   # imports + uint8 data
with threadpool_limits(1, "blas"):
    if naive:   # one big float32 X through the textbook functions
        Xf = nnmath.scale_pixels(X); Y = nnmath.one_hot(y); p = nnmath.init_params(10)
        for _ in range(3):
            c = nnmath.forward_propagation(p, Xf)
            p = nnmath.update_params(p, nnmath.backward_propagation(p, c, Xf, Y), 0.1)
    else:
        nnmath.gradient_descent(X, y, hidden=10, iterations=3)
peak = status("VmHWM")     # peak resident set size of this process
print(json.dumps({"before": before, "peak": peak}))
"""


def peak_rss(m, variant):
    out = subprocess.run(
        [sys.executable, "-c", RSS_CODE, str(m), variant],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def tricks(m=41_000):
    """What each trick of the training loop buys, in ms per full-batch iteration on m rows:
    the cost of the plain form and of the trick, both timed on the same arrays (1 BLAS thread,
    CPU time of one block of BLOCK_ROWS rows, times the number of blocks). Rows marked "no" were
    measured and not shipped."""
    from nnmath import network
    from nnmath._threads import column_groups, small_products
    from nnmath.activations import col_sum
    from nnmath.network import SMALL_PRODUCT, count_correct, scores, times, transposed_times

    rng = np.random.default_rng(0)
    B = nnmath.BLOCK_ROWS
    X8, _ = synthetic(B)
    Xf = X8.astype(np.float32)  # (B, 784) a converted block
    buffer = np.empty((B, 784), np.float32)
    Z = np.ascontiguousarray(rng.standard_normal((B, 10)).astype(np.float32) * 3)  # row-major
    y = rng.integers(0, 10, B)
    Y = one_hot(y)
    ZF = np.asfortranarray(Z)  # the same logits stored column by column, as nnmath stores them
    A = nnmath.softmax(Z)
    AF = nnmath.softmax(ZF)
    per_iteration = m / B
    # hidden 10 padded with 6 zero units to 16, the width of one AVX-512 register of floats
    W10 = rng.standard_normal((784, 10)).astype(np.float32)
    D10 = rng.standard_normal((B, 10)).astype(np.float32)
    D10F = np.asfortranarray(D10)  # dZ1 as nnmath stores it
    W16, D16 = np.zeros((784, 16), np.float32), np.zeros((B, 16), np.float32)
    W16[:, :10], D16[:, :10] = W10, D10
    # a 4,000-row set (the sample's size) read block by block: uint8 converted into the reused
    # buffer, or a float32 copy of the whole set made once
    S8, _ = synthetic(4_000, seed=3)
    Sf = S8.astype(np.float32)
    starts = itertools.cycle(range(0, 4_000 - B + 1, B))

    def pixels_from_uint8():
        k = next(starts)
        np.copyto(buffer, S8[k : k + B], casting="unsafe")
        return buffer @ W10, (D10.T @ buffer).T

    def pixels_from_float_copy():
        k = next(starts)
        block = Sf[k : k + B]
        return block @ W10, (D10.T @ block).T

    try:
        from scipy import sparse

        Xcsr = sparse.csr_matrix(Xf)  # built once, as a training set would be
        sparse_product = lambda: Xcsr @ W10  # noqa: E731
    except ImportError:
        sparse_product = None

    def without_tn(step):  # Z1's pieces asked as piece @ W1, not W1.T @ piece.T
        def run():
            saved = network._tn_rows
            network._tn_rows = lambda X, h: None
            try:
                return step()
            finally:
                network._tn_rows = saved

        return run

    def no_column_groups(step):  # dZ1.T @ X with dZ1's own columns only
        saved = network.column_groups
        network.column_groups = lambda: False
        try:
            return step()
        finally:
            network.column_groups = saved

    def plain_softmax():
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    YC = np.ascontiguousarray(Y)  # row-major, as A and Z

    def plain_loss():  # -log of the true class's probability; logits where it underflows
        p = (A * YC).sum(axis=1)
        sure = p > 1e-30
        total = np.sum(np.log(p, where=sure, out=np.zeros_like(p)), dtype=np.float64)
        if not sure.all():
            total += np.sum(YC[~sure] * nnmath.log_softmax(Z[~sure]), dtype=np.float64)
        return -total / m

    rows = [
        (
            "pixels to floats",
            "uint8 -> float, then * 1/255",
            "uint8 -> float; 1/255 on W1",
            lambda: scale_pixels(X8, out=buffer),
            lambda: np.copyto(buffer, X8, casting="unsafe"),
        ),
        (
            "softmax row max/sum",
            "Z.max/sum(axis=1), Z row-major",
            "the same, Z column-major",
            plain_softmax,
            lambda: nnmath.softmax(ZF),
        ),
        (
            "bias gradients (2 per block)",
            "dZ.sum(axis=0)",
            "ones @ dZ",
            lambda: (Z.sum(axis=0), Z.sum(axis=0)),
            lambda: (col_sum(Z), col_sum(Z)),
        ),
        (
            "loss",
            "-log A2 (logits if p < 1e-30), row-major",
            "LSE = max Z2 - log max A2, col-major",
            plain_loss,
            lambda: nnmath.cross_entropy(ZF, Y, m=m, A2=AF),
        ),
        (
            "right answers",
            "argmax(A2, axis=1) == y",
            "label at the row max (ties: argmax)",
            lambda: np.count_nonzero(nnmath.get_predictions(A) == y),
            lambda: count_correct(AF, y),
        ),
        (
            "loss and right answers together",
            "the two rows above, (m, 10) products",
            "labels' entries gathered, one row max",
            lambda: (nnmath.cross_entropy(ZF, Y, m=m, A2=AF), count_correct(AF, y)),
            lambda: scores(ZF, AF, y, m=m),
        ),
        (
            "dW1 at hidden 10",
            "X.T @ dZ1",
            "(dZ1.T @ X).T, same sums",
            lambda: Xf.T @ D10,
            lambda: (D10.T @ Xf).T,
        ),
        (
            "Z1 and dW1 at hidden 10, AVX-512 kernels"
            + ("" if small_products() else " (not this one: no pieces)"),
            "X @ W1, dZ1.T @ X whole",
            f"in pieces of <= {SMALL_PRODUCT:,} mult-adds",
            lambda: (Xf @ W10, D10.T @ Xf),
            lambda: (times(Xf, W10), transposed_times(D10F, Xf)),
        ),
        (
            "Z1 at hidden 10, its pieces" + ("" if small_products() else " (not this kernel)"),
            "piece @ W1 (16-column kernel)",
            "W1.T @ piece.T (TN kernel)",
            without_tn(lambda: times(Xf, W10)),
            lambda: times(Xf, W10),
        ),
        (
            "dW1 at hidden 10, Haswell kernel" + ("" if column_groups() else " (not this kernel)"),
            "dZ1.T @ X, 10 columns",
            "12 columns (2 zero), 10 rows kept",
            lambda: no_column_groups(lambda: transposed_times(D10F, Xf)),
            lambda: transposed_times(D10F, Xf),
        ),
        (
            "hidden 10 padded to 16 (Z1 and dW1), no",
            "10 units",
            "16, 6 of them zero",
            lambda: (Xf @ W10, (D10.T @ Xf).T),
            lambda: (Xf @ W16, (D16.T @ Xf).T),
        ),
        (
            "pixels for Z1 and dW1, a 4,000-row set, no",
            "uint8 block -> reused buffer",
            "float32 copy of the set",
            pixels_from_uint8,
            pixels_from_float_copy,
        ),
    ]
    if sparse_product is not None:
        rows.append(
            (
                "~80% zero pixels: Z1, no",
                "dense X @ W1",
                "CSR X @ W1 (scipy)",
                lambda: Xf @ W10,
                sparse_product,
            )
        )
    out = []
    with threadpool_limits(1, "blas"):
        for step, plain_name, trick_name, plain, trick in rows:
            # interleaved, so a change in the machine's load weighs on both alike
            a, b = [], []
            for _ in range(3):
                a.append(cpu_median_ms(plain, 15))
                b.append(cpu_median_ms(trick, 15))
            out.append(
                (
                    step,
                    plain_name,
                    statistics.median(a) * per_iteration,
                    trick_name,
                    statistics.median(b) * per_iteration,
                )
            )
    return out


def two_workers(repeats=2 if QUICK else 4):
    """What the changes made for two worker threads buy, which the tricks table (one thread)
    cannot show: ms per iteration at m = SIZES[0] (hidden 10) and seconds for the embedded
    sample's 500-iteration run (4,000 + 1,000 dev images), the default call, as shipped and with
    one change undone: workers running their small numpy steps at the same time instead of
    taking turns (nnmath._threads.others_turn); Z1's pieces asked as piece @ W1 rather than
    W1.T @ piece.T (network._tn_rows); the small-product pieces taken in a Python loop (a GIL
    round trip per piece) rather than one stacked matmul."""
    import contextlib

    from data import load_dataset, train_dev_split
    from nnmath import _threads, network

    @contextlib.contextmanager
    def no_turns(lock):
        yield

    shipped_times, shipped_transposed_times = network.times, network.transposed_times

    def looped_times(X, W):  # the NN pieces of before the TN kernel, one call each
        rows = network._piece_rows(X, W.shape[1])
        if rows is None:
            return shipped_times(X, W)
        out = network.columns(X.shape[0], W.shape[1], np.result_type(X, W))
        with _threads.others_turn():
            for start in range(0, X.shape[0], rows):
                np.matmul(X[start : start + rows], W, out=out[start : start + rows])
        return out

    def looped_transposed_times(D, X):
        rows = network._piece_rows(X, D.shape[1])
        if rows is None:
            return shipped_transposed_times(D, X)
        with _threads.others_turn():
            total = D.T[:, :rows] @ X[:rows]
            for start in range(rows, X.shape[0], rows):
                total += D.T[:, start : start + rows] @ X[start : start + rows]
        return total

    variants = {
        "as shipped": {},
        "no turns: small steps of both workers at once": {(_threads, "_own_turn"): no_turns},
        "Z1's pieces as piece @ W1 (no TN kernel)": {(network, "_tn_rows"): lambda X, h: None},
        "pieces in a Python loop": {
            (network, "times"): looped_times,
            (network, "transposed_times"): looped_transposed_times,
        },
    }
    X, y = synthetic(SIZES[0])
    train, dev = train_dev_split(load_dataset("sample"), 1000)
    its = 100 if QUICK else 500
    out = {name: ([], []) for name in variants}
    for _ in range(repeats):
        for name, patches in variants.items():
            saved = {key: getattr(*key) for key in patches}
            try:
                for (module, attr), f in patches.items():
                    setattr(module, attr, f)
                out[name][0].extend(time_default(X, y, 10))
                settle()
                t = time.perf_counter()
                nnmath.gradient_descent(train.X, train.y, X_dev=dev.X, y_dev=dev.y, iterations=its)
                out[name][1].append(time.perf_counter() - t)
            finally:
                for (module, attr), f in saved.items():
                    setattr(module, attr, f)
    return its, {k: (statistics.median(a), statistics.median(b)) for k, (a, b) in out.items()}


def dead_pixels(repeats=2 if QUICK else 4):
    """Seconds for the dashboard's everyday run (embedded sample, 4,000 train + 1,000 dev, hidden
    10, 500 iterations, the default call): as it is; with the all-zero pixel columns made non-zero
    in one image so that none can be left out (same work otherwise); and without the dev set
    (what the dev pass costs: it runs beside the train pass on the same workers)."""
    from data import load_dataset, train_dev_split

    train, dev = train_dev_split(load_dataset("sample"), 1000)
    X = train.X.copy()
    dead = np.flatnonzero(~X.any(axis=0))
    X_full = X.copy()
    X_full[0, dead] = 1
    its = 100 if QUICK else 500
    variants = (
        ("left out", X, {"X_dev": dev.X, "y_dev": dev.y}),
        ("kept", X_full, {"X_dev": dev.X, "y_dev": dev.y}),
        ("no dev set", X, {}),
    )
    times = {name: [] for name, _, _ in variants}
    for _ in range(repeats):
        for name, images, dev_set in variants:
            settle()
            t = time.perf_counter()
            nnmath.gradient_descent(images, train.y, iterations=its, **dev_set)
            times[name].append(time.perf_counter() - t)
    return len(dead), its, {k: statistics.median(v) for k, v in times.items()}


def big_run(with_dev: bool):
    """Seconds for one MNIST-size run, the default call: BIG_RUN's training images (synthetic,
    ~80% zeros, no all-zero column), with or without its dev images, hidden 10, its iterations."""
    m, m_dev, its = BIG_RUN
    X, y = synthetic(m)
    dev = {}
    if with_dev:
        dev["X_dev"], dev["y_dev"] = synthetic(m_dev, seed=1)
    settle()
    t = time.perf_counter()
    nnmath.gradient_descent(X, y, hidden=10, iterations=its, **dev)
    return time.perf_counter() - t


def block_sizes(sizes=(1024, 1536, 2048), repeats=2 if QUICK else 4):
    """What BLOCK_ROWS buys, hidden 10, workers=2, 1 BLAS thread: ms/iteration on 41,000 rows,
    and seconds for the dashboard's everyday run (4,000 train + 1,000 dev rows, 500 iterations).
    Alternating sizes, median of ``repeats``."""
    from nnmath import train as T

    X, y = synthetic(SIZES[0])
    Xs, ys = synthetic(4_000, seed=1)
    Xd, yd = synthetic(1_000, seed=2)
    its = 100 if QUICK else 500
    shipped, out = T.BLOCK_ROWS, {b: ([], []) for b in sizes}
    try:
        with threadpool_limits(1, "blas"):
            for _ in range(repeats):
                for b in sizes:
                    T.BLOCK_ROWS = b
                    t = time.perf_counter()
                    nnmath.gradient_descent(X, y, iterations=10, workers=2)
                    out[b][0].append((time.perf_counter() - t) / 10 * 1e3)
                    t = time.perf_counter()
                    nnmath.gradient_descent(Xs, ys, X_dev=Xd, y_dev=yd, iterations=its, workers=2)
                    out[b][1].append(time.perf_counter() - t)
    finally:
        T.BLOCK_ROWS = shipped
    return its, {b: (statistics.median(a), statistics.median(c)) for b, (a, c) in out.items()}


UNSET_CODE = r"""
import json, statistics, sys
sys.path.insert(0, ".")
from bench.bench_nnmath import synthetic, time_nnmath, blas_kernel
m = int(sys.argv[1])
X, y = synthetic(m)
out = {"kernel": blas_kernel()}
for h in [int(a) for a in sys.argv[2:]]:
    out[h] = {f"b{t}w{w}": statistics.median(time_nnmath(X, y, h, t, w))
              for t, w in ((1, 1), (2, 1), (1, 2))}
print(json.dumps(out))
"""


# The commit before issue 24's optimizers (its parent on main): the plain gd path of the code of
# then, timed beside today's in fresh processes, interleaved.
BEFORE_OPTIMIZERS = "76eef0a"
OPTIMIZER_SCRIPT = r"""
import json, statistics, sys, time
import numpy as np
sys.path[:0] = [sys.argv[1], sys.argv[2]]  # the nnmath to time first, then the repository
import nnmath
from bench.bench_nnmath import synthetic
m, iterations = int(sys.argv[3]), int(sys.argv[4])
X, y = synthetic(m)
settings = json.loads(sys.argv[5])
cpu = []  # the process's CPU seconds (both workers) after each iteration
r = nnmath.gradient_descent(X, y, iterations=iterations, callback_every=1,
                            callback=lambda p: cpu.append(time.process_time()), **settings)
wall = 1e3 * (r.history.elapsed[2:] - r.history.elapsed[1:-1])  # after 2 warm-up iterations
cpu = 1e3 * (np.diff(cpu[1:]))
print(json.dumps({"file": nnmath.__file__, "ms": statistics.median(wall),
                  "cpu": statistics.median(cpu)}))
"""
OPTIMIZER_VARIANTS = {
    "gd (default)": {},
    "gd, step schedule": {"schedule": "step", "step_every": 10},
    "gd, weight decay 1e-4": {"weight_decay": 1e-4},
    "momentum": {"optimizer": "momentum", "alpha": 0.05},
    "nesterov": {"optimizer": "nesterov", "alpha": 0.05},
    "adam": {"optimizer": "adam", "alpha": 0.01},
    "adam, dropout 0.2": {"optimizer": "adam", "alpha": 0.01, "dropout": 0.2},
}


def optimizers(m=6_000 if QUICK else 41_000, hidden=10, iterations=12 if QUICK else 22):
    """ms per iteration (median over the iterations after two warm-up ones, then over ROUNDS
    interleaved fresh processes) of the default call, hidden 10: the plain gd path of the code
    before issue 24 and of today's, and today's other optimizers and settings. {name: (wall ms,
    CPU ms of the process: both workers, less disturbed by other processes than wall time)}."""
    import tempfile
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[1])
    variants: dict[str, tuple[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-before-") as old:
        archive = subprocess.run(
            ["git", "-C", repo, "archive", BEFORE_OPTIMIZERS, "nnmath"], capture_output=True
        )
        if archive.returncode == 0:
            subprocess.run(["tar", "-x", "-C", old], input=archive.stdout, check=True)
            variants[f"gd (default), before ({BEFORE_OPTIMIZERS})"] = (old, {})
        for name, settings in OPTIMIZER_VARIANTS.items():
            variants[name] = (repo, {"hidden": hidden, **settings})
        variants = {k: (path, {"hidden": hidden, **v}) for k, (path, v) in variants.items()}
        timed: dict[str, list[float]] = {}
        for _ in range(ROUNDS):
            for name, (path, settings) in variants.items():
                settle()
                out = subprocess.run(
                    [sys.executable, "-c", OPTIMIZER_SCRIPT, path, repo, str(m), str(iterations),
                     json.dumps(settings)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                got = json.loads(out.stdout.strip().splitlines()[-1])
                assert got["file"].startswith(path), (got, path)  # the nnmath meant
                timed.setdefault(name, []).append((got["ms"], got["cpu"]))
    return m, {
        name: tuple(statistics.median(x) for x in zip(*v, strict=True)) for name, v in timed.items()
    }


WIDTH_REPEATS = 3 if QUICK else 7


def product_widths(hidden=(*range(1, 17), 20, 24, 32, 64), repeats=WIDTH_REPEATS):
    """The two big products of one block (BLOCK_ROWS x 784 floats, 1 BLAS thread) by the number
    of hidden units: microseconds of X @ W1, of dZ1.T @ X as it is, and of dZ1.T @ X as nnmath
    takes it (network.transposed_times: whole groups of columns on the kernels that want them,
    pieces on AVX-512). Best of ``repeats`` CPU-time figures of 20 calls each. The BLAS's own
    cost by width: where its kernel leaves columns over, a wider product can cost less."""
    from nnmath.network import transposed_times

    rng = np.random.default_rng(0)
    B = nnmath.BLOCK_ROWS
    X = synthetic(B)[0].astype(np.float32)

    def best_us(step):
        step()
        best = float("inf")
        for _ in range(repeats):
            t0 = time.thread_time()
            for _ in range(20):
                step()
            best = min(best, (time.thread_time() - t0) / 20)
        return best * 1e6

    rows = []
    with threadpool_limits(1, "blas"):
        for h in hidden:
            W = rng.uniform(-0.5, 0.5, (784, h)).astype(np.float32)
            D = np.asfortranarray(rng.standard_normal((B, h)).astype(np.float32))
            rows.append(
                (
                    h,
                    best_us(lambda W=W: X @ W),
                    best_us(lambda D=D: D.T @ X),
                    best_us(lambda D=D: transposed_times(D, X)),
                )
            )
    return rows


def print_product_widths(machine=True):
    if machine:
        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores · BLAS: {blas_kernel()}")
    print(
        f"One block's products ({nnmath.BLOCK_ROWS} x 784 float32, 1 BLAS thread), microseconds, "
        f"best of {WIDTH_REPEATS} CPU-time figures of 20 calls:\n"
    )
    print("| hidden | X @ W1 | dZ1.T @ X | dZ1.T @ X as nnmath takes it | GFLOPS of the last |")
    print("|---:|---:|---:|---:|---:|")
    for h, forward, backward, shipped in product_widths():
        flops = 2 * nnmath.BLOCK_ROWS * 784 * h
        print(
            f"| {h} | {forward:.0f} | {backward:.0f} | {shipped:.0f} | {flops / shipped / 1e3:.1f} |"
        )


def main(argv=()) -> int:
    if "optimizers" in argv:  # python -m bench.bench_nnmath optimizers: this table alone
        print_optimizers()
        return 0
    if "widths" in argv:  # python -m bench.bench_nnmath widths: this table alone
        print_product_widths()
        return 0
    targets_only = "targets" in argv
    sizes = [TARGET_M] if targets_only else SIZES
    print(
        f"CPU: {cpu_model()}, {os.cpu_count()} cores · BLAS: {blas_kernel()}\n"
        f"load average at start: {os.getloadavg()[0]:.2f}; nnmath BLOCK_ROWS={nnmath.BLOCK_ROWS}; "
        f"each figure: median of {ROUNDS} rounds x {REPEATS} timed iterations"
        + (" (BENCH_QUICK)" if QUICK else ""),
        flush=True,
    )
    with_torch = torch_available()
    gflops = sgemm_gflops()
    print(
        f"sgemm with 2 BLAS threads: {gflops:.0f} GFLOPS (float32, best of 5 square matmuls); "
        '"÷ bound" = best nnmath over the time its matmuls would take at that rate'
    )
    print()
    header = [
        "m",
        "hidden",
        "notebook f64 (b1|b2)",
        "naive nnmath, one big f32 X",
        "nnmath b1",
        "nnmath b2",
        "nnmath default",
        "PyTorch (b1|b2)",
        "best nnmath",
        "× faster than notebook",
        "÷ PyTorch",
        "÷ bound",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    policies, ratios = {}, {}
    for m in sizes:
        X, y = synthetic(m)
        for h in HIDDEN:
            # Rounds interleave the columns, so a machine that speeds up or slows down during
            # the run (this VM drifts by 20-30% over minutes) weighs on every column alike.
            columns = [
                (("nb", 1), lambda X=X, y=y, h=h: time_notebook(X, y, h, 1)),
                (("nb", 2), lambda X=X, y=y, h=h: time_notebook(X, y, h, 2)),
                (("naive", 1), lambda X=X, y=y, h=h: time_naive(X, y, h, 1)),
                (("naive", 2), lambda X=X, y=y, h=h: time_naive(X, y, h, 2)),
                (("ours", "b1"), lambda X=X, y=y, h=h: time_nnmath(X, y, h, 1)),
                (("ours", "b2"), lambda X=X, y=y, h=h: time_nnmath(X, y, h, 2)),
                (("ours", "default"), lambda X=X, y=y, h=h: time_default(X, y, h)),
            ]
            if with_torch:
                columns += [
                    (("torch", t), lambda m=m, h=h, t=t: [time_torch(m, h, t)]) for t in (1, 2)
                ]
            timed = {}
            for _ in range(ROUNDS):
                for key, measure in columns:
                    timed.setdefault(key, []).extend(v for v in measure() if v is not None)
            med = {key: statistics.median(v) for key, v in timed.items() if v}
            nb = {t: med[("nb", t)] for t in (1, 2)}
            naive = {t: med[("naive", t)] for t in (1, 2)}
            ours = {k: med[("ours", k)] for k in ("b1", "b2", "default")}
            torch_ms = {t: med.get(("torch", t)) for t in (1, 2)} if with_torch else {}
            best_policy = min(ours, key=ours.get)
            policies.setdefault(h, []).append((m, best_policy, ours))
            best = ours[best_policy]
            nb_best = min(nb.values())
            torch_best = min((v for v in torch_ms.values() if v), default=None)
            bound = best / bound_ms(m, h, gflops)
            if m == TARGET_M:
                ratios[h] = (nb_best / best, best / torch_best if torch_best else None, bound)

            def pair(d):
                return " \\| ".join(f"{d[t]:.1f}" if d.get(t) else "—" for t in (1, 2))

            cells = [f"{m:,}", str(h), pair(nb), pair(naive)]
            cells += [f"{ours[k]:.1f}" for k in ("b1", "b2", "default")]
            cells += [
                pair(torch_ms) if torch_ms else "not installed",
                f"**{best:.1f}** ({best_policy})",
                f"{nb_best / best:.1f}×",
                f"{best / torch_best:.2f}" if torch_best else "—",
                f"{bound:.1f}×",
            ]
            print("| " + " | ".join(cells) + " |", flush=True)
        del X, y

    print("\nBest nnmath thread policy per hidden size (ms/iter b1 / b2 / default):")
    for h, rows in policies.items():
        for m, best, ours in rows:
            print(
                f"  hidden={h:<4} m={m:<7,} best {best}   "
                + " / ".join(f"{ours[k]:.1f}" for k in ("b1", "b2", "default"))
            )

    m_big, dev_big, its_big = BIG_RUN
    big, big_dev = big_run(with_dev=False), big_run(with_dev=True)
    print(
        f"\nOne MNIST-size run, the default call, hidden 10, {its_big} iterations: {m_big:,} "
        f"training images {big:.1f} s; with a {dev_big:,}-image dev pass every iteration "
        f"{big_dev:.1f} s"
    )

    print("\nTargets on this machine (this run):")
    for h, (vs_nb, vs_torch, vs_bound) in ratios.items():
        if h in NOTEBOOK_TARGET:
            print(
                _target(f"hidden {h}: × faster than the notebook", vs_nb, NOTEBOOK_TARGET[h], ">=")
            )
        if h in TORCH_TARGET:
            print(_target(f"hidden {h}: ÷ PyTorch", vs_torch, TORCH_TARGET[h], "<="))
        if h in BOUND_TARGET:
            print(_target(f"hidden {h}: ÷ 2-core sgemm bound", vs_bound, BOUND_TARGET[h], "<="))
    if not QUICK:
        print(_target(f"{m_big:,} images × {its_big} its, s", big, BIG_RUN_SECONDS, "<="))
    if targets_only:
        return 0

    print(
        f"\nWhat each trick buys, ms per iteration at m={SIZES[0]:,} (1 BLAS thread, CPU time of "
        f'one block x {SIZES[0] / nnmath.BLOCK_ROWS:.1f} blocks; "no": measured, not shipped):'
    )
    print("| step | plain | ms | trick | ms |")
    print("|---|---|---|---|---|")
    for step, plain_name, plain, trick_name, trick in tricks(SIZES[0]):
        print(f"| {step} | {plain_name} | {plain:.2f} | {trick_name} | {trick:.2f} |")
    print()
    print_product_widths(machine=False)
    its, variants = two_workers()
    print(
        f"\nTwo worker threads (the default call), ms per iteration at m={SIZES[0]:,}, hidden 10, "
        f"and s for the embedded sample's {its} iterations (4,000 + 1,000 dev images):"
    )
    print(f"| variant | ms/iter, m={SIZES[0]:,} | s, sample run |")
    print("|---|---|---|")
    for name, (ms, sec) in variants.items():
        print(f"| {name} | {ms:.1f} | {sec:.2f} |")

    n_dead, its, secs = dead_pixels()
    print(
        f"\nThe embedded sample (4,000 training images, {n_dead} of 784 pixel columns all zero; "
        f"1,000 dev images), {its} iterations, the default call: {secs['left out']:.2f} s; "
        f"{secs['kept']:.2f} s with the all-zero columns kept; {secs['no dev set']:.2f} s "
        "without the dev set (what the dev pass costs)"
    )

    its, blocks = block_sizes()
    print(
        f"\nBlock size (hidden 10, workers=2, 1 BLAS thread; shipped BLOCK_ROWS={nnmath.BLOCK_ROWS}):"
    )
    print(
        f"| BLOCK_ROWS | ms/iter, m={SIZES[0]:,} | s for {its} iterations, 4,000 train + 1,000 dev |"
    )
    print("|---|---|---|")
    for b, (ms, sec) in blocks.items():
        print(f"| {b:,} | {ms:.1f} | {sec:.2f} |")

    print_optimizers()

    blocked, naive = peak_rss(RSS_M, "blocked"), peak_rss(RSS_M, "naive")
    print(f"\nPeak RSS training on {RSS_M:,} images, hidden=10 (fresh process, VmHWM):")
    for name, r in (
        ("nnmath.gradient_descent (uint8 X, row blocks)", blocked),
        ("naive nnmath (one big float32 X)", naive),
    ):
        print(
            f"  {name:<47} peak {r['peak']:4.0f} MB  (imports + uint8 data before training "
            f"{r['before']:.0f} MB; training adds {r['peak'] - r['before']:.0f} MB)"
        )

    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    forced = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    if forced and not QUICK:
        env = {k: v for k, v in os.environ.items() if k not in forced}
        out = subprocess.run(
            [sys.executable, "-c", UNSET_CODE, str(SIZES[0]), *map(str, HIDDEN)],
            capture_output=True,
            text=True,
            env=env,
        )
        if out.returncode == 0:
            res = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"\nExtra, with {' and '.join(forced)} unset ({res.pop('kernel')}),"
                f" m={SIZES[0]:,}, ms/iter b1 / b2 / w2:"
            )
            for h, d in res.items():
                print(
                    f"  hidden={h:<4} "
                    + " / ".join(f"{d[k]:.1f}" for k in ("b1w1", "b2w1", "b1w2"))
                )
    return 0


def print_optimizers() -> None:
    m, rows = optimizers()
    print(
        f"\nOptimizers (issue 24), the default call, hidden 10, m={m:,}: ms per iteration, median "
        f"of {ROUNDS} interleaved fresh processes (load average now {os.getloadavg()[0]:.1f}: "
        "on a shared machine compare rows of this table only):"
    )
    print("| variant | ms/iter (wall) | CPU ms/iter (both workers) |")
    print("|---|---|---|")
    for name, (ms, cpu) in rows.items():
        print(f"| {name} | {ms:.1f} | {cpu:.1f} |")


def _target(what, value, target, sense):
    if value is None:
        return f"  {what}: not measured (PyTorch not installed) — target {sense} {target:g}"
    met = value >= target if sense == ">=" else value <= target
    return f"  {what}: {value:.2f} — target {sense} {target:g}: {'met' if met else 'MISSED'}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

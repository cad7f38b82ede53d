"""How exact the explanations are and how small the counterfactuals, on the sample's dev set.

    python -m bench.bench_explain          (BENCH_QUICK=1: the first 100 dev images)

The app's run with the notebook's settings (the embedded sample, its train/dev split with seed 0,
hidden 10, alpha 0.1, 500 iterations, seed 0, float32). For every dev image: the prediction
explained against the runner-up (completeness error of both decompositions), and the
counterfactual toward the runner-up against the baseline that blends the image toward the
runner-up's mean training image. Not a test: it prints tables.
"""

from __future__ import annotations

import os
import time

import numpy as np


def main() -> None:
    from threadpoolctl import threadpool_limits

    import nnmath
    from bench.__main__ import machine
    from data import load_dataset, train_dev_split

    with threadpool_limits(1, user_api="blas"):
        ds = load_dataset("sample")
        train, dev = train_dev_split(ds, seed=0)
        X, y = train.images.reshape(-1, 784), train.labels
        run = nnmath.gradient_descent(X, y, hidden=10, alpha=0.1, iterations=500, seed=0)
        params = run.params
        X_dev = dev.images.reshape(-1, 784)
        if os.environ.get("BENCH_QUICK"):
            X_dev = X_dev[:100]
        probs = nnmath.predict_proba(params, X_dev)
        order = np.argsort(probs, axis=1)[:, ::-1]
        means = np.array([X[y == k].mean(axis=0) / 255 for k in range(10)])

        t0 = time.perf_counter()
        errors = [
            explain_errors(nnmath.explain(params, x, int(o[0]), int(o[1])))
            for x, o in zip(X_dev, order)
        ]
        t_explain = time.perf_counter() - t0
        t0 = time.perf_counter()
        cfs = [nnmath.counterfactual(params, x, int(o[1])) for x, o in zip(X_dev, order)]
        t_cf = time.perf_counter() - t0
        blend = np.array(
            [nnmath.blend_distance(params, x, int(o[1]), means[o[1]]) for x, o in zip(X_dev, order)]
        )

    n = len(X_dev)
    errors = np.array(errors)
    flipped = np.array([c.flipped for c in cfs])
    # recomputed here, independently of the result's own fields: does the target win in both?
    p64 = type(params)(*(a.astype(np.float64) for a in params.arrays().values()))
    wins32 = np.array([winner(params, c.x) == c.target for c in cfs])
    wins64 = np.array([winner(p64, c.x) == c.target for c in cfs])
    ours = np.array([c.distance for c in cfs])
    exact = np.array([c.exact_in_pattern for c in cfs])
    both = flipped & np.isfinite(blend)
    print(f"machine: {machine()}")
    print(f"run: notebook settings on the sample, dev accuracy {run_dev_accuracy(params, dev):.1%}")
    print(f"{n:,} dev images, each explained as prediction vs runner-up\n")
    print("| completeness | max abs error | median abs error |")
    print("|---|---|---|")
    print(
        f"| pixels.sum() + bias − total | {errors[:, 0].max():.1e} | {np.median(errors[:, 0]):.1e} |"
    )
    print(
        f"| hidden.sum() + Δb2 − total | {errors[:, 1].max():.1e} | {np.median(errors[:, 1]):.1e} |"
    )
    print()
    print("| counterfactual toward the runner-up | value |")
    print("|---|---|")
    print(f"| flipped (as the result says) | {flipped.mean():.1%} ({flipped.sum()} of {n}) |")
    print(
        f"| ... of those, the target wins in float32 and float64 | "
        f"{np.sum(flipped & wins32 & wins64)} of {flipped.sum()} |"
    )
    print(f"| exact within its ReLU pattern | {exact.mean():.1%} |")
    print(f"| median L2 distance, counterfactual | {np.median(ours[flipped]):.3f} |")
    print(
        f"| median L2 distance, blend toward mean image | {np.median(blend[np.isfinite(blend)]):.3f} |"
    )
    print(
        f"| counterfactual no farther than the blend | {np.mean(ours[both] <= blend[both]):.1%} "
        f"({int(np.sum(ours[both] > blend[both]))} farther) |"
    )
    print(f"| blend never flips | {int(np.sum(~np.isfinite(blend)))} images |")
    print(
        f"| time (indicative, loaded machine) | explain {t_explain / n * 1e3:.2f} ms, "
        f"counterfactual {t_cf / n * 1e3:.1f} ms per image |"
    )


def winner(params, x) -> int:
    """The digit a fresh forward pass in the params' own dtype answers for x."""
    import nnmath

    z = nnmath.forward_propagation(params, np.asarray(x[None], params.dtype)).Z2[0]
    return int(np.argmax(z))


def explain_errors(e) -> tuple[float, float]:
    return e.pixel_error, e.hidden_error


def run_dev_accuracy(params, dev) -> float:
    import nnmath

    return nnmath.get_accuracy(
        nnmath.make_predictions(dev.images.reshape(-1, 784), params), dev.labels
    )


if __name__ == "__main__":
    main()

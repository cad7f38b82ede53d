"""What a run gives people to take away: the model file, a zip with the standalone predictor, the
history and per-digit scores as CSV, and (views.report) a report page. Plain functions of a run's
results, no Streamlit; the pages offer them as downloads and ``python -m views.export`` writes
them from the command line.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import nnmath
from engine.config import format_alpha
from views import metrics

PREDICT_SCRIPT = Path(nnmath.__file__).with_name("predict.py")


@dataclass(frozen=True)
class RunExport:
    """One trained run and the data it was evaluated on: everything the exports read."""

    config: Any  # engine.config.RunConfig
    result: nnmath.TrainResult
    dataset: Any  # data.Dataset the run was trained on (name, fingerprint, size)
    dev: Any  # data.Dataset: the held-out images the run is evaluated on
    note: Any = None  # engine.notes.Annotation: what someone wrote about the run, if anything

    @property
    def run_id(self) -> str:
        return self.config.run_id

    def evaluation(self) -> metrics.Evaluation:
        return metrics.evaluate(
            self.result.params, self.dev, activation=self.result.config.activation
        )


def model_filename(config, iterations: int) -> str:
    """``nnmath-h10-a0.1-i500-s0.npz``: hidden units, alpha, iterations, seed (and the advanced
    settings when they differ from the notebook's)."""
    name = f"nnmath-h{config.hidden}-a{format_alpha(config.alpha)}-i{iterations}-s{config.seed}"
    if config.init != "uniform":
        name += f"-{config.init}"
    if config.dtype != "float32":
        name += f"-{config.dtype}"
    if config.batch_size is not None:
        name += f"-b{config.batch_size}"
    return name + ".npz"


def _number(x) -> float | None:
    """JSON has no NaN: a missing metric is null."""
    x = float(x)
    return x if math.isfinite(x) else None


def model_meta(run: RunExport) -> dict:
    """The JSON metadata written into the model file."""
    r = run.result
    return {
        "activation": r.config.activation,
        "run_id": run.run_id,
        "settings": run.config.to_dict(),
        "dataset": {
            "name": run.dataset.name,
            "fingerprint": run.dataset.fingerprint,
            "images": int(run.dataset.n),
            "train_images": int(r.n_train),
            "dev_images": int(run.dev.n),
        },
        "iterations": int(r.iterations),
        "status": r.status,
        "metrics": {
            "loss": _number(r.loss),
            "train_accuracy": _number(r.train_accuracy),
            "dev_accuracy": _number(r.dev_accuracy),
            "dev_loss": _number(r.dev_loss),
        },
    }


def model_bytes(run: RunExport) -> bytes:
    """The run's model as nnmath.save_model writes it."""
    buffer = io.BytesIO()
    nnmath.save_model(buffer, run.result.params, model_meta(run))
    return buffer.getvalue()


BUNDLE_README = """\
{model} — a two-layer MNIST network trained with nnmath
({hidden} hidden units, alpha {alpha}, {iterations} iterations, seed {seed};
dev accuracy {dev} on {dev_n} held-out images of {dataset}).

Predict Kaggle's digit-recognizer test.csv (needs Python 3 and NumPy, nothing else):

    python predict.py {model} test.csv -o submission.csv

submission.csv is then ImageId,Label, ready to upload to the competition.

In Python with NumPy alone, the arrays are:

    import json, numpy as np
    with np.load("{model}", allow_pickle=False) as f:
        W1, b1, W2, b2 = f["W1"], f["b1"], f["W2"], f["b2"]   # (784, h) (h,) (h, 10) (10,)
        meta = json.loads(str(f["meta"]))                       # settings, dataset, metrics
    # digits = argmax(relu(X / 255 @ W1 + b1) @ W2 + b2) for X (m, 784), pixels 0..255

In the notebook's layout (samples as columns) use W1.T, b1[:, None], W2.T, b2[:, None].
"""


def bundle_readme(run: RunExport) -> str:
    r, c = run.result, run.config
    return BUNDLE_README.format(
        model=model_filename(c, r.iterations),
        hidden=c.hidden,
        alpha=format_alpha(c.alpha),
        iterations=r.iterations,
        seed=c.seed,
        dev="—" if not math.isfinite(r.dev_accuracy) else f"{r.dev_accuracy:.1%}",
        dev_n=f"{run.dev.n:,}",
        dataset=run.dataset.name,
    )


def bundle_filename(config, iterations: int) -> str:
    return model_filename(config, iterations).removesuffix(".npz") + ".zip"


def bundle_zip(run: RunExport) -> bytes:
    """A zip of the model, predict.py and a README: all someone needs to predict elsewhere."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(model_filename(run.config, run.result.iterations), model_bytes(run))
        z.writestr("predict.py", PREDICT_SCRIPT.read_text())
        z.writestr("README.txt", bundle_readme(run))
    return buffer.getvalue()


def history_table(history) -> pd.DataFrame:
    """One row per iteration: row i is the network after i updates (the x of the curves)."""
    table = pd.DataFrame({"iteration": np.arange(len(history), dtype=np.int64)})
    for name in history.FIELDS:
        table[name] = np.asarray(getattr(history, name), dtype=np.float64)
    return table


def history_csv(history) -> str:
    return history_table(history).to_csv(index=False, float_format="%.9g", lineterminator="\n")


def per_digit_table(ev: metrics.Evaluation) -> pd.DataFrame:
    return metrics.per_class(metrics.confusion_matrix(ev.y, ev.pred))


def per_digit_csv(ev: metrics.Evaluation) -> str:
    """digit, precision, recall, f1, support: metrics.per_class of the dev confusion matrix."""
    return per_digit_table(ev).to_csv(index=False, float_format="%.6f", lineterminator="\n")


def export_files(run: RunExport) -> dict[str, bytes]:
    """{file name: content} of every export of ``run`` (what the command line writes)."""
    from views import report

    stem = model_filename(run.config, run.result.iterations).removesuffix(".npz")
    ev = run.evaluation()
    return {
        f"{stem}.npz": model_bytes(run),
        f"{stem}.zip": bundle_zip(run),
        f"{stem}-history.csv": history_csv(run.result.history).encode(),
        f"{stem}-per-digit.csv": per_digit_csv(ev).encode(),
        f"{stem}-report.html": report.report_html(run, ev).encode(),
    }


# ---- the command line: python -m views.export RUN_ID -o DIR ------------------------------------


class ExportError(ValueError):
    """A run that cannot be exported: not in the store, or its dataset is not on this machine."""


def load_run(run_id: str, store=None, *, data_key: str | None = None, iterations=None):
    """The RunExport of a cached run of the store (default: the app's, NNMATH_RUNS_DIR), at its
    full length or at ``iterations`` (replayed from the snapshot below, bit for bit)."""
    from data import train_dev_split
    from engine import datasets
    from engine.store import default_store

    store = default_store() if store is None else store
    record = store.record(run_id)
    result = store.load(run_id) if record is not None else None
    if result is None:
        known = ", ".join(r.run_id for r in store.records()[:5]) or "none"
        raise ExportError(
            f"run {run_id!r} is not in the run store {store.root} (newest runs there: {known})"
        )
    key = data_key or record.data_key
    if not key:
        raise ExportError(f"run {run_id} does not say which dataset it used: pass --data KEY")
    try:
        dataset = datasets.load(key, store.uploads_dir)
    except (ValueError, OSError) as error:  # UnknownDataset, data.DataError, unreadable file
        raise ExportError(f"dataset {key!r} of run {run_id}: {error}") from error
    config = record.config
    if dataset.fingerprint != config.data:
        raise ExportError(
            f"dataset {key!r} has fingerprint {dataset.fingerprint}, but run {run_id} was "
            f"trained on {config.data}: pass --data with the run's dataset"
        )
    train, dev = train_dev_split(dataset, config.dev_size, seed=config.split_seed)
    if iterations is not None:
        if not 0 < iterations <= result.iterations:
            raise ExportError(
                f"iterations must be in 1..{result.iterations} (the cached run's length), "
                f"got {iterations}"
            )
        result = store.train(config, iterations, train, dev)
    return RunExport(config, result, dataset, dev, store.annotation(config.run_id))


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m views.export",
        description="Write a cached run's model, predictor zip, history and per-digit CSV and "
        "HTML report (the app's downloads) into a folder. Runs are cached by the app under "
        "NNMATH_RUNS_DIR (default .runs/).",
    )
    parser.add_argument("run_id", nargs="?", help="run id (see --list, or the Runs page)")
    parser.add_argument("-o", "--output", default=".", help="folder to write into (default: .)")
    parser.add_argument("--iterations", type=int, help="export the run at this iteration")
    parser.add_argument("--data", help="dataset key, when the run's own is not recorded")
    parser.add_argument("--list", action="store_true", help="list the cached runs and stop")
    args = parser.parse_args(argv)
    if args.list or args.run_id is None:
        from engine.store import default_store

        records = default_store().records()
        for r in records:
            c = r.config
            print(
                f"{r.run_id}  h{c.hidden} a{format_alpha(c.alpha)} s{c.seed} "
                f"{r.iterations:>6,} it  dev {r.dev_accuracy:.1%}  {r.data_name or r.data_key}"
            )
        if not records:
            print("no cached runs: train one in the app first", file=sys.stderr)
        return 0 if args.list else 2
    try:
        files = export_files(load_run(args.run_id, data_key=args.data, iterations=args.iterations))
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
        print(f"wrote {folder / name} ({len(content):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

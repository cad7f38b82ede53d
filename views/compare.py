"""Comparing runs: the run ledger as a table, and what changed between two runs.

- :func:`runs_frame` turns run-store records into the Runs screen's table.
- :func:`compare_runs` puts two runs side by side on the dev set they share: metrics, the change of
  their confusion matrices as *improvement* (B over A; positive = better: more correct on the
  diagonal, fewer errors off it), and the dev images one gets right and the other wrong.

Only runs on the same dataset and split are comparable (:func:`comparability` says why not).
No streamlit here.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from engine.config import SETTINGS, SPLIT_FIELDS, RunConfig, Settings, run_label
from engine.values import as_float
from views.format import number, pct, points, seconds, shown_difference
from views.metrics import confusion_matrix


# --------------------------------------------------------------------------------------------
# Permalinks
# --------------------------------------------------------------------------------------------
def permalink_params(config: RunConfig, iterations: int, data_key: str) -> dict[str, str]:
    """The query parameters that open ``config`` at ``iterations`` on the Train/Evaluate pages.
    ``data_key`` is the dataset's URL value ("sample", a file name, "upload-<fp>"): the config
    only knows the fingerprint."""
    return config.settings(data_key, iterations).to_query()


MAX_REPEAT = 10  # "repeat with N seeds": at most this many


def repeat_params(config: RunConfig, iterations: int, data_key: str, seeds: int) -> dict[str, str]:
    """The Sweep page's query that repeats ``config`` with seeds 0 .. seeds − 1 (cached seeds
    are served, not retrained); ``seeds`` is clipped to 1..MAX_REPEAT."""
    seeds = min(max(int(seeds), 1), MAX_REPEAT)
    query = permalink_params(config, iterations, data_key)
    query.pop("seed", None)
    return {**query, "seeds": f"0-{int(seeds) - 1}"}


# --------------------------------------------------------------------------------------------
# Ledger
# --------------------------------------------------------------------------------------------
RUNS_COLUMNS = [
    "run_id",
    *SETTINGS,
    "iterations",
    "status",
    "train_accuracy",
    "dev_accuracy",
    "loss",
    "dev_ece",
    "dev_nll",
    "seconds",
    "created",
    "updated",
    "seeds",
    "note",
    "tags",
]


def runs_frame(records: Iterable, annotations: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per stored run: settings, final metrics, time, status, when (newest first);
    ``seeds``: the dev accuracy of its group (the runs that differ from it only in seed) as
    mean ± sd (n seeds); ``note`` and ``tags`` from ``annotations`` (run id -> engine.notes
    Annotation)."""
    from views.significance import groups, summary

    records = list(records)
    annotations = annotations or {}
    group_of = {}
    for members in groups(records).values():
        text = summary([as_float(m.dev_accuracy) for m in members]).text()
        group_of.update({m.config.run_id: text for m in members})
    rows = []
    for r in records:
        c = r.config
        a = annotations.get(c.run_id)
        rows.append(
            {
                "run_id": c.run_id,
                **{name: getattr(c, name) for name in SETTINGS},
                "iterations": int(r.iterations),
                "status": str(r.status),
                "train_accuracy": as_float(r.train_accuracy),
                "dev_accuracy": as_float(r.dev_accuracy),
                "loss": as_float(r.loss),
                "dev_ece": as_float(r.dev_ece),
                "dev_nll": as_float(r.dev_nll),
                "seconds": as_float(r.elapsed),
                "created": _when(r.created),
                "updated": _when(r.updated),
                "seeds": group_of[c.run_id],
                "note": a.note if a else "",
                "tags": ", ".join(a.tags) if a else "",
            }
        )
    frame = pd.DataFrame(rows, columns=RUNS_COLUMNS)
    if len(frame):
        frame = frame.sort_values("updated", ascending=False, kind="stable").reset_index(drop=True)
    return frame


def ledger_links(frame: pd.DataFrame, data_key: str, page: str = "evaluate") -> list[str]:
    """Per row of :func:`runs_frame`: the relative permalink opening that run on ``page``."""
    links = []
    for row in frame.itertuples(index=False):
        chosen = {name: getattr(row, name) for name in SETTINGS}
        settings = Settings(
            **{name: None if pd.isna(value) else value for name, value in chosen.items()},
            data=data_key,
            iterations=max(1, int(row.iterations)),
        )
        links.append(f"{page}?{urlencode(settings.to_query())}")
    return links


LEDGER_FIXED = ("hidden", "alpha", "seed")  # always a column of the Runs table


def ledger_settings(frame: pd.DataFrame) -> list[str]:
    """The settings beyond :data:`LEDGER_FIXED` whose value differs between the listed runs
    (an Adam run beside a plain one must not read as the same settings): a column of the Runs
    table and an axis of its settings chart each."""
    return varying_columns(frame, [name for name in SETTINGS if name not in LEDGER_FIXED])


def ledger_text(frame: pd.DataFrame) -> list[str]:
    """Tags and note, when any run has some: the Runs table's last columns."""
    return varying_columns(frame, ["tags", "note"])


def varying_columns(frame: pd.DataFrame, names: Sequence[str], text=("tags", "note")) -> list[str]:
    """Those of ``names`` worth a column in the Runs table: values that differ between the rows,
    or, for the ``text`` columns, any text at all (a single note is worth reading)."""
    out = []
    for name in names:
        if name not in frame:
            continue
        column = frame[name]
        differs = column.astype(str).nunique() > 1  # None / NaN as text: a value of its own
        written = name in text and (column.fillna("").astype(str) != "").any()
        if differs or written:
            out.append(name)
    return out


def record_label(record) -> str:
    """A stored run in a list: its settings, length and dev accuracy (or its status)."""
    dev = as_float(record.dev_accuracy)
    acc = f"dev {pct(dev)}" if math.isfinite(dev) else str(record.status)
    return f"{run_label(record.config, record.iterations)} · {acc}"


def _when(value):
    if value is None:
        return pd.NaT
    if isinstance(value, (int, float)):
        return pd.Timestamp(value, unit="s", tz="UTC").tz_localize(None)
    return pd.Timestamp(value)


def filter_runs(
    frame: pd.DataFrame,
    *,
    status: Sequence[str] | None = None,
    hidden: Sequence[int] | None = None,
    alpha_range: tuple[float, float] | None = None,
    min_dev_accuracy: float | None = None,
    tags: Sequence[str] | None = None,
    text: str | None = None,
) -> pd.DataFrame:
    """Rows of ``frame`` matching every given filter (None = no filter). ``tags``: runs carrying
    every one of them; ``text``: runs whose note or tags contain it (case-insensitive)."""
    keep = np.ones(len(frame), dtype=bool)
    if tags:
        have = frame["tags"].map(lambda t: set(filter(None, t.split(", "))))
        keep &= have.map(lambda h: set(tags) <= h).to_numpy(dtype=bool)
    if text and text.strip():
        needle = text.strip().lower()
        found = frame["note"].str.lower().str.contains(needle, regex=False) | frame[
            "tags"
        ].str.contains(needle, regex=False)
        keep &= found.to_numpy(dtype=bool)
    if status:
        keep &= frame["status"].isin(list(status)).to_numpy()
    if hidden:
        keep &= frame["hidden"].isin(list(hidden)).to_numpy()
    if alpha_range is not None:
        lo, hi = alpha_range
        keep &= ((frame["alpha"] >= lo) & (frame["alpha"] <= hi)).to_numpy()
    if min_dev_accuracy is not None:
        keep &= (frame["dev_accuracy"].fillna(-1.0) >= min_dev_accuracy).to_numpy()
    return frame[keep].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Any number of runs: only what differs
# --------------------------------------------------------------------------------------------
def settings_side_by_side(records: Sequence) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(what differs, what they share) for any number of runs: one row per setting (and
    iterations), one column per run; a row goes to the first table when the runs do not all
    have the same value, else to the second with that one value."""
    names = [*SETTINGS, "iterations"]
    columns = [f"{i + 1}: {run_label(r.config, r.iterations)}" for i, r in enumerate(records)]
    values = {
        name: [
            _show(r.iterations if name == "iterations" else getattr(r.config, name, None))
            for r in records
        ]
        for name in names
    }
    differ = {n: v for n, v in values.items() if len(set(v)) > 1}
    same = {n: v[0] for n, v in values.items() if len(set(v)) == 1 and v}
    differs = pd.DataFrame.from_dict(differ, orient="index", columns=columns)
    shared = pd.DataFrame({"value": pd.Series(same, dtype=object)})
    return differs, shared


# --------------------------------------------------------------------------------------------
# Two runs
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Comparability:
    ok: bool
    reason: str


def comparability(config_a, config_b) -> Comparability:
    """Two runs are comparable when they were evaluated on the same dev images: same dataset
    fingerprint, dev size and split seed."""
    differences = [
        f"{name}: {getattr(config_a, name)!s} vs {getattr(config_b, name)!s}"
        for name in SPLIT_FIELDS
        if getattr(config_a, name, None) != getattr(config_b, name, None)
    ]
    if differences:
        what = "dataset" if any(d.startswith("data:") for d in differences) else "dev split"
        return Comparability(
            False,
            f"These runs were evaluated on a different {what} "
            f"({'; '.join(differences)}), so their dev images differ and "
            "they cannot be compared image by image.",
        )
    if config_a == config_b:
        return Comparability(True, "Both sides are the same run: every difference is zero.")
    return Comparability(True, "Same dataset and dev split.")


def improvement(cm_a: np.ndarray, cm_b: np.ndarray) -> np.ndarray:
    """How much better B is than A, per (true, predicted) cell: on the diagonal the gain in correct
    answers (B − A), off it the drop in that error (A − B). Positive always reads "better"."""
    cm_a = np.asarray(cm_a, dtype=np.int64)
    cm_b = np.asarray(cm_b, dtype=np.int64)
    if cm_a.shape != cm_b.shape:
        raise ValueError(
            f"confusion matrices must have the same shape, got {cm_a.shape} and {cm_b.shape}"
        )
    sign = -np.ones(cm_a.shape, dtype=np.int64)
    np.fill_diagonal(sign, 1)
    return sign * (cm_b - cm_a)


@dataclasses.dataclass(frozen=True)
class FixedBroke:
    fixed: np.ndarray  # dev indices A gets wrong and B gets right ("what B fixed")
    broke: np.ndarray  # dev indices A gets right and B gets wrong ("what B broke")


def fixed_and_broke(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> FixedBroke:
    y, pred_a, pred_b = (np.asarray(v) for v in (y, pred_a, pred_b))
    if not (y.shape == pred_a.shape == pred_b.shape):
        raise ValueError(
            f"labels and predictions must have the same shape, got {y.shape}, "
            f"{pred_a.shape}, {pred_b.shape}"
        )
    right_a, right_b = pred_a == y, pred_b == y
    return FixedBroke(np.flatnonzero(~right_a & right_b), np.flatnonzero(right_a & ~right_b))


@dataclasses.dataclass(frozen=True)
class RunComparison:
    config_a: Any
    config_b: Any
    iterations_a: int
    iterations_b: int
    metrics: pd.DataFrame  # rows: settings and metrics; columns A, B, change
    labels: np.ndarray  # dev labels
    pred_a: np.ndarray
    pred_b: np.ndarray
    cm_a: np.ndarray
    cm_b: np.ndarray
    improvement: np.ndarray
    fixed: np.ndarray
    broke: np.ndarray


def compare_runs(result_a, result_b, dev_set) -> RunComparison:
    """Everything the Compare screen shows, for two TrainResults evaluated on ``dev_set``."""
    import nnmath

    X, y = dev_set.X, np.asarray(dev_set.labels)
    probs_a, probs_b = (
        nnmath.predict_proba(r.params, X, activation=r.config.activation)
        for r in (result_a, result_b)
    )
    pred_a = nnmath.get_predictions(probs_a)
    pred_b = nnmath.get_predictions(probs_b)
    cm_a, cm_b = confusion_matrix(y, pred_a), confusion_matrix(y, pred_b)
    fb = fixed_and_broke(y, pred_a, pred_b)
    return RunComparison(
        result_a.config,
        result_b.config,
        int(result_a.iterations),
        int(result_b.iterations),
        metrics_table(result_a, result_b, ece=(_ece(probs_a, y), _ece(probs_b, y))),
        y,
        pred_a,
        pred_b,
        cm_a,
        cm_b,
        improvement(cm_a, cm_b),
        fb.fixed,
        fb.broke,
    )


def _ece(probs, y) -> float:
    from nnmath import reliability

    try:
        return reliability(probs, y).ece
    except ValueError:  # no dev images, or probabilities that are not (a diverged run's NaN)
        return math.nan


def metrics_table(
    result_a, result_b, ece: tuple[float, float] = (math.nan, math.nan)
) -> pd.DataFrame:
    """Settings and final metrics side by side, with B − A for the numbers. ``ece``: the two
    runs' dev ECE (15 bins), which needs their dev predictions; dev NLL is their dev loss."""
    rows = []
    for name in SETTINGS:
        va, vb = getattr(result_a.config, name, None), getattr(result_b.config, name, None)
        rows.append((name, _show(va), _show(vb), "" if va == vb else "changed"))
    rows.append(
        (
            "iterations",
            str(result_a.iterations),
            str(result_b.iterations),
            _delta(result_a.iterations, result_b.iterations, "{:+d}"),
        )
    )
    rows.append(
        (
            "status",
            result_a.status,
            result_b.status,
            "" if result_a.status == result_b.status else "changed",
        )
    )
    for name, label in (("train_accuracy", "train accuracy"), ("dev_accuracy", "dev accuracy")):
        va, vb = getattr(result_a, name), getattr(result_b, name)
        rows.append((label, pct(va), pct(vb), points(va, vb)))
    for name, label in (("loss", "loss"), ("dev_loss", "dev NLL")):
        va, vb = as_float(getattr(result_a, name)), as_float(getattr(result_b, name))
        rows.append((label, number(va, ".4f"), number(vb, ".4f"), _delta(va, vb, "{:+.4f}")))
    rows.append(
        (
            "dev ECE",
            number(ece[0], ".4f"),
            number(ece[1], ".4f"),
            _delta(ece[0], ece[1], "{:+.4f}"),
        )
    )
    # the time the Runs table shows: seconds in the training iterations (0 for a run that
    # diverged on its first update, which kept no iteration)
    seconds_a, seconds_b = as_float(result_a.elapsed), as_float(result_b.elapsed)
    rows.append(
        (
            "training time",
            seconds(seconds_a),
            seconds(seconds_b),
            _delta(seconds_a, seconds_b, "{:+.1f} s"),
        )
    )
    return pd.DataFrame(rows, columns=["", "A", "B", "B − A"]).set_index("")


def split_shared(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(what to show first, what to fold) of a :func:`metrics_table`: the settings A and B share
    (and the iterations when equal, as :func:`settings_side_by_side` counts them) are folded; the
    settings that differ and every result stay in view."""
    shared = [
        name
        for name in (*SETTINGS, "iterations")
        if name in metrics.index and metrics.loc[name, "A"] == metrics.loc[name, "B"]
    ]
    return metrics.drop(index=shared), metrics.loc[shared, ["A"]]


def _show(value) -> str:
    return "full batch" if value is None else str(value)


def _delta(a, b, fmt: str) -> str:
    """b − a written with ``fmt`` ('{:+.4f}'): for decimals, the difference of the two as the
    table writes them with that many, so that A, B and B − A add up on screen (0.1234 and
    0.1236 are +0.0002 apart even when the unrounded values differ by 0.00012)."""
    try:
        if not (math.isfinite(a) and math.isfinite(b)):
            return ""
    except TypeError:
        return ""
    decimals = re.search(r"\.(\d+)f", fmt)
    if decimals is None:
        return fmt.format(b - a)
    return fmt.format(shown_difference(b, a, f".{decimals.group(1)}f"))

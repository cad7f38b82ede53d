"""A sweep's results: the grid as a table, heatmap data over two settings, and how a sweep ended
in one line. Plain functions of what the run store holds (engine.sweep runs the sweeps)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from engine.slots import stopped_by_limit
from engine.store import dev_ece
from engine.sweep import SWEEPABLE, RunState, RunStatus, SweepProgress, result_for
from views.format import MISSING, number, pct, shown_difference
from views.significance import summary

# --------------------------------------------------------------------------------------------
# Results: the grid as a table, and heatmap data over two settings
# --------------------------------------------------------------------------------------------
#: What the heatmap can show: column of :func:`sweep_table` -> (label, higher is better).
HEATMAP_METRICS = {
    "dev_accuracy": ("dev accuracy", True),
    "loss": ("training loss", False),
    "dev_ece": ("dev ECE", False),
    "dev_nll": ("dev NLL", False),
}


def sweep_table(
    store,
    configs: Sequence,
    iterations: int,
    outcomes: Mapping[str, RunState] | None = None,
    dev_set=None,
) -> pd.DataFrame:
    """One row per config: its settings, run_id and what the store knows at ``iterations``
    (status "not run" when it holds nothing). dev_nll is the run's dev loss; dev_ece is computed
    from the parameters at ``iterations`` on ``dev_set`` (NaN without it): a few ms per run.

    ``outcomes`` (run_id -> RunState, e.g. the last sweep's final snapshot) fills in diverged runs
    the store does not hold (evicted since, or declined), so the sweep that computed them still
    shows those cells as diverged."""
    rows = []
    for config in configs:
        result = result_for(store, config, iterations)
        row = {name: getattr(config, name) for name in SWEEPABLE}
        row["run_id"] = config.run_id
        known = (outcomes or {}).get(config.run_id)
        if result is None and known is not None and known.status == RunStatus.DIVERGED:
            row.update(
                status=RunStatus.DIVERGED,
                dev_accuracy=np.nan,
                train_accuracy=np.nan,
                loss=np.nan,
                dev_ece=np.nan,
                dev_nll=np.nan,
                iterations=int(known.iteration),
                message=known.message,
            )
        elif result is None:
            row.update(
                status=RunStatus.NOT_RUN,
                dev_accuracy=np.nan,
                train_accuracy=np.nan,
                loss=np.nan,
                dev_ece=np.nan,
                dev_nll=np.nan,
                iterations=0,
                message="",
            )
        else:
            row.update(
                status=result.status,
                dev_accuracy=float(result.dev_accuracy),
                train_accuracy=float(result.train_accuracy),
                loss=float(result.loss),
                dev_ece=dev_ece(result, dev_set),
                dev_nll=float(result.dev_loss),
                iterations=int(result.iterations),
                message=result.message or "",
            )
        rows.append(row)
    return pd.DataFrame(rows)


@dataclasses.dataclass(frozen=True)
class HeatmapData:
    x: str  # setting on the x axis
    y: str  # setting on the y axis
    x_values: tuple
    y_values: tuple
    mean: np.ndarray  # (len(y_values), len(x_values)) mean of ``metric``; NaN if none
    spread: np.ndarray  # sample standard deviation over seeds (ddof=1); NaN if under 2 runs
    count: np.ndarray  # runs with a finite accuracy per cell
    diverged: np.ndarray  # runs that diverged per cell
    expected: np.ndarray  # runs in the grid per cell
    text: np.ndarray  # cell labels, e.g. "0.853 ± 0.004", "diverged", "not run"
    best: tuple | None  # (row, col) of the best mean among cells without divergence
    run_ids: np.ndarray  # object array of tuples: run ids per cell (seed order)
    metric: str = "dev_accuracy"  # a key of HEATMAP_METRICS

    @property
    def label(self) -> str:
        return HEATMAP_METRICS[self.metric][0]

    @property
    def higher_is_better(self) -> bool:
        return HEATMAP_METRICS[self.metric][1]

    @property
    def state(self) -> np.ndarray:
        """Per cell: "ok", "diverged" (any seed diverged), "partial" (some not run) or "not run"."""
        out = np.full(self.mean.shape, "ok", dtype=object)
        out[self.count < self.expected] = "partial"
        out[(self.count == 0)] = "not run"
        out[self.diverged > 0] = "diverged"
        return out


def heatmap_data(
    table: pd.DataFrame,
    x: str,
    y: str,
    fixed: Mapping | None = None,
    metric: str = "dev_accuracy",
) -> HeatmapData:
    """``metric`` (dev accuracy by default; see HEATMAP_METRICS) over settings ``x`` and ``y``,
    mean and spread over every other varied setting (normally the seed; fix others with
    ``fixed={"init": "he"}``). The best cell has the highest accuracy, or the lowest loss/ECE/NLL.

    A cell with any diverged run is "diverged" (the setting is unsafe even if some seeds survive)
    and never the best cell; a cell with no runs yet is "not run".
    """
    if x == y:
        raise ValueError(f"x and y must be two different settings, got {x!r} twice")
    if metric not in HEATMAP_METRICS or metric not in table.columns:
        raise ValueError(f"metric must be one of {', '.join(HEATMAP_METRICS)}, got {metric!r}")
    for name in (x, y, *(fixed or {})):
        if name not in table.columns:
            raise ValueError(f"setting must be a column of the sweep table, got {name!r}")
    rows = table
    for name, value in (fixed or {}).items():
        rows = rows[rows[name] == value]
    x_values = tuple(sorted(rows[x].dropna().unique().tolist()))
    y_values = tuple(sorted(rows[y].dropna().unique().tolist()))
    shape = (len(y_values), len(x_values))
    mean = np.full(shape, np.nan)
    spread = np.full(shape, np.nan)
    count = np.zeros(shape, dtype=int)
    diverged = np.zeros(shape, dtype=int)
    expected = np.zeros(shape, dtype=int)
    run_ids = np.empty(shape, dtype=object)
    text = np.full(shape, "not run", dtype=object)
    others = [
        n for n in SWEEPABLE if n not in (x, y) and n in rows and rows[n].astype(str).nunique() > 1
    ]
    what = "seeds" if others == ["seed"] else "runs"  # what a cell averages over
    for i, yv in enumerate(y_values):
        for j, xv in enumerate(x_values):
            cell = rows[(rows[x] == xv) & (rows[y] == yv)]
            if "seed" in cell.columns:
                cell = cell.sort_values("seed")
            run_ids[i, j] = tuple(cell["run_id"])
            expected[i, j] = len(cell)
            values = cell[metric].to_numpy(dtype=float)
            ok = cell[(cell["status"] != RunStatus.DIVERGED).to_numpy() & np.isfinite(values)]
            acc = ok[metric].to_numpy(dtype=float)
            diverged[i, j] = int((cell["status"] == RunStatus.DIVERGED).sum())
            count[i, j] = acc.size
            if acc.size:
                mean[i, j] = acc.mean()
                spread[i, j] = acc.std(ddof=1) if acc.size > 1 else np.nan
            text[i, j] = _cell_text(
                mean[i, j],
                spread[i, j],
                count[i, j],
                diverged[i, j],
                expected[i, j],
                percent=metric == "dev_accuracy",
                what=what,
            )
    sign = 1.0 if HEATMAP_METRICS[metric][1] else -1.0
    candidates = np.where((diverged == 0) & (count > 0), sign * mean, -np.inf)
    best = None
    if np.isfinite(candidates).any():
        best = tuple(int(v) for v in np.unravel_index(np.argmax(candidates), shape))
    return HeatmapData(
        x,
        y,
        x_values,
        y_values,
        mean,
        spread,
        count,
        diverged,
        expected,
        text,
        best,
        run_ids,
        metric=metric,
    )


def _cell_text(
    mean, spread, count, diverged, expected, *, percent: bool = False, what: str = "seeds"
) -> str:
    """'85.0% ± 0.4 (3 seeds)': the mean, the sample standard deviation (an accuracy's in
    percentage points) and how many runs it is over; '(1 of 3 seeds)' when only some of the
    cell's runs have a result; the mean alone for a cell of one run."""
    if diverged:
        return "diverged" if diverged == expected else f"diverged ({diverged} of {expected})"
    if count == 0:
        return "not run"
    label = f"{mean:.1%}" if percent else f"{mean:.3f}"
    if count > 1:
        label += f" ± {spread * 100:.1f}" if percent else f" ± {spread:.3f}"
    if count < expected:
        label += f" ({count} of {expected} {what})"
    elif count > 1:
        label += f" ({count} {what})"
    return label


def seeds_only(table: pd.DataFrame) -> str | None:
    """What a sweep of one setting over several seeds says (the Train page's "Is this result
    luck?"): the seeds' mean ± sd and how far apart they landed. None when another setting
    varies too, or fewer than two seeds have a dev accuracy."""
    others = [name for name in SWEEPABLE if name != "seed" and name in table]
    if table.empty or table[others].astype(str).nunique().max() > 1:
        return None
    dev = table["dev_accuracy"].to_numpy(dtype=float)
    dev = dev[np.isfinite(dev)]
    if dev.size < 2:
        return None
    s = summary(dev)
    low, high = float(dev.min()), float(dev.max())
    return (
        f"**{s.n} seeds** of the same settings: dev accuracy **{pct(s.mean)} ± "
        f"{s.sd * 100:.1f}** points (mean ± standard deviation), from {pct(low)} to {pct(high)}. "
        "Only the random start of the weights (the seed) differs between these runs, and it "
        f"alone moved the result by {shown_difference(high, low, '.1%'):.1f} points: a difference "
        "that small "
        "between two single runs may be luck. Each run: under 'Every run of this sweep' below."
    )


def colour_range(data: HeatmapData) -> str:
    """The range the heatmap's colours span (the grid's own best and worst cells), in words."""
    finite = data.mean[np.isfinite(data.mean) & np.isin(data.state, ["ok", "partial"])]
    if finite.size == 0:
        return ""
    fmt = pct if data.metric == "dev_accuracy" else (lambda v: number(v, ".3f"))
    low, high = fmt(finite.min()), fmt(finite.max())
    if low == high:
        return f"Every cell with a result reads {low}: the colours cannot tell them apart."
    return (
        f"The colours span this grid's own range, {low} to {high} (not 0 to 100%): "
        "small differences look large."
        if data.metric == "dev_accuracy"
        else f"The colours span this grid's own range, {low} to {high}."
    )


def progress_table(table: pd.DataFrame) -> pd.DataFrame:
    """A sweep's progress table (engine.sweep.SweepProgress.table) as shown: the iteration of a
    cached run (none: it was not trained now) and a dev accuracy not known yet read "—", the
    accuracy in percent."""
    out = table.copy()
    if "iteration" in out:
        out["iteration"] = [MISSING if pd.isna(v) else f"{int(v):,}" for v in out["iteration"]]
    if "dev accuracy" in out:
        out["dev accuracy"] = [pct(v) for v in out["dev accuracy"]]
    if "message" in out:
        out["message"] = out["message"].fillna("")
    return out


def cell_run_ids(
    data: HeatmapData, configs: Sequence, prefer_seed: int | None = None
) -> np.ndarray:
    """The run each heatmap cell opens: the one with ``prefer_seed`` (the page's current seed)
    when the cell has it, else its lowest seed; "" for an empty cell."""
    seed_of = {c.run_id: c.seed for c in configs}
    out = np.full(data.mean.shape, "", dtype=object)
    for index in np.ndindex(out.shape):
        ids = data.run_ids[index] or ()
        preferred = [i for i in ids if seed_of.get(i) == prefer_seed]
        if preferred or ids:
            out[index] = (preferred or list(ids))[0]
    return out


def outcome_text(progress: SweepProgress, error: str | None = None) -> str:
    """One line on how a sweep ended, e.g. "Sweep finished: 12 trained, 4 were cached,
    1 diverged." Failures name their first error."""
    counts: dict[str, int] = {}
    for r in progress.runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = [f"{counts.get('finished', 0)} trained"]
    if counts.get("cached"):
        parts.append(f"{counts['cached']} {'was' if counts['cached'] == 1 else 'were'} cached")
    if counts.get("diverged"):
        parts.append(f"{counts['diverged']} diverged")
    if counts.get("stopped"):
        parts.append(f"{counts['stopped']} stopped")
    text = ("Sweep stopped: " if progress.stopped else "Sweep finished: ") + ", ".join(parts) + "."
    limited = [r for r in progress.runs if stopped_by_limit(r.message)]
    if limited:
        text += (
            f" {len(limited)} of the stopped reached this server's time limit per training and "
            f"{'was' if len(limited) == 1 else 'were'} kept: run the sweep again to continue "
            f"{'it' if len(limited) == 1 else 'them'}."
        )
    failed = [r for r in progress.runs if r.status == RunStatus.FAILED]
    if failed:
        first = failed[0]
        why = (first.message or error or "unknown error").splitlines()[0]
        text += (
            f" {len(failed)} failed, e.g. hidden {first.config.hidden}, alpha "
            f"{first.config.alpha:g}: {why}"
        )
    elif error:
        text += f" The sweep failed: {error}"
    return text

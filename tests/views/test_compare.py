"""Compare logic and the figures of Runs/Sweep/Compare, checked against brute force on small data."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from data import train_dev_split
from engine import sweep
from engine.config import RunConfig
from engine.store import RunStore
from tests.helpers import decode as _decode
from tests.helpers import tiny_dataset
from views import compare, grid
from views import compare_figures as cf


# ---- brute force -------------------------------------------------------------------------------
def test_improvement_matches_a_cell_by_cell_reading():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    pred_a = np.where(rng.random(300) < 0.7, y, rng.integers(0, 10, 300))
    pred_b = np.where(rng.random(300) < 0.8, y, rng.integers(0, 10, 300))
    cm_a = np.zeros((10, 10), int)
    cm_b = np.zeros((10, 10), int)
    for t, a, b in zip(y, pred_a, pred_b):
        cm_a[t, a] += 1
        cm_b[t, b] += 1
    imp = compare.improvement(cm_a, cm_b)
    for t in range(10):
        for p in range(10):
            if t == p:  # more correct answers is better
                assert imp[t, p] == cm_b[t, p] - cm_a[t, p]
            else:  # fewer of this mistake is better
                assert imp[t, p] == cm_a[t, p] - cm_b[t, p]
    # Net improvement on the diagonal equals the change in correct answers.
    assert np.trace(imp) == (pred_b == y).sum() - (pred_a == y).sum()


def test_fixed_and_broke_match_brute_force_both_ways():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 10, 120)
    pred_a = np.where(rng.random(120) < 0.6, y, rng.integers(0, 10, 120))
    pred_b = np.where(rng.random(120) < 0.6, y, rng.integers(0, 10, 120))
    fb = compare.fixed_and_broke(y, pred_a, pred_b)
    fixed = [i for i in range(120) if pred_a[i] != y[i] and pred_b[i] == y[i]]
    broke = [i for i in range(120) if pred_a[i] == y[i] and pred_b[i] != y[i]]
    assert fb.fixed.tolist() == fixed and fb.broke.tolist() == broke
    swapped = compare.fixed_and_broke(y, pred_b, pred_a)  # what one fixed, the other broke
    assert swapped.fixed.tolist() == broke and swapped.broke.tolist() == fixed
    assert len(fixed) - len(broke) == (pred_b == y).sum() - (pred_a == y).sum()


def test_comparability_needs_the_same_dataset_and_split():
    a = RunConfig(data="a" * 16)
    assert compare.comparability(a, dataclasses.replace(a, hidden=64)).ok
    other = compare.comparability(a, dataclasses.replace(a, data="b" * 16))
    assert not other.ok and "different dataset" in other.reason
    split = compare.comparability(a, dataclasses.replace(a, dev_size=500))
    assert not split.ok and "different dev split" in split.reason and "dev_size" in split.reason
    assert "same run" in compare.comparability(a, a).reason


def test_compare_runs_on_real_tiny_runs(tmp_path):
    ds = tiny_dataset()
    train, dev = train_dev_split(ds, dev_size=50, seed=0)
    store = RunStore(tmp_path)
    base = RunConfig(data=ds.fingerprint, dev_size=50)
    ra = store.train(dataclasses.replace(base, hidden=4, alpha=0.05), 20, train, dev)
    rb = store.train(dataclasses.replace(base, hidden=16, alpha=0.5), 60, train, dev)
    c = compare.compare_runs(ra, rb, dev)
    import nnmath

    pa = nnmath.make_predictions(dev.X, ra.params)
    pb = nnmath.make_predictions(dev.X, rb.params)
    assert c.cm_a.sum() == c.cm_b.sum() == dev.n
    assert np.trace(c.cm_b) == (pb == dev.labels).sum()
    brute_fixed = [i for i in range(dev.n) if pa[i] != dev.labels[i] and pb[i] == dev.labels[i]]
    assert c.fixed.tolist() == brute_fixed
    # shares in percent, as everywhere in the app; changes in percentage points
    assert c.metrics.loc["dev accuracy", "A"] == f"{ra.dev_accuracy:.1%}"
    delta = (rb.dev_accuracy - ra.dev_accuracy) * 100
    assert c.metrics.loc["dev accuracy", "B − A"] == f"{delta:+.1f} pts"
    assert c.metrics.loc["training time", "A"] == f"{ra.elapsed:.1f} s"
    assert c.metrics.loc["hidden", "B − A"] == "changed"
    assert c.metrics.loc["seed", "B − A"] == ""


def test_a_run_diverged_at_once_reads_its_time_and_has_no_nan(tmp_path):
    ds = tiny_dataset()
    train, dev = train_dev_split(ds, dev_size=50, seed=0)
    store = RunStore(tmp_path)
    base = RunConfig(data=ds.fingerprint, dev_size=50)
    ra = store.train(dataclasses.replace(base, hidden=4), 20, train, dev)
    rb = store.train(dataclasses.replace(base, alpha=1e6), 20, train, dev)
    assert rb.status == "diverged" and rb.iterations == 0 and len(rb.history) == 0
    table = compare.compare_runs(ra, rb, dev).metrics
    assert table.loc["training time", "B"] == "0.0 s"  # as the Runs table says
    assert not table.map(lambda v: "nan" in str(v).lower()).any().any(), table


# ---- ledger ------------------------------------------------------------------------------------
def test_runs_frame_filters_and_links(tmp_path):
    ds = tiny_dataset()
    train, dev = train_dev_split(ds, dev_size=50, seed=0)
    store = RunStore(tmp_path)
    base = RunConfig(data=ds.fingerprint, dev_size=50)
    for hidden, alpha in ((4, 0.1), (8, 0.5), (8, 1e6)):
        store.train(dataclasses.replace(base, hidden=hidden, alpha=alpha), 20, train, dev)
    frame = compare.runs_frame(store.records(data=ds.fingerprint))
    assert len(frame) == 3
    assert set(frame.columns) >= {
        "hidden",
        "alpha",
        "seed",
        "train_accuracy",
        "dev_accuracy",
        "loss",
        "seconds",
        "status",
        "created",
        "updated",
    }
    assert sorted(frame["status"]) == ["diverged", "finished", "finished"]
    assert len(compare.filter_runs(frame, status=["finished"])) == 2
    assert compare.filter_runs(frame, hidden=[8])["hidden"].tolist() == [8, 8]
    links = compare.ledger_links(frame, "sample")
    k = int(np.flatnonzero(frame["status"] == "finished")[0])
    row = frame.iloc[k]
    assert links[k].startswith("evaluate?data=sample&hidden=")
    assert f"hidden={row.hidden}" in links[k] and f"iterations={row.iterations}" in links[k]
    assert f"alpha={row.alpha:g}" in links[k]


def decode(obj):
    return _decode(obj, nan_as_none=True)


# ---- figures -----------------------------------------------------------------------------------
def _spec(fig):
    return decode(json.loads(fig.to_json()))


def test_heatmap_figure_marks_best_diverged_and_not_run_cells():
    table = pd.DataFrame(
        [
            (10, 0.1, 0, "a", "finished", 0.80),
            (10, 0.1, 1, "b", "finished", 0.90),
            (10, 50.0, 0, "c", "diverged", np.nan),
            (10, 50.0, 1, "d", "diverged", np.nan),
            (32, 0.1, 0, "e", "finished", 0.95),
            (32, 0.1, 1, "f", "finished", 0.93),
            (32, 50.0, 0, "g", "not run", np.nan),
            (32, 50.0, 1, "h", "not run", np.nan),
        ],
        columns=["hidden", "alpha", "seed", "run_id", "status", "dev_accuracy"],
    )
    data = grid.heatmap_data(table, x="alpha", y="hidden")
    links = grid.cell_run_ids(data, [RunConfig(data="x" * 16)], prefer_seed=1)
    spec = _spec(cf.heatmap_figure(data, links))
    main, diverged, not_run, clicks = spec["data"]
    # mean ± sample sd (ddof=1) in points, and the number of seeds
    assert main["text"][1][0] == f"★ 94.0% ± {np.std([0.95, 0.93], ddof=1) * 100:.1f} (2 seeds)"
    assert main["text"][0][0] == f"85.0% ± {np.std([0.8, 0.9], ddof=1) * 100:.1f} (2 seeds)"
    assert main["colorbar"]["tickformat"] == ".1%"
    assert diverged["text"][0][1] == "diverged"
    assert diverged["colorscale"][0][1] == cf.DIVERGED_COLOUR
    assert diverged["z"][0][1] == 1 and diverged["z"][1][1] is None
    assert not_run["colorscale"][0][1] == cf.NOT_RUN_COLOUR
    assert spec["layout"]["xaxis"]["title"]["text"] == "learning rate alpha"
    assert spec["layout"]["yaxis"]["title"]["text"] == "hidden units"
    assert spec["layout"]["shapes"][0]["x0"] == -0.5 and spec["layout"]["shapes"][0]["y0"] == 0.5
    assert spec["layout"]["title"]["subtitle"]["text"].startswith("best ★: hidden units")
    assert clicks["type"] == "scatter" and len(clicks["customdata"]) == 4


def test_cell_run_ids_prefer_the_current_seed():
    base = RunConfig(data="x" * 16)
    configs = sweep.expand_grid(base, {"hidden": [4], "alpha": [0.1], "seed": [0, 1, 2]})
    table = pd.DataFrame(
        [
            {
                "hidden": c.hidden,
                "alpha": c.alpha,
                "seed": c.seed,
                "run_id": c.run_id,
                "status": "finished",
                "dev_accuracy": 0.5,
            }
            for c in configs
        ]
    )
    data = grid.heatmap_data(table, "alpha", "hidden")
    assert grid.cell_run_ids(data, configs, prefer_seed=2)[0, 0] == configs[2].run_id
    assert grid.cell_run_ids(data, configs, prefer_seed=9)[0, 0] == configs[0].run_id


def test_confusion_change_figure_is_centred_and_reads_better_as_positive():
    cm_a = np.eye(10, dtype=int) * 10
    cm_a[4, 9] = 5
    cm_b = cm_a.copy()
    cm_b[4, 9] = 1  # four fewer "4 read as 9": better
    cm_b[4, 4] += 4
    imp = compare.improvement(cm_a, cm_b)
    spec = _spec(cf.confusion_change_figure(imp, cm_a, cm_b))
    heat = spec["data"][0]
    assert heat["zmid"] == 0 and heat["zmin"] == -heat["zmax"]
    assert heat["z"][4][9] == 4 and heat["z"][4][4] == 4
    assert heat["text"][4][9] == "-4" and heat["text"][4][4] == "+4"
    assert "better" in heat["customdata"][4][9] and "true 4 read as 9" in heat["customdata"][4][9]
    assert spec["layout"]["xaxis"]["title"]["text"] == "predicted label"
    assert spec["layout"]["yaxis"]["title"]["text"] == "true label"
    assert spec["layout"]["yaxis"]["autorange"] == "reversed"


def test_gallery_keeps_digits_upright_and_captions_every_tile():
    images = np.zeros((3, 28, 28), np.uint8)
    images[:, 0, :] = 255  # a bar along the top row of every digit
    fig = cf.gallery_figure(images, ["7: 1→7", "2: 2→3", "5: 6→5"], "Fixed by B", columns=2)
    spec = _spec(fig)
    z = np.array(spec["data"][0]["z"], dtype=object)
    z = np.where(z == None, np.nan, z).astype(float)  # noqa: E711
    assert np.nanmax(z[0]) == 255  # row 0 of the mosaic is row 0 of the digit ...
    assert spec["layout"]["yaxis"]["autorange"] == "reversed"  # ... drawn at the top
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["7: 1→7", "2: 2→3", "5: 6→5"]
    empty = _spec(cf.gallery_figure(images[:0], [], "x"))
    assert [a["text"] for a in empty["layout"]["annotations"]] == ["none"]


def test_gallery_is_five_a_row_so_a_phones_captions_stay_apart():
    """Ten a row put a phone's "4: 4→6" captions ~3 px apart; five a row (as on Weights) leaves
    each caption (~45 px of 12 px text) well clear of the next at ~370 px wide."""
    images = np.zeros((12, 28, 28), np.uint8)
    captions = [f"{d}: {d}→{(d + 1) % 10}" for d in range(12)]
    spec = _spec(cf.gallery_figure(images, captions, "Fixed by B"))
    xs = sorted({a["x"] for a in spec["layout"]["annotations"]})
    assert len(xs) == 5  # five columns
    z = np.array(spec["data"][0]["z"], dtype=object)
    px = 370 / z.shape[1]  # screen pixels per mosaic pixel on a phone
    assert (xs[1] - xs[0]) * px - 45 >= 20
    rows = sorted({a["y"] for a in spec["layout"]["annotations"]})
    assert len(rows) == 3


def test_ledger_figures_have_titled_axes():
    frame = pd.DataFrame(
        {
            "hidden": [10, 32],
            "alpha": [0.1, 0.5],
            "seed": [0, 1],
            "iterations": [100, 200],
            "dev_accuracy": [0.8, np.nan],
            "seconds": [1.0, 2.0],
            "status": ["finished", "diverged"],
        }
    )
    par = _spec(cf.parallel_coordinates_figure(frame))["data"][0]
    lines = [[x for x in d["label"].split("<br>") if x] for d in par["dimensions"]]
    assert [" ".join(x) for x in lines] == [
        "hidden units",
        "alpha (log)",
        "seed",
        "iterations",
        "dev accuracy",
    ]
    assert max(len(x) for line in lines for x in line) <= 10  # five abreast on a phone
    assert par["dimensions"][1]["ticktext"] == ["0.1", "0.5"]
    scatter = _spec(cf.accuracy_vs_time_figure(frame))
    assert scatter["layout"]["xaxis"]["title"]["text"] == "training time (s)"
    assert [t["name"] for t in scatter["data"]] == ["hidden 10", "diverged"]
    assert scatter["data"][1]["marker"]["symbol"] == "x"  # the diverged run, apart
    # accuracy in percent, as the Runs table beside it shows it (80.0%, not 0.800)
    assert scatter["layout"]["yaxis"]["tickformat"] == ".0%"
    assert all("%{y:.1%}" in t["hovertemplate"] for t in scatter["data"])


def test_a_setting_that_differs_gets_an_axis_of_the_settings_chart():
    """An Adam run beside a plain one with the same hidden, alpha and seed: without an optimizer
    axis their two lines would run the same way up to the accuracy."""
    frame = pd.DataFrame(
        {
            "hidden": [10, 10, 10],
            "alpha": [0.01, 0.01, 0.1],
            "seed": [0, 0, 0],
            "optimizer": ["gd", "adam", "gd"],
            "activation": ["relu"] * 3,  # shared: no axis
            "iterations": [100] * 3,
            "dev_accuracy": [0.6, 0.85, 0.8],
            "seconds": [1.0, 1.0, 1.0],
            "status": ["finished"] * 3,
        }
    )
    dims = _spec(cf.parallel_coordinates_figure(frame))["data"][0]["dimensions"]
    labels = [" ".join(x for x in d["label"].split("<br>") if x) for d in dims]
    # the seeds are all 0: no seed axis, so that the optimizer's fits a phone's width
    assert labels == ["hidden units", "alpha (log)", "optimizer", "iterations", "dev accuracy"]
    optimizer = dims[2]
    assert optimizer["ticktext"] == ["adam", "gd"]
    assert [optimizer["ticktext"][int(v)] for v in optimizer["values"]] == ["gd", "adam", "gd"]


def test_the_runs_table_leaves_out_columns_every_row_shares():
    frame = pd.DataFrame(
        {
            "init": ["uniform", "uniform"],
            "dtype": ["float32", "float64"],
            "batch_size": [None, None],
            "tags": ["", ""],
            "note": ["", "a note"],
        }
    )
    names = ["init", "dtype", "batch_size", "tags", "note", "missing"]
    assert compare.varying_columns(frame, names) == ["dtype", "note"]
    assert compare.varying_columns(frame.iloc[1:], names) == ["note"]  # one row: its note only


def test_the_b_minus_a_column_is_the_difference_of_the_written_a_and_b():
    """Losses 0.12344 and 0.12356 are written 0.1234 and 0.1236: B − A is +0.0002 as written
    (the unrounded +0.00012 gave +0.0001); seconds alike at one decimal."""
    from views.compare import _delta

    assert _delta(0.12344, 0.12356, "{:+.4f}") == "+0.0002"
    assert _delta(10.04, 10.16, "{:+.1f} s") == "+0.2 s"
    assert _delta(500, 700, "{:+d}") == "+200"
    assert _delta(float("nan"), 1.0, "{:+.4f}") == ""


def test_the_runs_curves_end_on_the_tables_numbers_in_percent():
    # the history's row i is after i updates; the runs table's numbers are after the last one
    import nnmath

    ds = tiny_dataset(300)
    X, y = ds.X, ds.labels
    r = nnmath.gradient_descent(
        X[:200], y[:200], hidden=10, alpha=0.1, iterations=25, X_dev=X[200:], y_dev=y[200:]
    )
    fig = cf.curves_figure({"run": r.history}, {"run": r})
    loss, dev, train = fig.data
    assert loss.x[-1] == dev.x[-1] == train.x[-1] == 25
    assert (loss.y[-1], dev.y[-1], train.y[-1]) == (r.loss, r.dev_accuracy, r.train_accuracy)
    np.testing.assert_array_equal(dev.y[:-1], r.history.dev_accuracy)
    # accuracies as the table writes them: percent with one decimal
    assert "%{y:.1%}" in dev.hovertemplate and "%{y:.1%}" in train.hovertemplate
    assert fig.layout.yaxis2.tickformat == ".0%"


def test_a_seed_groups_mean_line_ends_on_the_mean_the_table_writes():
    import nnmath
    from views.significance import summary

    ds = tiny_dataset(300)
    X, y = ds.X, ds.labels
    runs = [
        nnmath.gradient_descent(
            X[:200], y[:200], hidden=10, alpha=0.1, iterations=20, seed=s,
            X_dev=X[200:], y_dev=y[200:],
        )
        for s in (0, 1, 2)
    ]  # fmt: skip
    fig = cf.group_curves_figure({"g": [r.history for r in runs]}, {"g": runs})
    mean_dev = next(t for t in fig.data if t.name.startswith("g (mean") and t.xaxis == "x2")
    assert mean_dev.x[-1] == 20
    assert mean_dev.y[-1] == pytest.approx(summary([r.dev_accuracy for r in runs]).mean)
    assert "%{y:.1%}" in mean_dev.hovertemplate and fig.layout.yaxis2.tickformat == ".0%"

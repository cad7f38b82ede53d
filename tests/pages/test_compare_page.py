"""Compare screen through the router (AppTest): metrics, confusion change, galleries, and the
refusal to compare runs on different datasets."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import data
import nnmath
from engine.config import RunConfig
from engine.store import RunStore
from tests.helpers import app_sample, decode

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def two_runs():
    train, dev, base = app_sample()
    store = RunStore()
    a = replace(base, hidden=10, alpha=0.1)
    b = replace(base, hidden=32, alpha=0.5)
    ra = store.train(a, 50, train, dev, data_key="sample")
    rb = store.train(b, 100, train, dev, data_key="sample")
    return dev, (a, ra), (b, rb), store


def compare_page(**params):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/8_compare.py")
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    return at


def test_compare_needs_two_runs():
    at = compare_page()
    assert "needs at least two cached runs" in at.info[0].value


def test_compare_shows_metrics_confusion_change_and_galleries(two_runs):
    dev, (a, ra), (b, rb), _ = two_runs
    at = compare_page(a=a.run_id, b=b.run_id)
    assert at.selectbox(key="cmp_a").value == a.run_id
    assert at.selectbox(key="cmp_b").value == b.run_id
    metrics = at.table[0].value
    # settings the two runs share are folded below: only alpha and hidden differ here
    assert [n for n in metrics.index if n in ("hidden", "alpha", "seed", "init")] == [
        "hidden",
        "alpha",
    ]
    shared = at.table[1].value
    assert shared.loc["seed", "A and B"] == "0" and "alpha" not in shared.index
    assert metrics.loc["dev accuracy", "A"] == f"{ra.dev_accuracy:.1%}"  # percent, as everywhere
    assert metrics.loc["dev accuracy", "B"] == f"{rb.dev_accuracy:.1%}"
    # calibration side by side: dev NLL (the runs' dev loss) and dev ECE from their predictions
    assert metrics.loc["dev NLL", "A"] == f"{ra.dev_loss:.4f}"
    assert metrics.loc["dev NLL", "B"] == f"{rb.dev_loss:.4f}"
    ece_a = nnmath.reliability(nnmath.predict_proba(ra.params, dev.X), dev.labels).ece
    ece_b = nnmath.reliability(nnmath.predict_proba(rb.params, dev.X), dev.labels).ece
    assert metrics.loc["dev ECE", "A"] == f"{ece_a:.4f}"
    assert metrics.loc["dev ECE", "B"] == f"{ece_b:.4f}"
    # B − A of the two as written (4 decimals), so the row adds up on screen
    written = Decimal(f"{ece_b:.4f}") - Decimal(f"{ece_a:.4f}")
    assert metrics.loc["dev ECE", "B − A"] == f"{written:+.4f}"
    charts = [decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]
    confusion, fixed, broke = charts
    heat = confusion["data"][0]
    assert heat["zmid"] == 0
    pa = nnmath.make_predictions(dev.X, ra.params)
    pb = nnmath.make_predictions(dev.X, rb.params)
    y = dev.labels
    # Diagonal improvement = change in correct answers per digit, off-diagonal = fewer errors.
    for d in range(10):
        assert heat["z"][d][d] == int(((pb == y) & (y == d)).sum() - ((pa == y) & (y == d)).sum())
    n_fixed = int(((pa != y) & (pb == y)).sum())
    n_broke = int(((pa == y) & (pb != y)).sum())
    assert fixed["layout"]["title"]["text"] == f"Fixed by B ({n_fixed})"
    assert fixed["layout"]["title"]["subtitle"]["text"].startswith("A wrong, B right")
    assert broke["layout"]["title"]["text"] == f"Broken by B ({n_broke})"
    assert broke["layout"]["title"]["subtitle"]["text"].startswith("A right, B wrong")
    first = int(np.flatnonzero((pa != y) & (pb == y))[0])
    assert fixed["layout"]["annotations"][0]["text"] == f"{y[first]}: {pa[first]}→{pb[first]}"
    assert any(f"net {n_fixed - n_broke:+d}" in m.value for m in at.markdown)


def test_runs_on_different_datasets_are_not_compared(two_runs):
    _, (a, _), _, store = two_runs
    small = data.load_dataset("sample").subset(np.arange(1000))
    train, dev = data.train_dev_split(small, seed=0)
    other = RunConfig(data=small.fingerprint, dev_size=dev.n)
    store.train(other, 20, train, dev)
    at = compare_page(a=a.run_id, b=other.run_id)
    assert "Not comparable" in at.warning[0].value
    assert "different dataset" in at.warning[0].value
    assert not at.get("plotly_chart")


def test_compare_says_whether_a_difference_is_real_for_runs_and_for_seed_groups():
    """Two settings, three seeds each: the paired interval for the two runs picked, each group's
    mean ± sd (numpy's, ddof=1) and Welch's interval across seeds, in plain sentences."""
    from views import significance

    train, dev, base = app_sample()
    store = RunStore()
    results = {}
    for alpha in (0.05, 0.5):
        for seed in (0, 1, 2):
            c = replace(base, hidden=10, alpha=alpha, seed=seed)
            results[alpha, seed] = (c, store.train(c, 50, train, dev, data_key="sample"))
    (a, ra), (b, rb) = results[0.05, 0], results[0.5, 0]
    at = compare_page(a=a.run_id, b=b.run_id)
    text = "\n".join(m.value for m in at.markdown)
    right_a = nnmath.make_predictions(dev.X, ra.params) == dev.labels
    right_b = nnmath.make_predictions(dev.X, rb.params) == dev.labels
    assert significance.paired_difference(right_a, right_b).sentence() in text
    accs = {al: [results[al, s][1].dev_accuracy for s in (0, 1, 2)] for al in (0.05, 0.5)}
    for al, name in ((0.05, "A"), (0.5, "B")):
        mean, sd = np.mean(accs[al]), np.std(accs[al], ddof=1)
        assert f"{name} {mean * 100:.1f}% ± {sd * 100:.1f} (3 seeds)" in text
    assert significance.group_difference(accs[0.05], accs[0.5]).sentence() in text
    assert "better than" in text or "No clear difference" in text
    # only what differs: alpha first (seed and the rest are shared by these two)
    assert at.dataframe[0].value.index.tolist() == ["alpha"]


def test_repeat_with_n_seeds_links_to_sweep_with_that_many(two_runs):
    dev, (a, ra), (b, rb), _ = two_runs
    at = compare_page(a=a.run_id, b=b.run_id)
    at.number_input(key="cmp_repeat_seeds").set_value(8).run()
    links = [p for p in at.get("page_link") if "seeds" in p.proto.label]
    assert [p.proto.label for p in links] == [
        "Repeat run A with 8 seeds",
        "Repeat run B with 8 seeds",
    ]
    assert "seeds=0-7" in links[0].proto.query_string and "hidden=10" in links[0].proto.query_string
    assert at.number_input(key="cmp_repeat_seeds").max == 10


def test_the_top_and_the_bottom_count_the_same_shared_settings():
    """Two runs of the same length: the side-by-side table and 'More runs' below fold the same
    settings (they said 18 above and 19 below: only the lower one counted the iterations)."""
    train, dev, base = app_sample()
    store = RunStore()
    a, b = replace(base, alpha=0.1), replace(base, alpha=0.5)
    for config in (a, b):
        store.train(config, 30, train, dev, data_key="sample")
    at = compare_page(a=a.run_id, b=b.run_id)
    counts = [
        int(e.label.split()[1])
        for e in at.expander
        if e.label.startswith("The ") and "share" in e.label
    ]
    assert len(counts) == 2 and counts[0] == counts[1], [e.label for e in at.expander]
    assert "iterations" in at.table[1].value.index  # folded with the settings: both 30

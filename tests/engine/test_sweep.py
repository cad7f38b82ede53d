"""Sweep logic without Streamlit: grid expansion, cache hits, parallel execution (loky, threads,
a loopback Dask cluster), stopping, diverged runs and the heatmap data."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest

from data import train_dev_split
from engine import sweep
from engine.config import RunConfig
from engine.store import RunStore, compute
from tests.helpers import tiny_dataset
from views import grid

ITER = 40


@pytest.fixture
def split():
    ds = tiny_dataset()
    train, dev = train_dev_split(ds, dev_size=50, seed=0)
    return ds, train, dev


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def base_config(ds) -> RunConfig:
    return RunConfig(data=ds.fingerprint, dev_size=50)


def run_all(store, plan, train, dev, **kw) -> sweep.SweepProgress:
    with sweep.SweepExecution(store, plan, train, dev, **kw) as ex:
        snaps = list(ex.updates(interval=0.2))
    assert ex.error is None
    return snaps[-1]


# ---- grid --------------------------------------------------------------------------------------
def test_parse_values_reads_lists_and_ranges():
    assert sweep.parse_values("10, 32 64", "hidden") == (10, 32, 64)
    assert sweep.parse_values("0-2", "seed") == (0, 1, 2)
    assert sweep.parse_values("0.05, 0.1, 0.1", "alpha") == (0.05, 0.1)
    assert sweep.parse_values("full 64", "batch_size") == (None, 64)
    with pytest.raises(ValueError, match="hidden values must be whole numbers, got 'x'"):
        sweep.parse_values("10, x", "hidden")
    with pytest.raises(ValueError, match="setting must be one of"):
        sweep.parse_values("1", "colour")
    with pytest.raises(ValueError, match="alpha needs at least one value"):
        sweep.parse_values("  ", "alpha")


def test_expand_grid_is_the_cartesian_product_in_axis_order():
    base = RunConfig(data="f" * 16)
    configs = sweep.expand_grid(
        base, {"hidden": [10, 32], "alpha": [0.1, 0.5, 0.1], "seed": [0, 1]}
    )
    assert len(configs) == 2 * 2 * 2
    assert len({c.run_id for c in configs}) == 8
    assert [(c.hidden, c.alpha, c.seed) for c in configs[:3]] == [
        (10, 0.1, 0),
        (10, 0.1, 1),
        (10, 0.5, 0),
    ]
    assert all(c.data == base.data and c.dev_size == base.dev_size for c in configs)
    with pytest.raises(ValueError, match="axis must be one of"):
        sweep.expand_grid(base, {"data": ["x"]})
    with pytest.raises(ValueError, match="axis seed needs at least one value"):
        sweep.expand_grid(base, {"seed": []})


# ---- cache -------------------------------------------------------------------------------------
def test_plan_skips_cached_combinations_and_extends_shorter_runs(split, store):
    ds, train, dev = split
    configs = sweep.expand_grid(base_config(ds), {"hidden": [4, 8], "alpha": [0.1, 0.5]})
    store.train(configs[0], 100, train, dev)  # longer: answers 50 and 100
    store.train(configs[1], 50, train, dev)  # shorter than 100: extended, not retrained
    at_50 = sweep.plan_sweep(store, configs, 50)
    assert set(at_50.cached) == {configs[0], configs[1]}
    assert [t.config for t in at_50.tasks] == configs[2:]
    at_100 = sweep.plan_sweep(store, configs, 100)
    assert at_100.cached == (configs[0],)
    extend = {t.config: t for t in at_100.tasks}[configs[1]]
    assert extend.start is not None and extend.start.iterations == 50


def test_sweep_trains_only_what_is_missing_and_saves_every_run(split, store):
    ds, train, dev = split
    configs = sweep.expand_grid(base_config(ds), {"hidden": [4, 8], "seed": [0, 1]})
    cached = store.train(configs[0], ITER, train, dev)
    cached_updated = store.record(configs[0].run_id).updated
    saved_before = store.stats.get("saved", 0)
    plan = sweep.plan_sweep(store, configs, ITER)
    assert len(plan.tasks) == 3

    final = run_all(store, plan, train, dev, backend="threading", n_jobs=2)

    assert final.done == final.total == 4 and final.finished
    statuses = {r.config: r.status for r in final.runs}
    assert statuses[configs[0]] == "cached"
    assert all(statuses[c] == "finished" for c in configs[1:])
    assert store.record(configs[0].run_id).updated == cached_updated  # not retrained
    assert store.stats["saved"] - saved_before == 3  # one save per new run
    assert store.get(configs[0], ITER).dev_accuracy == cached.dev_accuracy
    assert sweep.plan_sweep(store, configs, ITER).tasks == ()  # everything answered now


def test_loky_workers_give_the_numbers_the_store_would(split, store):
    ds, train, dev = split
    configs = sweep.expand_grid(base_config(ds), {"hidden": [4, 8], "alpha": [0.1, 0.5]})
    plan = sweep.plan_sweep(store, configs, ITER)
    final = run_all(store, plan, train, dev, backend="loky", n_jobs=2, data_key="tiny")
    assert [r.status for r in final.runs] == ["finished"] * 4
    for config in configs:
        stored = store.get(config, ITER)
        direct = compute(config, ITER, train, dev)
        np.testing.assert_array_equal(stored.params.W1, direct.params.W1)
        np.testing.assert_array_equal(stored.history.loss, direct.history.loss)
    assert {r.data_key for r in store.records()} == {"tiny"}


def test_dask_backend_runs_the_same_sweep_on_a_loopback_cluster(split, store):
    distributed = pytest.importorskip("distributed")
    ds, train, dev = split
    configs = sweep.expand_grid(base_config(ds), {"hidden": [4, 8], "seed": [0, 1]})
    plan = sweep.plan_sweep(store, configs, ITER)
    # Two worker processes on loopback: tasks, datasets and results really cross a TCP socket.
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        sweep.connect_dask(cluster.scheduler_address).client as client,
    ):
        final = run_all(store, plan, train, dev, backend="dask", client=client)
        # A second sweep on the same (cached) client, as the page does.
        more = sweep.expand_grid(base_config(ds), {"hidden": [4, 8], "seed": [2]})
        again = run_all(
            store, sweep.plan_sweep(store, more, ITER), train, dev, backend="dask", client=client
        )
    assert [r.status for r in final.runs] == ["finished"] * 4
    assert [r.status for r in again.runs] == ["finished"] * 2
    for config in configs:
        np.testing.assert_array_equal(
            store.get(config, ITER).params.W2, compute(config, ITER, train, dev).params.W2
        )


def test_stop_reaches_dask_workers_through_an_event(split):
    """On a remote cluster the stop file is not visible; the distributed.Event is."""
    distributed = pytest.importorskip("distributed")
    ds, train, dev = split
    signals = sweep.WorkerSignals(progress_dir=None, stop_event="nnmath-test-stop")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        sweep.connect_dask(cluster.scheduler_address).client as client,
    ):
        go = client.submit(sweep.train_task, base_config(ds), ITER, train, dev, None, signals)
        tasks = {base_config(ds).run_id: sweep.Task(base_config(ds), ITER)}
        assert sweep.check_outcome(go.result(), tasks)[1].status == "finished"
        distributed.Event("nnmath-test-stop", client=client).set()
        stop = client.submit(
            sweep.train_task,
            dataclasses.replace(base_config(ds), seed=1),
            ITER,
            train,
            dev,
            None,
            signals,
        )
        outcome = stop.result()
    assert outcome["result"] is None and outcome["error"] == "stopped before it started"


def test_dask_backend_needs_a_client_that_refuses_pickles(split, store):
    distributed = pytest.importorskip("distributed")
    ds, train, dev = split
    plan = sweep.plan_sweep(store, [base_config(ds)], ITER)
    with pytest.raises(ValueError, match="needs a connected distributed.Client"):
        sweep.SweepExecution(store, plan, train, dev, backend="dask")
    with (
        distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        pytest.raises(ValueError, match="refuses pickled results"),
    ):
        sweep.SweepExecution(store, plan, train, dev, backend="dask", client=client)


# ---- stopping ----------------------------------------------------------------------------------
def test_stop_keeps_finished_runs_and_ends_the_runs_in_flight(split, store):
    ds, train, dev = split
    fast = dataclasses.replace(base_config(ds), hidden=4)
    slow = [dataclasses.replace(base_config(ds), hidden=8, seed=s) for s in range(4)]
    iterations = 20_000  # far longer than the test runs: only a stop ends these
    plan = sweep.plan_sweep(store, [fast, *slow], iterations)
    first_done = store.train(fast, 50, train, dev)  # a finished run that must survive the stop
    ex = sweep.SweepExecution(
        store, plan, train, dev, backend="threading", n_jobs=2, callback_every=5
    )
    with ex:
        for snap in ex.updates(interval=0.1):
            if any(r.status == "running" and r.iteration > 0 for r in snap.runs):
                break  # leaving the block stops the sweep, as a Streamlit rerun would
    assert ex.stopped
    assert ex.wait(timeout=30), "workers kept running after stop"
    final = ex.progress()
    assert {r.status for r in final.runs} <= {"stopped", "finished"}
    assert all(r.iteration < iterations for r in final.runs)
    assert store.get(fast, 50).dev_accuracy == first_done.dev_accuracy  # earlier work kept
    assert all(store.get(c, iterations) is None for c in slow)  # partial runs are not passed off
    assert not os.path.exists(ex.signals.progress_dir)  # no stop/progress files left


def test_stop_before_start_trains_nothing(split, store):
    ds, train, dev = split
    configs = sweep.expand_grid(base_config(ds), {"seed": [0, 1, 2]})
    ex = sweep.SweepExecution(
        store, sweep.plan_sweep(store, configs, ITER), train, dev, backend="threading", n_jobs=2
    )
    ex.stop()
    with ex:
        final = list(ex.updates(interval=0.1))[-1]
    assert [r.status for r in final.runs] == ["stopped"] * 3
    assert store.records() == []


# ---- diverged runs and the heatmap -------------------------------------------------------------
def test_a_diverging_alpha_shows_as_a_diverged_cell(store):
    """The issue's case on the real sample: alpha 50 at hidden 10 blows the loss up past 10x its
    start at the first update for seeds 0 and 1 (nnmath: diverged, 0 iterations kept) but not
    for seed 2, and for every seed at hidden 32."""
    import data

    ds = data.load_dataset("sample")
    train, dev = data.train_dev_split(ds)
    configs = sweep.expand_grid(
        RunConfig(data=ds.fingerprint, dev_size=dev.n),
        {"hidden": [10, 32], "alpha": [0.5, 50.0], "seed": [0, 1, 2]},
    )
    plan = sweep.plan_sweep(store, configs, ITER)
    final = run_all(store, plan, train, dev, backend="threading", n_jobs=2)
    statuses = {(r.config.hidden, r.config.alpha, r.config.seed): r.status for r in final.runs}
    assert [statuses[(10, 50.0, s)] for s in range(3)] == ["diverged", "diverged", "finished"]
    assert [statuses[(32, 50.0, s)] for s in range(3)] == ["diverged"] * 3
    assert all(statuses[(h, 0.5, s)] == "finished" for h in (10, 32) for s in range(3))
    data_ = grid.heatmap_data(grid.sweep_table(store, configs, ITER), x="alpha", y="hidden")
    assert data_.x_values == (0.5, 50.0) and data_.y_values == (10, 32)
    assert list(data_.text[:, 1]) == ["diverged (2 of 3)", "diverged"]
    assert list(data_.state[:, 1]) == ["diverged", "diverged"]
    assert data_.best is not None and data_.best[1] == 0
    # Diverged runs are answers: a longer sweep does not retrain them.
    cached = set(sweep.plan_sweep(store, configs, ITER * 2).cached)
    assert cached == {c for c in configs if statuses[(c.hidden, c.alpha, c.seed)] == "diverged"}


def test_outcomes_fill_in_runs_the_store_does_not_hold(split, store):
    """A diverged run the store lost (evicted, or declined) still shows as diverged in the
    sweep that computed it."""
    ds, _, _ = split
    config = dataclasses.replace(base_config(ds), alpha=50.0)
    state = sweep.RunState(config, status="diverged", message="diverged at iteration 1")
    table = grid.sweep_table(store, [config], ITER, outcomes={config.run_id: state})
    assert table["status"].tolist() == ["diverged"]
    assert grid.sweep_table(store, [config], ITER)["status"].tolist() == ["not run"]


def _table(rows):
    return pd.DataFrame(
        rows, columns=["hidden", "alpha", "seed", "run_id", "status", "dev_accuracy"]
    )


def test_heatmap_mean_spread_and_best_cell_match_a_groupby():
    rng = np.random.default_rng(3)
    rows = []
    for h in (10, 32, 64):
        for a in (0.05, 0.1, 0.5, 2.0):
            for s in range(3):
                rows.append((h, a, s, f"{h}-{a}-{s}", "finished", float(rng.uniform(0.7, 0.95))))
    table = _table(rows)
    data = grid.heatmap_data(table, x="alpha", y="hidden")
    expected = table.groupby(["hidden", "alpha"])["dev_accuracy"].agg(
        ["mean", lambda v: np.std(v, ddof=1)]  # the sample standard deviation, as numpy's
    )
    for i, h in enumerate(data.y_values):
        for j, a in enumerate(data.x_values):
            m, sd = expected.loc[(h, a)]
            assert data.mean[i, j] == pytest.approx(m)
            assert data.spread[i, j] == pytest.approx(sd)
            assert data.text[i, j] == f"{m:.1%} ± {sd * 100:.1f} (3 seeds)"  # in percent
            assert data.run_ids[i, j] == tuple(f"{h}-{a}-{s}" for s in range(3))
    best = expected["mean"].idxmax()
    assert (data.y_values[data.best[0]], data.x_values[data.best[1]]) == best


def test_heatmap_marks_missing_partial_and_diverged_cells():
    table = _table(
        [
            (10, 0.1, 0, "a", "finished", 0.80),
            (10, 0.1, 1, "b", "finished", 0.90),
            (10, 50.0, 0, "c", "diverged", np.nan),
            (10, 50.0, 1, "d", "finished", 0.99),
            (32, 0.1, 0, "e", "not run", np.nan),
            (32, 0.1, 1, "f", "finished", 0.85),
            (32, 50.0, 0, "g", "not run", np.nan),
            (32, 50.0, 1, "h", "not run", np.nan),
        ]
    )
    data = grid.heatmap_data(table, x="alpha", y="hidden")
    assert data.text.tolist() == [
        [f"85.0% ± {np.std([0.8, 0.9], ddof=1) * 100:.1f} (2 seeds)", "diverged (1 of 2)"],
        ["85.0% (1 of 2 seeds)", "not run"],
    ]
    assert data.state.tolist() == [["ok", "diverged"], ["partial", "not run"]]
    assert data.best == (0, 0)  # 0.99 sits in a cell that diverged for another seed: not best
    with pytest.raises(ValueError, match="two different settings"):
        grid.heatmap_data(table, x="alpha", y="alpha")


def test_resolve_scheduler_reads_the_environment_then_secrets():
    env = {sweep.DASK_ENV: "tcp://env:8786"}
    secrets = {"dask_scheduler": "tcp://secret:8786"}
    assert sweep.resolve_scheduler(secrets, env) == "tcp://env:8786"
    assert sweep.resolve_scheduler(secrets, {sweep.DASK_ENV: " "}) == "tcp://secret:8786"
    assert sweep.resolve_scheduler(None, {}) is None


def test_heatmap_of_ece_or_nll_stars_the_lowest_cell():
    rng = np.random.default_rng(4)
    rows = [
        (h, a, s, f"{h}-{a}-{s}", "finished", float(rng.uniform(0.7, 0.95)))
        for h in (10, 32)
        for a in (0.1, 0.5)
        for s in range(2)
    ]
    table = _table(rows)
    table["dev_ece"] = rng.uniform(0.01, 0.1, len(table))
    table["dev_nll"] = rng.uniform(0.3, 0.6, len(table))
    for metric in ("dev_ece", "dev_nll"):
        data = grid.heatmap_data(table, x="alpha", y="hidden", metric=metric)
        expected = table.groupby(["hidden", "alpha"])[metric].mean()
        for i, h in enumerate(data.y_values):
            for j, a in enumerate(data.x_values):
                assert data.mean[i, j] == pytest.approx(expected.loc[(h, a)])
        assert (data.y_values[data.best[0]], data.x_values[data.best[1]]) == expected.idxmin()
        assert data.metric == metric and not data.higher_is_better
    assert grid.heatmap_data(table, x="alpha", y="hidden").label == "dev accuracy"
    with pytest.raises(ValueError, match="metric must be one of dev_accuracy, loss, dev_ece"):
        grid.heatmap_data(table, x="alpha", y="hidden", metric="ece")


def test_a_sweep_run_past_the_servers_time_limit_comes_back_stopped_with_why(
    split, tmp_path, monkeypatch
):
    from engine.slots import TrainingSlots, stopped_by_limit
    from nnmath import Status
    from tests.helpers import tick_time_limit

    ds, train, dev = split
    config = base_config(ds)
    tick_time_limit(monkeypatch, 7)  # 7 s per callback of 10 iterations
    slots = TrainingSlots(tmp_path / "slots", 1, max_seconds=20)
    signals = sweep.WorkerSignals(callback_every=10)
    outcome = sweep.train_task(config, ITER, train, dev, None, signals, slots)
    assert outcome["error"] is None
    result = sweep.decode_result(outcome["result"], config, ITER)
    # the deadline is 7 + 20 s; the callbacks at iterations 10, 20, 30 read 14, 21, 28
    assert result.status == Status.STOPPED and result.iterations == 30
    assert stopped_by_limit(result.message)
    free = sweep.train_task(config, ITER, train, dev, None, signals, TrainingSlots(tmp_path, 1))
    assert sweep.decode_result(free["result"], config, ITER).iterations == ITER


def test_a_sweep_keeps_a_run_the_time_limit_stopped_and_the_next_sweep_continues_it(
    split, store, monkeypatch
):
    from engine.slots import TrainingSlots, stopped_by_limit
    from tests.helpers import tick_time_limit

    ds, train, dev = split
    config = base_config(ds)
    tick_time_limit(monkeypatch, 7)  # 7 s per callback of 10 iterations
    slots = TrainingSlots(store.root / "slots", 1, max_seconds=20)
    first = run_all(
        store, sweep.plan_sweep(store, [config], ITER), train, dev,
        backend="threading", n_jobs=1, callback_every=10, slots=slots,
    )  # fmt: skip
    (run,) = first.runs
    assert (run.status, run.iteration) == ("stopped", 30) and stopped_by_limit(run.message)
    assert store.latest(config).iterations == 30  # kept, unlike a run the learner stopped
    assert grid.outcome_text(first) == (
        "Sweep finished: 0 trained, 1 stopped. 1 of the stopped reached this server's time limit "
        "per training and was kept: run the sweep again to continue it."
    )
    tick_time_limit(monkeypatch, 0)  # time stands still
    second = run_all(
        store, sweep.plan_sweep(store, [config], ITER), train, dev,
        backend="threading", n_jobs=1, callback_every=10, slots=slots,
    )  # fmt: skip
    assert [(r.status, r.iteration) for r in second.runs] == [("finished", ITER)]
    np.testing.assert_array_equal(
        store.get(config, ITER).params.W1, compute(config, ITER, train, dev).params.W1
    )

"""The run store: identity, hits, truncation, extension (bit-exact), damage, eviction, locking."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import threading

import numpy as np
import pytest

import nnmath
from engine.config import RunConfig
from engine.store import RunStore, compute, default_store


@pytest.fixture(scope="module")
def split():
    from data import load_dataset, train_dev_split

    ds = load_dataset("sample")
    small = ds.subset(np.arange(0, ds.n, 5))  # 1,000 images, every digit
    train, dev = train_dev_split(small, dev_size=200, seed=0)
    return small, train, dev


@pytest.fixture
def config(split):
    small, _, dev = split
    return RunConfig(data=small.fingerprint, dev_size=dev.n, snapshot_every=20)


def make_store(tmp_path, **kw):
    return RunStore(tmp_path / "runs", **kw)


def same_run(a, b):
    """Bit-identical numbers (elapsed aside)."""
    assert a.iterations == b.iterations
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(getattr(a.params, name), getattr(b.params, name))
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name))
    assert a.dev_accuracy == b.dev_accuracy or (
        np.isnan(a.dev_accuracy) and np.isnan(b.dev_accuracy)
    )


# ---- identity --------------------------------------------------------------------------------
def test_run_id_depends_on_every_setting_but_not_on_types():
    base = RunConfig(data="ab" * 8)
    ids = {base.run_id}
    for change in (
        dict(data="cd" * 8),
        dict(hidden=11),
        dict(alpha=0.2),
        dict(seed=1),
        dict(init="he"),
        dict(dtype="float64"),
        dict(batch_size=64),
        dict(activation="tanh"),
        dict(dev_size=500),
        dict(split_seed=1),
    ):
        ids.add(RunConfig(**{**base.to_dict(), **change}).run_id)
    assert len(ids) == 11
    assert (
        RunConfig(data="ab" * 8, hidden=np.int64(10), alpha=np.float32(0.5)).run_id
        == RunConfig(data="ab" * 8, hidden=10, alpha=0.5).run_id
    )
    assert RunConfig.from_dict(base.to_dict()) == base


def test_default_store_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("NNMATH_RUNS_MAX_MB", "3")
    s = default_store()
    assert s.root == tmp_path / "elsewhere" and s.max_bytes == 3 * 1024 * 1024
    assert (tmp_path / "elsewhere" / "runs").is_dir()


# ---- hits, truncation, extension ----------------------------------------------------------------
def test_second_ask_is_served_without_training(tmp_path, split, config, monkeypatch):
    _, train, dev = split
    store = make_store(tmp_path)
    first = store.train(config, 40, train, dev)
    assert store.stats == {"trained": 1, "saved": 1}
    monkeypatch.setattr(nnmath, "gradient_descent", None)  # any call would fail
    again = RunStore(store.root).train(config, 40, train, dev)
    same_run(first, again)
    # survives a "restart": a new store object on the same folder reads it
    assert RunStore(store.root).get(config, 40) is not None


def test_fewer_iterations_at_a_snapshot_are_cut_from_the_cache(
    tmp_path, split, config, monkeypatch
):
    _, train, dev = split
    store = make_store(tmp_path)
    store.train(config, 60, train, dev)
    monkeypatch.setattr(nnmath, "gradient_descent", None)
    monkeypatch.setattr(nnmath, "continue_training", None)
    cut = store.train(config, 40, train, dev)
    assert cut.iterations == 40 and len(cut.history.loss) == 40
    assert store.stats["served"] == 1


def test_truncation_is_exact(tmp_path, split, config):
    _, train, dev = split
    store = make_store(tmp_path)
    store.train(config, 60, train, dev)
    at_snapshot = store.get(config, 40)
    same_run(at_snapshot, compute(config, 40, train, dev))
    # between snapshots: no exact answer without arithmetic ...
    assert store.get(config, 33) is None
    # ... so train() resumes from snapshot 20 and gets the same bits as a fresh 33-iteration run
    resumed = store.train(config, 33, train, dev)
    assert store.stats.get("resumed") == 1
    same_run(resumed, compute(config, 33, train, dev))
    assert store.latest(config).iterations == 60  # the shorter answer does not replace the cache


def test_more_iterations_continue_and_equal_one_long_run(tmp_path, split, config, monkeypatch):
    _, train, dev = split
    store = make_store(tmp_path)
    store.train(config, 30, train, dev)
    calls = []
    real = nnmath.continue_training
    monkeypatch.setattr(
        nnmath,
        "continue_training",
        lambda result, *a, **k: calls.append(result.iterations) or real(result, *a, **k),
    )
    longer = store.train(config, 75, train, dev)
    assert calls == [30], "the extension must start from the cached 30 iterations"
    assert store.stats["extended"] == 1
    same_run(longer, compute(config, 75, train, dev))
    assert store.latest(config).iterations == 75


def test_stopped_run_is_kept_and_continued(tmp_path, split, config):
    _, train, dev = split
    store = make_store(tmp_path)
    stopped = store.train(
        config, 100, train, dev, callback=lambda p: p.iteration >= 30, callback_every=10
    )
    assert stopped.status == "stopped" and stopped.iterations == 30
    rec = store.records()[0]
    assert rec.status == "stopped" and rec.iterations == 30
    assert store.get(config, 100) is None
    done = store.train(config, 100, train, dev)
    assert store.stats["extended"] == 1 and done.status == "finished"
    same_run(done, compute(config, 100, train, dev))


def test_diverged_run_is_served_as_is(tmp_path, split):
    small, train, dev = split
    config = RunConfig(data=small.fingerprint, alpha=1000.0, dev_size=dev.n, snapshot_every=20)
    store = make_store(tmp_path)
    r = store.train(config, 200, train, dev)
    assert r.status == "diverged" and r.diverged_at is not None
    again = store.train(config, 400, train, dev)
    assert again.status == "diverged" and store.stats["served"] == 1


def test_bad_settings_raise_and_save_nothing(tmp_path, split):
    small, train, dev = split
    store = make_store(tmp_path)
    with pytest.raises(ValueError, match="alpha"):
        store.train(
            RunConfig(data=small.fingerprint, alpha=0.0, dev_size=dev.n, snapshot_every=20),
            10,
            train,
            dev,
        )
    with pytest.raises(ValueError, match="iterations"):
        store.train(
            RunConfig(data=small.fingerprint, dev_size=dev.n, snapshot_every=20), 0, train, dev
        )
    assert store.records() == []


def test_put_keeps_the_longer_run(tmp_path, split, config):
    _, train, dev = split
    store = make_store(tmp_path)
    long = compute(config, 60, train, dev)
    short = compute(config, 20, train, dev)
    assert store.put(config, long, data_key="sample") is True
    assert store.put(config, short) is False
    assert store.latest(config).iterations == 60
    rec = store.records(data=config.data)[0]
    assert rec.data_key == "sample" and rec.iterations == 60 and rec.run_id == config.run_id
    assert store.records(data="0" * 16) == []


# ---- damage -----------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", [b"", b"not an npz at all", b"PK\x03\x04 truncated zip"])
def test_damaged_entry_is_ignored_and_recomputed(tmp_path, split, config, damage):
    _, train, dev = split
    store = make_store(tmp_path)
    good = store.train(config, 40, train, dev)
    store.npz_path(config.run_id).write_bytes(damage)
    assert store.get(config, 40) is None  # no exception, just a miss
    again = store.train(config, 40, train, dev)  # recomputed
    assert store.stats["trained"] == 2
    same_run(good, again)
    assert store.get(config, 40) is not None


def test_damaged_record_is_rebuilt_from_the_npz(tmp_path, split, config):
    _, train, dev = split
    store = make_store(tmp_path)
    store.train(config, 40, train, dev, data_key="sample")
    store.json_path(config.run_id).write_text("{not json")
    # the config is unknown without the record: the run is unlisted, never an error
    assert store.records() == []
    store.train(config, 60, train, dev)
    recs = store.records()
    assert len(recs) == 1 and recs[0].iterations == 60


def test_stale_record_is_refreshed(tmp_path, split, config):
    _, train, dev = split
    store = make_store(tmp_path)
    store.train(config, 40, train, dev)
    other = make_store(tmp_path)
    other.put(config, compute(config, 60, train, dev))
    assert store.records()[0].iterations == 60


def test_runs_of_older_numerics_are_neither_served_nor_listed(tmp_path, split, config, monkeypatch):
    _, train, dev = split
    store = make_store(tmp_path)
    store.train(config, 40, train, dev)
    old_id = config.run_id
    # the next nnmath rounds differently: its ids differ, the stored run is left alone
    monkeypatch.setattr(nnmath, "NUMERICS_VERSION", nnmath.NUMERICS_VERSION + 1)
    assert config.run_id != old_id
    assert store.get(config, 40) is None
    assert store.records() == []
    assert store.npz_path(old_id).exists()  # still on disk, until evicted


# ---- size bound -------------------------------------------------------------------------------
def test_least_recently_used_runs_are_evicted(tmp_path, split):
    small, train, dev = split
    store = make_store(tmp_path)
    configs = [
        RunConfig(data=small.fingerprint, seed=s, dev_size=dev.n, snapshot_every=20)
        for s in range(4)
    ]
    store.train(configs[0], 40, train, dev)
    one_run = store.total_bytes()
    bounded = RunStore(store.root, max_mb=2.5 * one_run / 2**20)
    for c in configs[1:]:
        bounded.train(c, 40, train, dev)
        assert bounded.total_bytes() <= bounded.max_bytes
    kept = {r.config.seed for r in bounded.records()}
    assert kept == {2, 3}, kept
    assert bounded.stats["evicted"] == 2
    # reading a run makes it recent: it survives the next eviction
    bounded.get(configs[2], 40)
    bounded.train(
        RunConfig(data=small.fingerprint, seed=9, dev_size=dev.n, snapshot_every=20), 40, train, dev
    )
    assert {r.config.seed for r in bounded.records()} == {2, 9}


# ---- concurrency ------------------------------------------------------------------------------
def test_concurrent_trainers_in_threads_train_once(tmp_path, split, config, monkeypatch):
    _, train, dev = split
    calls = []
    real = nnmath.gradient_descent
    started = threading.Event()

    def counting(*a, **k):
        calls.append(1)
        started.set()
        return real(*a, **k)

    monkeypatch.setattr(nnmath, "gradient_descent", counting)
    stores = [make_store(tmp_path) for _ in range(4)]
    with cf.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda s: s.train(config, 80, train, dev), stores))
    assert len(calls) == 1
    for r in results[1:]:
        same_run(results[0], r)
    assert sum(s.stats.get("served", 0) for s in stores) == 3


def _train_in_process(root, config_dict, iterations):
    from threadpoolctl import threadpool_limits

    from data import load_dataset, train_dev_split

    ds = load_dataset("sample")
    small = ds.subset(np.arange(0, ds.n, 5))
    train, dev = train_dev_split(small, dev_size=200, seed=0)
    store = RunStore(root)
    with threadpool_limits(limits=1, user_api="blas"):
        r = store.train(RunConfig.from_dict(config_dict), iterations, train, dev)
    return store.stats, r.params.W1.tobytes()


def test_concurrent_trainers_in_processes_train_once(tmp_path, config):
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(3, mp_context=ctx) as pool:
        futures = [
            pool.submit(_train_in_process, str(tmp_path / "runs"), config.to_dict(), 120)
            for _ in range(3)
        ]
        out = [f.result(timeout=120) for f in futures]
    assert sum(stats.get("trained", 0) for stats, _ in out) == 1
    assert sum(stats.get("served", 0) for stats, _ in out) == 2
    assert len({w for _, w in out}) == 1


def test_wait_unlocked_waits_for_a_trainer_to_finish(tmp_path):
    store = make_store(tmp_path)
    held, release = threading.Event(), threading.Event()

    def trainer():
        with store.lock("abc"):
            held.set()
            release.wait(5)

    t = threading.Thread(target=trainer)
    t.start()
    held.wait(5)
    assert store.wait_unlocked("abc", timeout=0.05) is False
    threading.Timer(0.1, release.set).start()
    assert store.wait_unlocked("abc", timeout=5) is True
    t.join()


# ---- calibration in the record ---------------------------------------------------------------
def test_records_carry_the_dev_ece_and_nll_of_the_saved_run(tmp_path, split, config):
    _, train, dev = split
    store = make_store(tmp_path)
    result = store.train(config, 40, train, dev)
    rec = store.records()[0]
    probs = nnmath.predict_proba(result.params, dev.X)
    assert rec.dev_ece == nnmath.reliability(probs, dev.labels, bins=15).ece
    assert rec.dev_nll == result.dev_loss
    assert rec.dev_nll == pytest.approx(nnmath.nll(probs, dev.labels), rel=1e-5)
    # a sweep's put with its dev set records it too; without one, ECE is unknown (NaN)
    other = RunConfig(data=config.data, dev_size=dev.n, hidden=12)
    assert store.put(other, compute(other, 20, train, dev), dev_set=dev)
    by_id = {r.run_id: r for r in store.records()}
    assert np.isfinite(by_id[other.run_id].dev_ece)
    third = RunConfig(data=config.data, dev_size=dev.n, hidden=14)
    store.put(third, compute(third, 20, train, dev))
    assert np.isnan({r.run_id: r for r in store.records()}[third.run_id].dev_ece)
    # extended: the record follows the longer run
    longer = store.train(config, 60, train, dev)
    rec = {r.run_id: r for r in store.records()}[config.run_id]
    probs = nnmath.predict_proba(longer.params, dev.X)
    assert rec.iterations == 60 and rec.dev_ece == nnmath.reliability(probs, dev.labels).ece


def test_a_diverged_run_records_the_ece_of_the_parameters_it_kept(tmp_path, split):
    small, train, dev = split
    store = make_store(tmp_path)
    config = RunConfig(data=small.fingerprint, dev_size=dev.n, alpha=1e6)
    result = store.train(config, 40, train, dev)
    assert result.status == "diverged" and result.params.is_finite()
    rec = store.records()[0]
    # the same parameters as its dev accuracy: the last finite ones
    probs = nnmath.predict_proba(result.params, dev.X)
    assert rec.dev_accuracy == result.dev_accuracy
    assert rec.dev_ece == nnmath.reliability(probs, dev.labels).ece


def test_dev_ece_is_nan_without_a_dev_set_or_with_non_finite_parameters(split, config):
    from dataclasses import replace

    from engine.store import dev_ece

    _, train, dev = split
    result = compute(config, 20, train, dev)
    assert np.isnan(dev_ece(result, None))
    broken = replace(result, params=replace(result.params, b2=np.full(10, np.nan, np.float32)))
    assert np.isnan(dev_ece(broken, dev))

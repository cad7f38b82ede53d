"""Issue 27, item 1: remote code execution through the Sweep page.

The attack: a Dask worker whose preload replaces the sweep's task returns an object whose
``__reduce__`` runs a command; the server unpickled it. Now the scheduler address is the host's
setting only, the sweep's client reads msgpack only (plain values) and every outcome is checked
(types, keys, npz headers, shapes, settings) before it touches the run store.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from data import train_dev_split
from engine import sweep
from engine.config import RunConfig
from engine.store import RunStore, compute
from tests.helpers import tiny_dataset

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
ITER = 20

# A worker preload, as in the reproduction: it swaps the sweep's task (pickled by reference, so
# the worker looks it up in engine.sweep) for one that answers with something hostile, chosen
# by the run's seed. Anything that unpickles an Evil object runs `touch <marker>`.
PRELOAD = """
import io, os
import numpy as np
import engine.sweep

MARKER = {marker!r}


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


def hostile_task(config, iterations, train_set, dev_set, start=None, signals=None, slots=None):
    honest = engine.sweep.compute(config, iterations, train_set, dev_set, workers=1)
    other = engine.sweep.compute(
        engine.sweep.dataclasses.replace(config, hidden=config.hidden + 1),
        iterations, train_set, dev_set, workers=1,
    )
    answers = {{
        0: lambda: Evil(),                                                   # the object itself
        1: lambda: {{"run_id": config.run_id, "result": Evil(), "error": None}},  # inside a dict
        2: lambda: {{"run_id": config.run_id, "result": b"not an npz", "error": None}},
        3: lambda: {{"run_id": config.run_id, "result": engine.sweep.encode_result(other),
                     "error": None}},                                        # other settings
        4: lambda: {{"run_id": config.run_id, "result": engine.sweep.encode_result(honest),
                     "error": None, "extra": 1}},                             # unknown key
        5: lambda: [config.run_id, np.zeros(3), None],                       # wrong type
    }}
    return answers[config.seed]()


engine.sweep.train_task = hostile_task
"""


@pytest.fixture
def split():
    ds = tiny_dataset()
    train, dev = train_dev_split(ds, dev_size=50, seed=0)
    return ds, train, dev


def test_a_hostile_worker_is_refused_and_nothing_runs(split, tmp_path):
    distributed = pytest.importorskip("distributed")
    ds, train, dev = split
    marker = tmp_path / "pwned"
    preload = tmp_path / "hostile_preload.py"
    preload.write_text(PRELOAD.format(marker=str(marker)))
    store = RunStore(tmp_path / "store")
    configs = sweep.expand_grid(
        RunConfig(data=ds.fingerprint, dev_size=dev.n, hidden=4), {"seed": list(range(6))}
    )
    plan = sweep.plan_sweep(store, configs, ITER)
    # A real worker process on loopback TCP: the results really cross a socket.
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            preload=[str(preload)],
        ) as cluster,
        sweep.connect_dask(cluster.scheduler_address).client as client,
        sweep.SweepExecution(store, plan, train, dev, backend="dask", client=client) as ex,
    ):
        final = list(ex.updates(interval=0.2))[-1]
    assert not marker.exists(), "an object from the worker was unpickled on the server"
    assert ex.error is None
    assert [r.status for r in final.runs] == ["failed"] * 6
    assert all(r.message.startswith("refused what the worker sent back") for r in final.runs)
    assert store.records() == []  # nothing hostile reached the store


def test_an_honest_worker_result_is_accepted_and_checked(split):
    ds, train, dev = split
    config = RunConfig(data=ds.fingerprint, dev_size=dev.n, hidden=4)
    tasks = {config.run_id: sweep.Task(config, ITER)}
    outcome = sweep.train_task(config, ITER, train, dev)
    assert set(outcome) == sweep.OUTCOME_KEYS and type(outcome["result"]) is bytes
    run_id, result, error = sweep.check_outcome(outcome, tasks)
    direct = compute(config, ITER, train, dev)
    assert (run_id, error) == (config.run_id, None)
    np.testing.assert_array_equal(result.params.W1, direct.params.W1)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_outcomes_that_are_not_plain_results_are_refused(split):
    ds, train, dev = split
    config = RunConfig(data=ds.fingerprint, dev_size=dev.n, hidden=4)
    tasks = {config.run_id: sweep.Task(config, ITER)}
    good = sweep.train_task(config, ITER, train, dev)["result"]
    other = sweep.encode_result(compute(dataclasses.replace(config, seed=1), ITER, train, dev))
    longer = sweep.encode_result(compute(config, ITER + 10, train, dev))
    objects = _npz(W1=np.array([object()], dtype=object))
    # an .npy header claiming far more data than the member holds (np.load would allocate it)
    liar = io.BytesIO()
    with zipfile.ZipFile(liar, "w") as z:
        z.writestr(
            "meta.npy",
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
            b"'shape': (100000000000,), }" + b" " * 44 + b"\n",
        )
    cases = [
        None,
        "text",
        (config.run_id, good, None),
        {"run_id": config.run_id, "result": good},
        {"run_id": config.run_id, "result": good, "error": None, "more": 1},
        {"run_id": "someone-else", "result": good, "error": None},
        {"run_id": 7, "result": good, "error": None},
        {"run_id": config.run_id, "result": bytearray(good), "error": None},
        {"run_id": config.run_id, "result": b"PK\x03\x04 broken", "error": None},
        {"run_id": config.run_id, "result": objects, "error": None},
        {"run_id": config.run_id, "result": liar.getvalue(), "error": None},
        {"run_id": config.run_id, "result": other, "error": None},
        {"run_id": config.run_id, "result": longer, "error": None},
        {"run_id": config.run_id, "result": good + b"\0" * (1 << 24), "error": None},
        {"run_id": config.run_id, "result": good, "error": "both"},
        {"run_id": config.run_id, "result": None, "error": b"bytes"},
    ]
    for outcome in cases:
        with pytest.raises(sweep.InvalidOutcome):
            sweep.check_outcome(outcome, tasks)
    # an error is text, cut to a bounded length
    _, result, error = sweep.check_outcome(
        {"run_id": config.run_id, "result": None, "error": "x" * 10**6}, tasks
    )
    assert result is None and len(error) == sweep.MAX_ERROR_CHARS


def test_the_scheduler_address_is_never_taken_from_the_page(monkeypatch):
    monkeypatch.delenv(sweep.DASK_ENV, raising=False)
    assert list(inspect.signature(sweep.resolve_scheduler).parameters) == ["secrets", "environ"]
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/7_sweep.py").run()
    assert not at.exception
    assert not [
        w for w in at.text_input if "scheduler" in w.label.lower() or "dask" in w.label.lower()
    ]
    assert any("none is configured" in c.value for c in at.caption)

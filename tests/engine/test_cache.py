"""engine.cache: weighing cached objects, and an LRU that stays under a byte budget, thread-safe and
single-flight; then the app's use of it (engine.runs through ui.session) and the size of a session's state."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset
from engine.cache import MB, ByteLRU, nbytes

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@dataclass(frozen=True)
class Holder:
    a: np.ndarray
    b: dict


def test_nbytes_counts_each_buffer_once_through_views_and_containers():
    big = np.zeros((1000, 784), np.uint8)  # 784,000 bytes
    small = np.ones(10, np.float64)  # 80 bytes
    h = Holder(big, {"view": big.reshape(1000, 28, 28), "again": [big[:10], small]})
    size = nbytes(h)
    assert 784_080 <= size < 784_080 + 4096  # the arrays once, plus a little for the containers
    ds = Dataset(np.zeros((500, 28, 28), np.uint8), np.zeros(500, np.uint8), "x", "t")
    assert 500 * 785 <= nbytes((ds, ds.X, ds.images)) < 500 * 785 + 4096


def test_least_recently_used_entries_go_first_and_the_total_stays_under_budget():
    lru = ByteLRU(3000, weigh=lambda v: v.nbytes)
    arrays = {k: np.zeros(1000, np.uint8) for k in "abcd"}
    for k in "abc":
        lru.get(k, lambda k=k: arrays[k])
    assert lru.get("a", lambda: pytest.fail("a is cached")) is arrays["a"]  # a is now recent
    lru.get("d", lambda: arrays["d"])  # 4000 > 3000: b, the least recently used, goes
    assert "b" not in lru and all(k in lru for k in "acd")
    stats = lru.stats()
    assert stats.bytes == 3000 <= stats.max_bytes and stats.evictions == 1
    assert (stats.hits, stats.misses) == (1, 4)


def test_an_entry_larger_than_the_budget_is_returned_but_not_kept():
    lru = ByteLRU(MB, weigh=lambda v: v.nbytes)
    lru.get("small", lambda: np.zeros(1000, np.uint8))
    huge = np.zeros(2 * MB, np.uint8)
    assert lru.get("huge", lambda: huge) is huge
    assert "huge" not in lru and "small" in lru and lru.stats().too_large == 1


def test_one_computation_when_many_threads_ask_for_the_same_missing_key():
    lru = ByteLRU(MB)
    calls = []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(5)  # every thread has asked by the time this returns
        return np.arange(10)

    results = [None] * 8

    def ask(i):
        results[i] = lru.get("k", compute)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while lru.stats().misses < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and all(r is results[0] for r in results)


def test_a_failed_computation_is_not_cached_and_does_not_block_the_key():
    lru = ByteLRU(MB)
    with pytest.raises(RuntimeError):
        lru.get("k", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert "k" not in lru and lru.get("k", lambda: 7) == 7


def test_discard_and_bad_budget():
    lru = ByteLRU(MB)
    for k in range(4):
        lru.get(("run", k), lambda: np.zeros(100))
    assert lru.discard(lambda key: key[1] % 2 == 0) == 2 and len(lru) == 2
    with pytest.raises(ValueError, match=r"max_bytes must be an integer >= 0, got -1"):
        ByteLRU(-1)


# ---- the app's caches -------------------------------------------------------------------------
def test_the_app_keeps_datasets_runs_and_evaluations_in_one_budget(monkeypatch):
    from engine.config import Settings
    from ui import session

    monkeypatch.setenv("NNMATH_CACHE_MB", "20")
    memory = session.memory()
    assert memory.max_bytes == 20 * MB
    memory.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(hidden="12", iterations="30")
    at.switch_page("pages/3_evaluate.py")
    at.run()
    assert not at.exception, at.exception
    kinds = {}
    for key, size in memory.sizes().items():
        kinds[key[0]] = kinds.get(key[0], 0) + size
    # the sample with its split: 5,000 + 4,000 + 1,000 images of 785 bytes each
    assert 7_850_000 <= kinds["split"] < 7_850_000 + 64 * 1024
    assert "evaluation" in kinds and memory.stats().bytes <= 20 * MB
    # a budget too small for the dataset: served every time, never kept, nothing breaks
    monkeypatch.setenv("NNMATH_CACHE_MB", "1")
    small = session.memory()
    small.clear()
    run = session.lookup(Settings(hidden=12, iterations=30))
    assert run.result is not None and run.train.n == 4000
    assert small.stats().bytes <= MB and small.stats().too_large >= 1


def test_a_sessions_state_stays_small_after_every_page():
    """Streamlit keeps a session's state after its tab closes (until the session is dropped), so
    nothing big may live there: no dataset, run or image array."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(hidden="12", iterations="30")
    at.run()
    for page in ("pages/2_train.py", "pages/3_evaluate.py", "pages/4_mistakes.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
    state = at.session_state.to_dict()
    assert "settings" in state
    arrays = [k for k, v in state.items() if isinstance(v, np.ndarray) and v.nbytes > 1024]
    assert not arrays, f"large arrays in session_state: {arrays}"
    assert nbytes(state) < 64 * 1024, {k: nbytes(v) for k, v in state.items()}
    # everything Streamlit keeps for the session, keyless widgets included
    assert nbytes(at.session_state._state._state) < 256 * 1024

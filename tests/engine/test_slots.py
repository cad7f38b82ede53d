"""The training queue: at most N trainings at once across threads and processes, in order, with
"runs ahead of yours", leaving the queue, and slots and places freed by a process that dies."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from engine.slots import Cancelled, TrainingSlots

REPO = Path(__file__).resolve().parents[2]


def holder(slots: TrainingSlots, started: queue.Queue, release: threading.Event, log=None):
    """A thread body: wait for a slot (reporting to ``log``), say so, hold it until released."""

    def waiting(ahead, busy):
        if log is not None:
            log.append((ahead, busy))
            started.put(("waiting", ahead, busy))

    with slots.acquire(waiting, poll=0.01) as k:
        started.put(("got", k))
        release.wait(30)


def start(slots, release, log=None):
    events: queue.Queue = queue.Queue()
    t = threading.Thread(target=holder, args=(slots, events, release, log), daemon=True)
    t.start()
    return t, events


def test_at_most_n_at_once_and_the_next_one_gets_the_freed_slot(tmp_path):
    slots = TrainingSlots(tmp_path, 2)
    first, second, third = threading.Event(), threading.Event(), threading.Event()
    t1, e1 = start(slots, first)
    t2, e2 = start(slots, second)
    assert {e1.get(timeout=10)[1], e2.get(timeout=10)[1]} == {0, 1}
    assert slots.busy() == 2
    log: list = []
    t3, e3 = start(slots, third, log)
    assert e3.get(timeout=10) == ("waiting", 0, 2)  # nobody queued ahead, both slots busy
    first.set()
    while (event := e3.get(timeout=10))[0] == "waiting":
        pass
    assert event[0] == "got"
    second.set(), third.set()
    for t in (t1, t2, t3):
        t.join(10)
    assert slots.busy() == 0 and list(slots.queue.iterdir()) == []


def test_waiters_are_served_in_order_and_told_how_many_are_ahead(tmp_path):
    slots = TrainingSlots(tmp_path, 1)
    release = [threading.Event() for _ in range(3)]
    t0, e0 = start(slots, release[0])
    assert e0.get(timeout=10)[0] == "got"
    ta, ea = start(slots, release[1], [])
    assert ea.get(timeout=10)[:2] == ("waiting", 0)
    tb, eb = start(slots, release[2], [])
    assert eb.get(timeout=10)[:2] == ("waiting", 1), "one run is ahead of the second waiter"
    release[0].set()
    while (event := ea.get(timeout=10))[0] == "waiting":
        pass
    assert event[0] == "got"
    # B is still waiting, now with nobody ahead of it (A trains)
    while (event := eb.get(timeout=10))[1] != 0:
        pass
    assert event == ("waiting", 0, 1)
    release[1].set(), release[2].set()
    for t in (t0, ta, tb):
        t.join(10)


def test_leaving_the_queue_raises_cancelled_and_frees_the_place(tmp_path):
    slots = TrainingSlots(tmp_path, 1)
    calls = []
    leave = slots.acquire(lambda ahead, busy: calls.append(busy) or len(calls) == 3, poll=0)
    with slots.acquire():
        with pytest.raises(Cancelled), leave:
            pytest.fail("must not get a slot while the only one is held")
        assert calls == [1, 1, 1]
        assert slots.ahead_of(None) == 0
    with slots.acquire() as k:
        assert k == 0


def child(code: str, root: Path) -> subprocess.Popen:
    prelude = f"import sys\nfrom engine.slots import TrainingSlots\nslots = TrainingSlots({str(root)!r}, 1)\n"
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


def test_a_killed_process_frees_its_slot_and_its_place_in_the_queue(tmp_path):
    owner = child(
        """
        with slots.acquire():
            print("got", flush=True)
            sys.stdin.readline()
        """,
        tmp_path,
    )
    queued = None
    try:
        assert owner.stdout.readline().strip() == b"got"
        slots = TrainingSlots(tmp_path, 1)
        assert slots.busy() == 1
        queued = child(
            """
            with slots.acquire(lambda ahead, busy: print("queued", flush=True) or None, poll=0.05):
                print("got", flush=True)
            """,
            tmp_path,
        )
        assert queued.stdout.readline().strip() == b"queued"
        assert slots.ahead_of(None) == 1
        queued.send_signal(signal.SIGKILL)
        queued.wait(30)
        assert slots.ahead_of(None) == 0, "a dead waiter's ticket is removed"
        owner.send_signal(signal.SIGKILL)
        owner.wait(30)
        assert slots.busy() == 0, "the kernel frees a dead process's slot"
        with slots.acquire(lambda ahead, busy: pytest.fail("must not wait")):
            pass
    finally:
        for p in (owner, queued):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def test_slots_must_be_at_least_one(tmp_path):
    with pytest.raises(ValueError, match=r"n \(trainings at once\) must be >= 1, got 0"):
        TrainingSlots(tmp_path, 0)


def test_the_store_queues_a_training_and_stop_while_queued_trains_nothing(tmp_path):
    from engine.config import RunConfig
    from engine.store import RunStore
    from tests.helpers import tiny_dataset

    ds = tiny_dataset(100)
    train, dev = ds.subset(range(80)), ds.subset(range(80, 100))
    store = RunStore(tmp_path / "store")
    config = RunConfig(data=ds.fingerprint, dev_size=dev.n)
    slots = TrainingSlots(store.root / "slots", 1)
    seen = []
    with slots.acquire(), pytest.raises(Cancelled):  # another training holds the only slot
        store.train(
            config, 20, train, dev, slots=slots, waiting=lambda a, b: seen.append((a, b)) or True
        )
    assert seen == [(0, 1)]
    assert store.records() == [] and store.latest(config) is None
    # with the slot free it trains at once, without waiting
    result = store.train(config, 20, train, dev, slots=slots, waiting=lambda a, b: pytest.fail())
    assert result.iterations == 20 and store.stats["trained"] == 1


# ---- the time limit per training ----------------------------------------------------------------
def test_a_time_limit_stops_a_callback_at_its_deadline_and_says_so(monkeypatch):
    from engine.slots import TimeLimit, stopped_by_limit
    from tests.helpers import tick_time_limit

    tick_time_limit(monkeypatch, 100)
    limit = TimeLimit(350)
    asked = []
    stop = limit.wrap(lambda p: asked.append(p))  # deadline: 100 + 350
    # the clock reads 200, 300, 400, 500, 600: past 450 from the fourth call on
    assert [stop(i) for i in range(5)] == [None, None, None, True, True]
    assert limit.reached and asked == [0, 1, 2, 3, 4]  # the caller's callback still hears each
    assert stopped_by_limit(limit.message(1234))
    assert limit.message(1234) == (
        "stopped at this server's limit of 350 s of training per run, at iteration 1,234"
    )
    # a caller that stops first is obeyed, and the limit is not blamed
    mine = TimeLimit(10**6)
    assert mine.wrap(lambda p: True)(0) is True and not mine.reached
    assert not stopped_by_limit("stopped by the caller at iteration 5")
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="must be > 0"):
            TimeLimit(bad)
        with pytest.raises(ValueError, match="max_seconds must be > 0 or None"):
            TrainingSlots("unused", 1, bad)


def test_a_training_past_the_limit_is_stopped_kept_and_continues_bit_for_bit(tmp_path, monkeypatch):
    from engine.config import RunConfig
    from engine.slots import stopped_by_limit
    from engine.store import RunStore
    from nnmath import Status
    from tests.helpers import tick_time_limit, tiny_dataset

    ds = tiny_dataset(100)
    train, dev = ds.subset(range(80)), ds.subset(range(80, 100))
    config = RunConfig(data=ds.fingerprint, dev_size=dev.n)
    store = RunStore(tmp_path / "store")
    slots = TrainingSlots(store.root / "slots", 1, max_seconds=55)
    assert TrainingSlots(tmp_path / "free", 1).limit() is None
    tick_time_limit(monkeypatch, 10)  # 10 s per callback
    first = store.train(config, 200, train, dev, slots=slots, callback_every=10)
    # the deadline is 10 + 55 s; the callbacks at iterations 10, 20, ..., 60 read 20, 30, ..., 70
    assert first.status == Status.STOPPED and first.iterations == 60
    assert stopped_by_limit(first.message) and first.message.endswith("at iteration 60")
    kept = store.latest(config)
    assert kept.iterations == 60 and stopped_by_limit(kept.message)  # saved with its reason
    tick_time_limit(monkeypatch, 0)  # time stands still
    done = store.train(config, 200, train, dev, slots=slots, callback_every=10)
    assert done.status == Status.FINISHED and done.iterations == 200
    unbroken = RunStore(tmp_path / "other").train(config, 200, train, dev)
    np.testing.assert_array_equal(done.params.W1, unbroken.params.W1)
    np.testing.assert_array_equal(done.params.W2, unbroken.params.W2)

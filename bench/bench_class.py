"""A class on one server: N sessions open Train links on one served app at the same time.

    python -m bench.bench_class          (BENCH_QUICK=1: fewer iterations, 4 and 8 sessions)
    BENCH_CLASS_SESSIONS=8,16,32 python -m bench.bench_class
    python -m bench.bench_class records  (the class record alone: SQLite, then PostgreSQL)

Each variant starts ``streamlit run streamlit_app.py`` on a free loopback port with an empty run
store (NNMATH_RUNS_DIR in a temporary folder) and opens its sessions at once. A session is driven
the way the browser drives it, over Streamlit's websocket (``/_stcore/stream``): one BackMsg
``rerun_script`` with the link's query string and page name, then ForwardMsgs are read until the
script finishes. The final result is the "Dev accuracy" metric the Train page draws at the end;
its time is measured from the moment all sessions were sent off. This costs the bench almost
nothing, so the figures are the server's.

Variants:
- N sessions, each a different Train link (hidden 10+i, seed i): N trainings at once;
- N sessions, all the same link: trained once, the others wait on the run's lock and read it;
- 60,000 images: N/4, then 3N/4 different links trained at once (peak RSS against trainings in
  flight); then a fresh server, whose run store now has all N runs, gets the N links at once
  (dataset, runs and evaluations fill its caches): peak RSS with a full-size dataset;
- Chromium: a few real browser tabs (Playwright) open different links at once;
- the class record (engine.classroom): 30 students (threads, as Streamlit runs one per session)
  join one class and answer a lesson's questions at once, on SQLite (the default file, WAL,
  synchronous=FULL) and on a local PostgreSQL (bench.postgres, fsync on). Each answer's time is
  measured around ``Classroom.record`` (it returns once committed); afterwards every answer is
  read back (none may be missing), and the RSS of this process, which holds the Classroom as the
  app server does, is sampled throughout.

Every session's numbers (dev accuracy, train accuracy, loss as the page prints them) are checked
against the run store's result for that link's settings, and a few of those results against a
fresh nnmath computation in this process (bit for bit). Server CPU seconds and peak RSS are read
with psutil on the server's process tree (sampled every 50 ms).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import psutil

from bench.bench_browser import _chromium, serve

ROOT = Path(__file__).resolve().parents[1]
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SESSIONS = tuple(
    int(n) for n in os.environ.get("BENCH_CLASS_SESSIONS", "4,8" if QUICK else "8,16").split(",")
)
ITERATIONS = 100 if QUICK else 500  # the notebook's 500 on the embedded sample
BIG_IMAGES = 60_000
BIG_ITERATIONS = 20 if QUICK else 50
BROWSER_TABS = 2 if QUICK else 3
SESSION_TIMEOUT = 900.0  # seconds for one session to reach its final result
START_TIMEOUT = 60.0
FINAL_METRIC = "Dev accuracy"
SHOWN = ("Dev accuracy", "Train accuracy", "Loss")


# ---- the served app -----------------------------------------------------------------------------
class Server:
    """``streamlit run streamlit_app.py`` on a free loopback port, with its own run store; samples
    the RSS of its process tree every 50 ms while :meth:`watch` is active."""

    def __init__(self, runs_dir: Path, env: dict[str, str] | None = None):
        self.proc, self.url, self.port = serve(runs_dir, env, timeout=START_TIMEOUT)
        self.process = psutil.Process(self.proc.pid)
        self.peak_rss = 0
        self._watching = threading.Event()

    def tree(self) -> list[psutil.Process]:
        try:
            return [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> int:
        total = 0
        for p in self.tree():
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.tree():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def watch(self):
        """Context manager: sample the peak RSS while the body runs."""
        server = self

        class _Watch:
            def __enter__(self):
                server._watching.set()
                self.thread = threading.Thread(target=server._sample, daemon=True)
                self.thread.start()
                return server

            def __exit__(self, *exc):
                server._watching.clear()
                self.thread.join(5)

        return _Watch()

    def _sample(self):
        while self._watching.is_set():
            self.peak_rss = max(self.peak_rss, self.rss())
            time.sleep(0.05)  # the sampling period, not synchronisation

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


# ---- one session over Streamlit's websocket ------------------------------------------------------
@dataclass
class Outcome:
    query: dict
    seconds: float = float("nan")  # until the final result (the "Dev accuracy" metric) arrived
    finished: float = float("nan")  # until the script finished
    shown: dict = field(default_factory=dict)  # metric label -> text, as the page shows it
    errors: list = field(default_factory=list)


def back_msg_rerun(query: dict, page_name: str) -> bytes:
    """The BackMsg the browser sends to run a page: ClientState with the URL's query string and
    the page's URL path (st.navigation finds the page by it)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.query_string = urlencode(query)
    msg.rerun_script.page_name = page_name
    return msg.SerializeToString()


def read_forward_msg(raw: bytes, outcome: Outcome, t0: float) -> bool:
    """Record what one ForwardMsg shows; True when the script run has finished."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    msg.ParseFromString(raw)
    kind = msg.WhichOneof("type")
    if kind == "script_finished":
        outcome.finished = time.perf_counter() - t0
        status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
        if status != "FINISHED_SUCCESSFULLY":
            outcome.errors.append(f"script finished with {status}")
        return True
    if kind != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return False
    element = msg.delta.new_element
    what = element.WhichOneof("type")
    if what == "metric":
        outcome.shown[element.metric.label] = element.metric.body
        if element.metric.label == FINAL_METRIC:
            outcome.seconds = time.perf_counter() - t0
    elif what == "exception":
        outcome.errors.append(f"exception: {element.exception.type}: {element.exception.message}")
    elif what == "alert" and element.alert.format == element.alert.ERROR:
        outcome.errors.append(f"error: {element.alert.body[:200]}")
    return False


async def open_link(port: int, query: dict, page_name: str, t0: float) -> Outcome:
    from websockets.asyncio.client import connect

    outcome = Outcome(query)
    try:
        async with asyncio.timeout(SESSION_TIMEOUT):
            async with connect(
                f"ws://127.0.0.1:{port}/_stcore/stream",
                subprotocols=["streamlit"],
                max_size=None,
                ping_interval=None,  # the server may be too busy training to answer pings
            ) as ws:
                await ws.send(back_msg_rerun(query, page_name))
                async for raw in ws:
                    if read_forward_msg(raw, outcome, t0):
                        break
    except TimeoutError:
        outcome.errors.append(f"no final result within {SESSION_TIMEOUT:.0f} s")
    except Exception as e:  # a refused or dropped connection is a result of the bench too
        outcome.errors.append(f"{type(e).__name__}: {e}")
    if FINAL_METRIC not in outcome.shown and not outcome.errors:
        outcome.errors.append(f"the page finished without showing {FINAL_METRIC!r}")
    return outcome


def open_all(port: int, queries: list[dict], page_name: str = "train") -> list[Outcome]:
    """Every link opened at once, each in its own session (websocket)."""

    async def run():
        t0 = time.perf_counter()
        return await asyncio.gather(*(open_link(port, q, page_name, t0) for q in queries))

    return asyncio.run(run())


# ---- what each session should show -----------------------------------------------------------
def link(data_key: str, hidden: int, seed: int, iterations: int) -> dict:
    return {
        "data": data_key,
        "hidden": hidden,
        "alpha": 0.1,
        "iterations": iterations,
        "seed": seed,
    }


def config_of(query: dict, ds, dev):
    from engine.config import RunConfig

    return RunConfig(
        data=ds.fingerprint,
        hidden=int(query["hidden"]),
        alpha=float(query["alpha"]),
        seed=int(query["seed"]),
        dev_size=dev.n,
        split_seed=0,
    )


def shown_numbers(result) -> dict:
    """The three numbers as the Train page prints them (views.format)."""
    from views.format import number, pct

    return {
        "Dev accuracy": pct(result.dev_accuracy),
        "Train accuracy": pct(result.train_accuracy),
        "Loss": number(result.loss, ".3f"),
    }


def check(outcomes, runs_dir: Path, ds, train, dev, recompute: int):
    """(sessions showing their own run's numbers, (runs recomputed bit-identically, runs
    recomputed), problems). Up to ``recompute`` distinct runs are recomputed here."""
    from engine.store import RunStore, compute

    store = RunStore(runs_dir)
    right, identical, problems = 0, 0, []
    checked_configs = set()
    for o in outcomes:
        config = config_of(o.query, ds, dev)
        stored = store.get(config, int(o.query["iterations"]))
        if stored is None:
            problems.append(f"{o.query}: no run in the store")
            continue
        want = shown_numbers(stored)
        if all(o.shown.get(k) == v for k, v in want.items()):
            right += 1
        else:
            problems.append(f"{o.query}: shows {o.shown}, its run has {want}")
        if len(checked_configs) < recompute and config.run_id not in checked_configs:
            checked_configs.add(config.run_id)
            fresh = compute(config, int(o.query["iterations"]), train, dev)
            same = np.array_equal(fresh.params.W1, stored.params.W1) and np.array_equal(
                fresh.history.loss, stored.history.loss
            )
            identical += same
            if not same:
                problems.append(f"{o.query}: the stored run differs from a fresh computation")
    return right, (identical, len(checked_configs)), problems


# ---- variants -------------------------------------------------------------------------------
@dataclass
class Row:
    what: str
    sessions: int
    outcomes: list
    cpu: float
    peak_rss: int
    right: int
    recomputed: tuple[int, int]

    def cells(self) -> list[str]:
        times = sorted(o.seconds for o in self.outcomes if o.seconds == o.seconds)
        errors = sum(bool(o.errors) for o in self.outcomes)

        def q(p):
            if not times:
                return "—"
            return f"{times[min(len(times) - 1, int(np.ceil(p * len(times))) - 1)]:.1f}"

        return [
            self.what,
            str(self.sessions),
            f"{statistics.median(times):.1f}" if times else "—",
            q(0.95),
            f"{max(times):.1f}" if times else "—",
            f"{self.cpu:.1f}",
            f"{self.peak_rss / 2**20:.0f}",
            str(errors),
            f"{self.right}/{self.sessions}",
            f"{self.recomputed[0]}/{self.recomputed[1]}",
        ]


HEADER = [
    "variant",
    "sessions",
    "p50 s",
    "p95 s",
    "max s",
    "server CPU s",
    "peak RSS MB",
    "errors",
    "own numbers",
    "recomputed identical",
]


def measured(server: Server, queries, what, ds, train, dev, runs_dir, recompute=2) -> Row:
    cpu0 = server.cpu_seconds()
    with server.watch():
        outcomes = open_all(server.port, queries)
    cpu = server.cpu_seconds() - cpu0
    right, recomputed, problems = check(outcomes, runs_dir, ds, train, dev, recompute)
    for o in outcomes:
        for e in o.errors:
            problems.append(f"{o.query}: {e}")
    for p in problems[:10]:
        print(f"  ! {what}: {p}", flush=True)
    return Row(what, len(queries), outcomes, cpu, server.peak_rss, right, recomputed)


def sample_variants(n: int) -> list[Row]:
    from data import load_dataset, train_dev_split

    ds = load_dataset("sample")
    train, dev = train_dev_split(ds, seed=0)
    rows = []
    different = [link("sample", 10 + i, i, ITERATIONS) for i in range(n)]
    same = [link("sample", 10, 0, ITERATIONS)] * n
    for what, queries in ((f"{n} different links", different), (f"{n} same link", same)):
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(Path(tmp))
            try:
                rows.append(measured(server, queries, what, ds, train, dev, Path(tmp)))
            finally:
                server.stop()
        print(" | ".join(rows[-1].cells()), flush=True)
    return rows


def big_dataset(n: int = BIG_IMAGES):
    """n MNIST-like images: the embedded sample repeated, each copy shifted by up to 2 pixels
    (real pixel statistics and all-zero border columns, as in full MNIST)."""
    from data import Dataset, load_dataset

    sample = load_dataset("sample")
    rng = np.random.default_rng(0)
    images, labels = [], []
    for _ in range(0, n, sample.n):
        dy, dx = rng.integers(-2, 3, size=2)
        images.append(np.roll(sample.images, (int(dy), int(dx)), axis=(1, 2)))
        labels.append(sample.labels)
    images = np.concatenate(images)[:n]
    labels = np.concatenate(labels)[:n]
    return Dataset(images, labels, f"MNIST-like ({n:,}: the sample x12, shifted)", "bench")


def big_variants(n: int) -> list[Row]:
    """60,000 images: n/4 sessions, then the other 3n/4, train different links at once (a fresh
    server each time: peak RSS against the number of trainings in flight); then a fresh server,
    with all n runs in its store, gets the n links at once, which fills its caches (the dataset
    with its split, n runs, n evaluations) without any training."""
    from data import train_dev_split
    from engine.datasets import save_upload
    from engine.store import RunStore

    ds = big_dataset()
    train, dev = train_dev_split(ds, seed=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp)
        key = save_upload(ds, RunStore(runs_dir).uploads_dir)
        queries = [link(key, 10 + i, i, BIG_ITERATIONS) for i in range(n)]
        few = max(1, n // 4)  # the memory of training: per run in flight, from two points
        for what, some, recompute in (
            (f"60,000 images: {few} train at once", queries[n - few :], 1),
            (f"60,000 images: {n - few} more train at once", queries[: n - few], 1),
            (f"60,000 images: {n} open their runs (fresh server)", queries, 0),
        ):
            server = Server(runs_dir)
            try:
                rows.append(measured(server, some, what, ds, train, dev, runs_dir, recompute))
            finally:
                server.stop()
            print(" | ".join(rows[-1].cells()), flush=True)
    return rows


def browser_variant(tabs: int) -> Row:
    """A few real Chromium tabs (each its own browser context, so its own session) opening
    different Train links at once; time until each shows its final dev accuracy."""
    from playwright.sync_api import sync_playwright

    from data import load_dataset, train_dev_split

    ds = load_dataset("sample")
    train, dev = train_dev_split(ds, seed=0)
    queries = [link("sample", 40 + i, 100 + i, ITERATIONS) for i in range(tabs)]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        server = Server(Path(tmp))
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            pages = [browser.new_context().new_page() for _ in queries]
            cpu0 = server.cpu_seconds()
            outcomes = [Outcome(q) for q in queries]
            with server.watch():
                t0 = time.perf_counter()
                for page, q in zip(pages, queries):
                    page.goto(f"{server.url}/train?{urlencode(q)}", wait_until="commit")
                for page, o in zip(pages, outcomes):
                    metric = page.locator('[data-testid="stMetric"]').filter(has_text=FINAL_METRIC)
                    try:
                        metric.first.wait_for(timeout=SESSION_TIMEOUT * 1000)
                        o.seconds = time.perf_counter() - t0
                        for label in SHOWN:
                            m = page.locator('[data-testid="stMetric"]').filter(has_text=label)
                            o.shown[label] = (
                                m.first.locator('[data-testid="stMetricValue"]').inner_text()
                            ).strip()
                    except Exception as e:
                        o.errors.append(f"{type(e).__name__}: {e}")
            cpu = server.cpu_seconds() - cpu0
        finally:
            browser.close()
            server.stop()
        right, recomputed, problems = check(outcomes, Path(tmp), ds, train, dev, 1)
    for p_ in problems[:10]:
        print(f"  ! chromium: {p_}", flush=True)
    return Row(
        f"Chromium, {tabs} tabs, different links",
        tabs,
        outcomes,
        cpu,
        server.peak_rss,
        right,
        recomputed,
    )


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


# ---- the class record: 30 students answering at once ------------------------------------------
CLASS_STUDENTS = 30
CLASS_ANSWERS = 10 if QUICK else 40  # answers per student (a lesson has ~10 questions)


@dataclass
class ClassRow:
    backend: str
    students: int
    answers: int  # recorded
    stored: int  # read back
    join_times: list
    answer_times: list
    seconds: float
    rss_before: int
    rss_peak: int

    def cells(self) -> list[str]:
        def q(xs, p):
            xs = sorted(xs)
            return xs[min(len(xs) - 1, int(np.ceil(p * len(xs))) - 1)] * 1000

        return [
            self.backend,
            str(self.students),
            f"{self.stored:,} of {self.answers:,}",
            f"{q(self.join_times, 0.95):.0f}",
            f"{q(self.answer_times, 0.5):.1f}",
            f"{q(self.answer_times, 0.95):.1f}",
            f"{max(self.answer_times) * 1000:.0f}",
            f"{self.answers / self.seconds:.0f}",
            f"{self.rss_before / 2**20:.0f} → {self.rss_peak / 2**20:.0f}",
        ]


CLASS_HEADER = [
    "database",
    "students",
    "answers stored",
    "join p95 ms",
    "answer p50 ms",
    "answer p95 ms",
    "answer max ms",
    "answers/s",
    "server RSS MB (before → peak)",
]


def class_record(url: str, backend: str) -> ClassRow:
    """CLASS_STUDENTS threads join one class at once and each records CLASS_ANSWERS answers;
    every answer is then read back."""
    from engine.classroom import Classroom

    me = psutil.Process()
    room = Classroom(url)
    code, key = room.create("bench")
    start = threading.Barrier(CLASS_STUDENTS + 1)
    joins, answers, errors = [], [], []
    lock = threading.Lock()

    def student(i: int) -> None:
        try:
            start.wait()
            t = time.perf_counter()
            sid = room.join(code, f"student {i}")
            took = [time.perf_counter() - t]
            for j in range(CLASS_ANSWERS):
                t = time.perf_counter()
                room.record(sid, "bench", f"q{j}", i * 1000 + j)
                took.append(time.perf_counter() - t)
            with lock:
                joins.append(took[0])
                answers.extend(took[1:])
        except Exception as e:  # noqa: BLE001 - counted below: an error is a result
            with lock:
                errors.append(f"{type(e).__name__}: {e}")

    rss_before = me.memory_info().rss
    peak = [rss_before]
    sampling = threading.Event()
    sampling.set()

    def sample():
        while sampling.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.02)  # the sampling period, not synchronisation

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=student, args=(i,)) for i in range(CLASS_STUDENTS)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    sampling.clear()
    sampler.join()
    want = {i * 1000 + j for i in range(CLASS_STUDENTS) for j in range(CLASS_ANSWERS)}
    got = [v for r in room.records(code, key) for v in [r.value]]
    stored = len(want & set(got))
    for e in errors[:5]:
        print(f"  ! {backend}: {e}", flush=True)
    if stored != len(want) or len(got) != len(want):
        print(f"  ! {backend}: {len(want) - stored} answers missing, {len(got)} stored", flush=True)
    room.delete(code, key)
    room.close()
    return ClassRow(
        backend,
        CLASS_STUDENTS,
        len(want),
        stored,
        joins,
        answers,
        seconds,
        rss_before,
        peak[0],
    )


def class_variants() -> list[ClassRow]:
    from bench.postgres import PostgresUnavailable, local_postgres, new_database

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(class_record(f"sqlite:///{Path(tmp) / 'classes.sqlite'}", "SQLite (WAL, FULL)"))
    print(" | ".join(rows[-1].cells()), flush=True)
    try:
        with local_postgres(durable=True) as server:
            url = new_database(server, "bench_class")
            rows.append(class_record(url, "PostgreSQL 127.0.0.1 (fsync on)"))
        print(" | ".join(rows[-1].cells()), flush=True)
    except PostgresUnavailable as e:
        print(f"  ! PostgreSQL: {e}", flush=True)
    return rows


def class_table(rows: list[ClassRow]) -> str:
    lines = ["| " + " | ".join(CLASS_HEADER) + " |", "|" + "---|" * len(CLASS_HEADER)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def records_main() -> None:
    print(
        f"{CLASS_STUDENTS} students (threads) join one class at once and record "
        f"{CLASS_ANSWERS} answers each; times around join() and record() (committed).\n",
        flush=True,
    )
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = class_variants()
    print(f"load average after: {os.getloadavg()}", flush=True)
    print()
    print(class_table(rows))


def main() -> None:
    print(
        f"Train links on the embedded sample at {ITERATIONS} iterations (hidden 10+i, seed i); "
        f"60,000 images at {BIG_ITERATIONS} iterations; times from sending every session off "
        f"to each one's final dev accuracy.\n",
        flush=True,
    )
    rows = []
    print(f"load average before: {os.getloadavg()}", flush=True)
    for n in SESSIONS:
        rows += sample_variants(n)
    rows += big_variants(max(SESSIONS))
    rows.append(browser_variant(BROWSER_TABS))
    class_rows = class_variants()
    print(f"load average after: {os.getloadavg()}", flush=True)
    print()
    print(table(rows))
    print()
    print(class_table(class_rows))


if __name__ == "__main__":
    import sys

    records_main() if sys.argv[1:] == ["records"] else main()

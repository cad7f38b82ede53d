"""engine.classroom: the class API, the same tests on SQLite and on a real PostgreSQL server
(tests/conftest.py's ``postgres_server``: with CI=true a missing server is a failure)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest
import sqlalchemy as sa

from engine import classroom as cr
from engine.classroom import NO_ACCESS, Classroom

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'classes.sqlite'}"
    from bench.postgres import new_database

    server = request.getfixturevalue("postgres_server")
    return new_database(server, f"t_{os.getpid()}_{next(_names)}")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def room(url):
    r = Classroom(url)
    yield r
    r.close()


def test_a_class_records_answers_runs_and_the_roster(room):
    code, key = room.create("  Year 11   maths ")
    assert len(code) == cr.CODE_LENGTH and set(code) <= set(cr.CODE_ALPHABET)
    ada, bob = room.join(code, "ada"), room.join(code.lower(), " Bob  Jones ")
    assert ada != bob
    room.record(ada, "forward", "guess", 2.5)
    room.record(bob, "forward", "guess", {"choice": "b"})
    room.record(ada, "forward", "by-hand", 0.1, correct=False)
    room.record(ada, "forward", "by-hand", 0.12, correct=True)
    room.record(ada, "cost", "guess", "ln 10")
    room.record_run(bob, "run-1", {"hidden": 10, "dev_accuracy": 0.8})

    assert room.name(code, key) == "Year 11 maths"
    roster = room.roster(code, key)
    assert [m.nickname for m in roster] == ["ada", "Bob Jones"]
    assert roster[0].steps == {"forward": ("guess", "by-hand"), "cost": ("guess",)}
    assert roster[0].done("forward") == 2 and roster[1].done("cost") == 0
    assert [m.runs for m in roster] == [0, 1]
    assert room.answers(code, key, "forward", "guess") == [
        ("ada", 2.5),
        ("Bob Jones", {"choice": "b"}),
    ]
    assert room.answers(code, key, "forward", "by-hand") == [("ada", 0.1), ("ada", 0.12)]
    tries = [
        (r.value, r.correct) for r in room.records(code, key, "forward") if r.step == "by-hand"
    ]
    assert tries == [(0.1, False), (0.12, True)]
    assert [(r.nickname, r.run_id, r.details["hidden"]) for r in room.runs(code, key)] == [
        ("Bob Jones", "run-1", 10)
    ]
    assert room.member(bob) == cr.Membership(code, "Year 11 maths", "Bob Jones")
    assert [r.value for r in room.own(ada, "forward")] == [2.5, 0.1, 0.12]


def test_classes_are_separate(room):
    a, key_a = room.create("A")
    b, key_b = room.create("B")
    room.record(room.join(a, "ada"), "l", "s", 1)
    room.join(b, "ada")  # the same nickname in another class is fine
    assert room.answers(b, key_b, "l", "s") == []
    assert [m.nickname for m in room.roster(b, key_b)] == ["ada"]
    with pytest.raises(PermissionError):
        room.roster(a, key_b)


def test_a_wrong_key_and_an_unknown_class_get_the_same_answer(room):
    code, key = room.create("A")
    with pytest.raises(PermissionError) as wrong:
        room.roster(code, key + "x")
    with pytest.raises(PermissionError) as unknown:
        room.roster("ZZZZZZ", key)
    assert str(wrong.value) == str(unknown.value) == NO_ACCESS
    with pytest.raises(PermissionError, match=NO_ACCESS):
        room.answers(code, "nope", "l", "s")
    with pytest.raises(PermissionError, match=NO_ACCESS):
        room.runs("", "nope")
    with pytest.raises(PermissionError, match=NO_ACCESS):
        room.delete(code, "")
    with pytest.raises(PermissionError, match=NO_ACCESS):
        room.roster(code, key + "x" * 10**6)  # not hashed at that length
    assert room.roster(code, key) == []  # nothing was deleted


def test_wrong_keys_lock_the_code_for_a_while_without_sleeping(url):
    clock = Clock()
    room = Classroom(url, clock=clock)
    try:
        code, key = room.create("A")
        for _ in range(cr.FREE_TRIES + 1):
            with pytest.raises(PermissionError, match=NO_ACCESS):
                room.roster(code, "guess")
        # Locked: even the right key is refused until the lockout ends (else guessing would go on).
        with pytest.raises(PermissionError, match="too many wrong keys.*try again in 1 s"):
            room.roster(code, key)
        clock.now += 1.01
        with pytest.raises(PermissionError, match=NO_ACCESS):
            room.roster(code, "guess")  # 7th wrong try: locked for 2 s
        clock.now += 1.5
        with pytest.raises(PermissionError, match="too many"):
            room.roster(code, key)
        clock.now += 1.0
        assert room.roster(code, key) == []  # the right key, once unlocked, resets the count
        for _ in range(cr.FREE_TRIES):
            with pytest.raises(PermissionError, match=NO_ACCESS):
                room.roster(code, "guess")
        assert room._tries.wait(code) == 0
        with pytest.raises(PermissionError, match=NO_ACCESS):
            room.roster(code, "guess")
        assert room._tries.wait(code) > 0
        # A teacher whose key this server verified a moment ago is not locked out by guessers.
        assert room.roster(code, key) == []
        # Unknown codes are counted the same way: the lockout tells nothing about existence.
        for _ in range(cr.FREE_TRIES + 1):
            with pytest.raises(PermissionError, match=NO_ACCESS):
                room.roster("QQQQQQ", "guess")
        with pytest.raises(PermissionError, match="too many"):
            room.roster("QQQQQQ", "guess")
        # The lockout grows, but never past MAX_LOCKOUT.
        for _ in range(8):  # 8 x 61 s: still within TRY_WINDOW of the first wrong try
            clock.now += cr.MAX_LOCKOUT + 1
            with pytest.raises(PermissionError, match=NO_ACCESS):
                room.roster("QQQQQQ", "guess")
        assert room._tries.wait("QQQQQQ") == pytest.approx(cr.MAX_LOCKOUT)
    finally:
        room.close()


def test_the_teacher_key_is_stored_only_as_a_salted_hash(room):
    code, key = room.create("A")
    code2, key2 = room.create("B")
    with room.engine.connect() as c:
        rows = c.execute(sa.text("SELECT code, key_hash FROM classes ORDER BY id")).all()
    stored = dict(rows)
    assert key not in json.dumps(stored) and key2 not in json.dumps(stored)
    assert stored[code].startswith("scrypt$") and cr.key_matches(key, stored[code])
    assert not cr.key_matches(key2, stored[code])
    salts = {h.split("$")[4] for h in stored.values()}
    assert len(salts) == 2
    assert not cr.key_matches(key, "garbage") and not cr.key_matches(key, "scrypt$x$y$z$00$00")


@pytest.mark.parametrize(
    "nickname, problem",
    [
        ("", "1 to 24"),
        ("   ", "1 to 24"),
        ("x" * 25, "1 to 24"),
        ("<script>", "letters, digits"),
        ("-dash", "must start"),
        ("a\x00b", "letters, digits"),
        ("robert'); DROP", "letters, digits"),
        (42, "text"),
    ],
)
def test_nicknames_break_rules_with_a_clear_message(nickname, problem):
    with pytest.raises(ValueError, match=problem):
        cr.check_nickname(nickname)


def test_nicknames_are_unique_within_a_class_ignoring_case(room):
    code, _ = room.create("A")
    assert cr.check_nickname("Zoë O'Neil") == "Zoë O'Neil"
    room.join(code, "Zoë O'Neil")
    with pytest.raises(ValueError, match="taken in this class"):
        room.join(code, "zoë  o'neil")
    with pytest.raises(LookupError, match="no class has the code"):
        room.join("NOSUCH", "ada")


def test_bad_records_are_refused_and_nothing_is_written(room):
    code, key = room.create("A")
    me = room.join(code, "ada")
    with pytest.raises(LookupError, match="join"):
        room.record("not-a-student", "l", "s", 1)
    with pytest.raises(ValueError, match="plain JSON"):
        room.record(me, "l", "s", float("nan"))
    with pytest.raises(ValueError, match="plain JSON"):
        room.record(me, "l", "s", object())
    with pytest.raises(ValueError, match="limit"):
        room.record(me, "l", "s", "x" * cr.VALUE_MAX)
    with pytest.raises(ValueError, match="lesson"):
        room.record(me, "", "s", 1)
    with pytest.raises(ValueError, match="run_id"):
        room.record_run(me, "")
    assert room.records(code, key) == []


def test_a_run_recorded_again_updates_its_details(room):
    code, key = room.create("A")
    me = room.join(code, "ada")
    room.record_run(me, "r1", {"dev_accuracy": 0.5})
    room.record_run(me, "r1", {"dev_accuracy": 0.6})
    room.record_run(me, "r2")
    room.record_run(me, "r1")  # without details: keeps them
    assert [(r.run_id, r.details) for r in room.runs(code, key)] == [
        ("r1", {"dev_accuracy": 0.6}),
        ("r2", {}),
    ]
    assert room.roster(code, key)[0].runs == 2


def test_a_student_sees_the_class_aggregate_only_after_answering(room):
    code, _ = room.create("A")
    ada, bob, cy = (room.join(code, n) for n in ("ada", "bob", "cy"))
    room.record(bob, "l", "guess", 3)
    room.record(bob, "l", "guess", 4)  # a later record of the same step: the first counts
    room.record(cy, "l", "guess", 5)
    with pytest.raises(LookupError, match="answer the step first"):
        room.class_values(ada, "l", "guess")
    room.record(ada, "l", "guess", 7)
    assert room.class_values(ada, "l", "guess") == [3, 5, 7]  # values only, no names
    other, _ = room.create("B")
    dee = room.join(other, "dee")
    room.record(dee, "l", "guess", 9)
    assert room.class_values(dee, "l", "guess") == [9]


def test_delete_removes_the_class_and_everything_under_it(room):
    code, key = room.create("A")
    keep, keep_key = room.create("B")
    me = room.join(code, "ada")
    room.record(me, "l", "s", 1)
    room.record_run(me, "r1")
    room.record(room.join(keep, "bob"), "l", "s", 2)
    room.delete(code, key)
    with pytest.raises(PermissionError, match=NO_ACCESS):
        room.roster(code, key)
    with pytest.raises(LookupError):
        room.record(me, "l", "s", 3)
    with room.engine.connect() as c:
        counts = {
            t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("classes", "students", "answers", "runs")
        }
    assert counts == {"classes": 1, "students": 1, "answers": 1, "runs": 0}
    assert room.answers(keep, keep_key, "l", "s") == [("bob", 2)]


def test_the_schema_is_versioned_and_migrations_run_once(url):
    a = Classroom(url)
    code, key = a.create("A")
    a.close()
    b = Classroom(url)  # opening again applies nothing and keeps the data
    assert b.version == cr.SCHEMA_VERSION
    with b.engine.connect() as c:
        versions = c.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
    assert versions == list(range(1, cr.SCHEMA_VERSION + 1))
    assert b.name(code, key) == "A"
    with b.engine.begin() as c:
        c.execute(sa.text("INSERT INTO schema_version (version) VALUES (999)"))
    b.close()
    with pytest.raises(RuntimeError, match="newer than this app"):
        Classroom(url)


def test_two_servers_on_one_database_share_the_class(url):
    one, two = Classroom(url), Classroom(url)
    try:
        code, key = one.create("A")
        two.record(two.join(code, "ada"), "l", "s", 1)
        assert one.answers(code, key, "l", "s") == [("ada", 1)]
    finally:
        one.close()
        two.close()


def test_thirty_students_join_and_answer_at_once_and_nothing_is_lost(room):
    code, key = room.create("A")
    n, answers = 30, 5
    start = threading.Barrier(n)
    errors = []

    def student(i):
        try:
            start.wait()
            me = room.join(code, f"s{i}")
            for j in range(answers):
                room.record(me, "l", f"q{j}", i * 100 + j)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(room.roster(code, key)) == n
    got = sorted(r.value for r in room.records(code, key))
    assert got == sorted(i * 100 + j for i in range(n) for j in range(answers))


def test_the_default_database_is_sqlite_in_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv(cr.URL_ENV, raising=False)
    room = Classroom()
    try:
        assert room.backend == "sqlite"
        assert (tmp_path / "runs" / cr.DB_FILE).exists()
        with room.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        room.close()
    monkeypatch.setenv(cr.URL_ENV, f"sqlite:///{tmp_path / 'elsewhere.sqlite'}")
    assert cr.default_url().endswith("elsewhere.sqlite")
    with pytest.raises(ValueError, match="must be a file"):
        cr.make_engine("sqlite://")
    assert cr.make_engine("postgresql://u@h/db").dialect.driver == "psycopg"


def test_a_server_holds_at_most_max_classes(url, monkeypatch):
    room = Classroom(url, max_classes=2)
    try:
        room.create("A")
        code, key = room.create("B")
        with pytest.raises(ValueError, match="holds 2 classes, the most it may"):
            room.create("C")
        room.delete(code, key)
        room.create("C")  # room again
    finally:
        room.close()
    for env, held in (("7", 7), ("lots", cr.MAX_CLASSES), ("-1", cr.MAX_CLASSES)):
        monkeypatch.setenv(cr.MAX_CLASSES_ENV, env)
        other = Classroom(url)
        other.close()
        assert other.max_classes == held


def test_the_url_of_streamlit_sql_secrets():
    assert cr.url_from_secrets(None) is None
    assert cr.url_from_secrets({}) is None
    assert cr.url_from_secrets({"host": "h"}) is None
    assert cr.url_from_secrets({"url": "postgresql://u:p@h/db"}) == "postgresql://u:p@h/db"
    got = cr.url_from_secrets(
        {
            "dialect": "postgresql",
            "driver": "psycopg",
            "username": "t",
            "password": "p@ss",
            "host": "db.example",
            "port": "5433",
            "database": "class",
        }
    )
    assert got == "postgresql+psycopg://t:p%40ss@db.example:5433/class"


WRITER = textwrap.dedent(
    """
    import sys
    from engine.classroom import Classroom
    room = Classroom(sys.argv[1])
    me = sys.argv[2]
    for i in range(1_000_000):
        room.record(me, "l", "s", i)
        print(i, flush=True)  # only after record() returned: committed
    """
)


def test_answers_committed_before_a_kill_are_all_there(tmp_path):
    """A writer process is killed (SIGKILL) mid-way; every answer it reported committed is in
    the database, and SQLite's integrity check passes."""
    path = tmp_path / "classes.sqlite"
    url = f"sqlite:///{path}"
    room = Classroom(url)
    code, key = room.create("A")
    me = room.join(code, "ada")
    room.close()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, me], cwd=root, stdout=subprocess.PIPE, text=True
    )
    committed = []
    try:
        for line in proc.stdout:
            committed.append(int(line))
            if len(committed) >= 200:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL and len(committed) == 200
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    room = Classroom(url)
    try:
        stored = [v for _, v in room.answers(code, key, "l", "s")]
    finally:
        room.close()
    assert stored[: len(committed)] == committed  # every one reported committed, in order
    assert stored == list(range(len(stored)))  # and nothing else but the next ones

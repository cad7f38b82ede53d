"""A class: a teacher creates one, students join it with a code and a nickname, and what they do
(lesson answers, by-hand attempts, runs) is recorded under (class, nickname) in a real database.

    room = Classroom()                        # SQLite in the runs folder, or NNMATH_DATABASE_URL
    code, key = room.create("Year 11 maths")  # the key is shown once, stored as a salted hash
    me = room.join(code, "ada")               # an opaque student id (kept in the student's URL)
    room.record(me, "forward", "guess-z1", 3.5)
    room.record_run(me, run_id, details={"hidden": 10, "dev_accuracy": 0.84})
    room.roster(code, key); room.answers(code, key, "forward", "guess-z1")
    room.delete(code, key)                    # the class and everything recorded under it

Storage (SQLAlchemy Core): SQLite at ``<runs folder>/classes.sqlite`` by default — WAL journal,
``synchronous=FULL`` (each commit is on disk before ``record`` returns, so a crash loses no
committed answer) and ``BEGIN IMMEDIATE`` write transactions (writers queue on the busy timeout
instead of failing) — or any SQLAlchemy URL, PostgreSQL through psycopg 3 in practice, so several
app servers share one class. The URL is the host's setting only (the argument, the environment
variable NNMATH_DATABASE_URL, or the glue's reading of Streamlit secrets); nothing a visitor
types reaches it.

Schema: a ``schema_version`` table and the ordered functions of :data:`MIGRATIONS`; opening a
database applies the missing ones in one transaction (under an advisory lock on PostgreSQL, so
two servers starting at once do not race). A new column or table is a new function at the end.

Teacher keys: 128 random bits, stored only as ``scrypt`` (salted) and compared in constant time.
A wrong key and an unknown class raise the same :class:`PermissionError`. After
:data:`FREE_TRIES` wrong tries on one code within :data:`TRY_WINDOW` seconds, that code is
refused outright for a lockout that doubles with each further wrong try, up to
:data:`MAX_LOCKOUT` seconds — no thread sleeps, and an unknown code is treated the same, so the
lockout says nothing about which codes exist. A verified key is remembered for
:data:`VERIFIED_SECONDS` as an HMAC under a per-process secret, so a teacher's page that asks
several questions hashes once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

URL_ENV = "NNMATH_DATABASE_URL"
DB_FILE = "classes.sqlite"

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
CODE_LENGTH = 6  # 32**6 ~ 1e9 codes
NAME_MAX = 80
NICKNAME_MAX = 24
NICKNAME_RE = re.compile(r"[^\W_][\w .'-]*")  # letters/digits (any script), then also _ . ' - space
ID_MAX = 64  # lesson and step ids
VALUE_MAX = 2000  # characters of one recorded value, as JSON
DETAILS_MAX = 4000  # characters of a run's details, as JSON
MAX_CLASSES = 1000  # per database, unless NNMATH_MAX_CLASSES says otherwise
MAX_CLASSES_ENV = "NNMATH_MAX_CLASSES"
MAX_STUDENTS = 300  # per class
MAX_RECORDS = 5000  # answers and attempts per student
MAX_RUNS = 500  # runs per student

FREE_TRIES = 5  # wrong teacher keys on one code before it is locked
TRY_WINDOW = 600.0  # seconds over which wrong tries are counted
MAX_LOCKOUT = 60.0  # seconds, the longest lockout
TRACKED_CODES = 4096  # codes whose wrong tries are remembered (oldest forgotten first)
VERIFIED_SECONDS = 600.0
KEY_MAX = 200  # characters of a teacher key as typed; a longer one is simply wrong
NO_ACCESS = "unknown class code or wrong teacher key"

SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # 16 MB, ~50 ms a hash


# ---- the schema: versioned, migrated in order ---------------------------------------------------
def _v1(conn: Connection) -> None:
    """The first tables (their DDL is frozen here; later changes are later migrations)."""
    md = sa.MetaData()
    sa.Table(
        "classes",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(NAME_MAX), nullable=False),
        sa.Column("key_hash", sa.String(200), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    sa.Table(
        "students",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "class_id", sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("token", sa.String(ID_MAX), nullable=False, unique=True),
        sa.Column("nickname", sa.String(NICKNAME_MAX), nullable=False),
        sa.Column("nickname_key", sa.String(4 * NICKNAME_MAX), nullable=False),
        sa.Column("joined", sa.Float, nullable=False),
        sa.UniqueConstraint("class_id", "nickname_key"),
    )
    sa.Table(
        "answers",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "student_id",
            sa.ForeignKey("students.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("lesson", sa.String(ID_MAX), nullable=False),
        sa.Column("step", sa.String(ID_MAX), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("correct", sa.Boolean, nullable=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Index("answers_lesson_step", "lesson", "step"),
    )
    sa.Table(
        "runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "student_id",
            sa.ForeignKey("students.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.UniqueConstraint("student_id", "run_id"),
    )
    md.create_all(conn)


#: The migrations, oldest first: function i (from 1) brings the schema from version i-1 to i.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1,)
SCHEMA_VERSION = len(MIGRATIONS)
_PG_MIGRATION_LOCK = 0x6E6E_6D61  # pg_advisory_xact_lock key: "nnma"


def migrate(engine: Engine) -> int:
    """Apply the missing migrations in one transaction; returns the schema version."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        c.execute(sa.text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
        have = c.execute(sa.text("SELECT max(version) FROM schema_version")).scalar() or 0
        if have > SCHEMA_VERSION:
            raise RuntimeError(
                f"the class database is at schema version {have}, newer than this app's "
                f"{SCHEMA_VERSION}: update the app"
            )
        for version in range(have + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version - 1](c)
            c.execute(sa.text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})
    return SCHEMA_VERSION


# The queries' view of the tables (lightweight: the DDL lives in the migrations only).
_classes = sa.table(
    "classes",
    sa.column("id"),
    sa.column("code"),
    sa.column("name"),
    sa.column("key_hash"),
    sa.column("created"),
)
_students = sa.table(
    "students",
    sa.column("id"),
    sa.column("class_id"),
    sa.column("token"),
    sa.column("nickname"),
    sa.column("nickname_key"),
    sa.column("joined"),
)
_answers = sa.table(
    "answers",
    sa.column("id"),
    sa.column("student_id"),
    sa.column("lesson"),
    sa.column("step"),
    sa.column("value"),
    sa.column("correct"),
    sa.column("at"),
)
_runs = sa.table(
    "runs",
    sa.column("id"),
    sa.column("student_id"),
    sa.column("run_id"),
    sa.column("details"),
    sa.column("at"),
)


# ---- where the database is ----------------------------------------------------------------------
def default_url() -> str:
    """NNMATH_DATABASE_URL, else the SQLite file in the runs folder (NNMATH_RUNS_DIR)."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return url
    from engine.store import DEFAULT_ROOT

    root = Path(os.environ.get("NNMATH_RUNS_DIR") or DEFAULT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / DB_FILE}"


def url_from_secrets(conf: Mapping[str, Any] | None) -> str | None:
    """The database URL of Streamlit's ``[connections.sql]`` secrets (what ``st.connection("sql")``
    reads): ``url``, or ``dialect``/``driver``/``username``/``password``/``host``/``port``/
    ``database``/``query``; None when they name none. The glue passes the secrets in."""
    if not conf:
        return None
    if conf.get("url"):
        return str(conf["url"])
    if not conf.get("dialect"):
        return None
    driver = f"{conf['dialect']}+{conf['driver']}" if conf.get("driver") else str(conf["dialect"])
    port = conf.get("port")
    return sa.URL.create(
        driver,
        username=conf.get("username"),
        password=conf.get("password"),
        host=conf.get("host"),
        port=int(port) if port not in (None, "") else None,
        database=conf.get("database"),
        query=dict(conf.get("query") or {}),
    ).render_as_string(hide_password=False)


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


READ_ONLY = "nnmath_read_only"  # execution option: a transaction that only reads


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url``: a ``postgresql://`` URL gets the psycopg 3 driver; SQLite
    gets WAL, synchronous=FULL, foreign keys, a busy timeout and BEGIN IMMEDIATE writes."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if not u.database or u.database == ":memory:":
        raise ValueError("a class database on SQLite must be a file, got an in-memory URL")
    engine = sa.create_engine(u, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # the driver's own BEGINs off: ours below
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",  # in WAL, FULL syncs the log at every commit
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        # A deferred transaction that reads and then writes can fail at once with "database is
        # locked" when another writer got there first; IMMEDIATE takes the write lock up front
        # and so waits its turn on the busy timeout. Reads stay deferred (WAL: they never wait).
        reading = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


# ---- what the teacher sees ---------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One student of the roster: what they answered (step ids per lesson, first answer first)
    and how many runs they trained."""

    nickname: str
    joined: float
    steps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    runs: int = 0

    def done(self, lesson: str) -> int:
        return len(self.steps.get(lesson, ()))


@dataclass(frozen=True)
class Record:
    """One answer or by-hand attempt (``correct`` None for an answer that is not checked)."""

    nickname: str
    lesson: str
    step: str
    value: Any
    correct: bool | None
    at: float


@dataclass(frozen=True)
class StudentRun:
    nickname: str
    run_id: str
    details: dict
    at: float


@dataclass(frozen=True)
class Membership:
    """Who a student id is: the class (code, name) and their nickname."""

    code: str
    name: str
    nickname: str


# ---- checks -------------------------------------------------------------------------------------
def check_nickname(nickname: str) -> str:
    """The nickname, trimmed; ValueError saying the rule when it breaks it."""
    if not isinstance(nickname, str):
        raise ValueError(f"nickname must be text, got {type(nickname).__name__}")
    nick = " ".join(nickname.split())
    if not 1 <= len(nick) <= NICKNAME_MAX:
        raise ValueError(f"nickname must be 1 to {NICKNAME_MAX} characters, got {len(nick)}")
    if not NICKNAME_RE.fullmatch(nick):
        raise ValueError(
            "nickname may hold letters, digits, spaces and _ . ' - and must start with a letter "
            f"or digit, got {nick!r}"
        )
    return nick


def check_name(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"class name must be text, got {type(name).__name__}")
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= NAME_MAX or not clean.isprintable():
        raise ValueError(f"class name must be 1 to {NAME_MAX} printable characters")
    return clean


def normal_code(code: str) -> str:
    """A join code as typed (any case, spaces or dashes) in its stored form."""
    if not isinstance(code, str):
        return ""
    return re.sub(r"[\s-]", "", code).upper()[:16]


def _check_id(what: str, value: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= ID_MAX:
        raise ValueError(f"{what} must be 1 to {ID_MAX} characters, got {value!r}")
    return value


def _dumps(value: Any, limit: int, what: str) -> str:
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} must be plain JSON (numbers, text, lists): {e}") from None
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters as JSON; the limit is {limit}")
    return text


def hash_key(key: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` of a teacher key (a fresh 16-byte salt unless given)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(key.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def key_matches(key: str, stored: str) -> bool:
    """Does ``key`` hash to ``stored`` (constant-time comparison)?"""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            key.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


_DUMMY_HASH = hash_key("no class has this key", b"\0" * 16)  # unknown codes cost the same


class _Tries:
    """Wrong teacher keys per code: after FREE_TRIES in TRY_WINDOW seconds the code is locked
    for 1, 2, 4, ... up to MAX_LOCKOUT seconds per further wrong try. Thread-safe, bounded."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._lock = threading.Lock()
        self._by_code: OrderedDict[str, tuple[int, float, float]] = OrderedDict()

    def wait(self, code: str) -> float:
        """Seconds until ``code`` may be tried again (0: now)."""
        with self._lock:
            entry = self._by_code.get(code)
        return 0.0 if entry is None else max(0.0, entry[2] - self.clock())

    def failed(self, code: str) -> None:
        now = self.clock()
        with self._lock:
            count, since, _ = self._by_code.pop(code, (0, now, 0.0))
            if now - since > TRY_WINDOW:
                count, since = 0, now
            count += 1
            extra = count - FREE_TRIES
            until = now + min(MAX_LOCKOUT, 2.0 ** (extra - 1)) if extra > 0 else 0.0
            self._by_code[code] = (count, since, until)
            while len(self._by_code) > TRACKED_CODES:
                self._by_code.popitem(last=False)

    def forget(self, code: str) -> None:
        with self._lock:
            self._by_code.pop(code, None)


# ---- the API ------------------------------------------------------------------------------------
class Classroom:
    """Classes, students and what they recorded, in the database at ``url`` (None: NNMATH_DATABASE_URL,
    else SQLite in the runs folder). Safe to share between threads; several processes or servers
    may open the same database. ``clock`` (monotonic seconds) times the wrong-key lockout."""

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_classes: int | None = None,
    ):
        self.url = url or default_url()
        self.max_classes = (
            max_classes if max_classes is not None else _env_int(MAX_CLASSES_ENV, MAX_CLASSES)
        )
        self.engine = make_engine(self.url)
        try:
            self.version = migrate(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self._tries = _Tries(clock)
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._verified: OrderedDict[tuple[str, bytes], tuple[int, float]] = OrderedDict()
        self._verified_lock = threading.Lock()
        # SQLite has one writer at a time; its busy handler polls with growing sleeps, so 30
        # threads waiting on it get served unfairly (seconds for some, bench_class). Writers of
        # this process queue on a lock instead; other processes still wait on the busy timeout.
        self._write_lock = threading.Lock() if self.backend == "sqlite" else None

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends."""
        if self._write_lock is None:
            with self.engine.begin() as c:
                yield c
            return
        with self._write_lock, self.engine.begin() as c:
            yield c

    def _read(self) -> Connection:
        """A connection for reads only (on SQLite a deferred transaction: no write lock)."""
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql" (the dialect's name)."""
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- a teacher ---------------------------------------------------------------------------------
    def create(self, name: str) -> tuple[str, str]:
        """A new class named ``name``: (join code, teacher key). The key is not stored, only its
        salted hash: show it once."""
        name = check_name(name)
        key = secrets.token_urlsafe(16)
        stored = hash_key(key)
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                with self._write() as c:
                    held = c.execute(sa.select(sa.func.count()).select_from(_classes)).scalar_one()
                    if held >= self.max_classes:
                        raise ValueError(
                            f"this server holds {held} classes, the most it may "
                            f"({MAX_CLASSES_ENV}): ask its host, or delete an old class"
                        )
                    c.execute(
                        sa.insert(_classes).values(
                            code=code, name=name, key_hash=stored, created=time.time()
                        )
                    )
                return code, key
            except sa.exc.IntegrityError:  # that code exists already: draw another
                continue
        raise RuntimeError("could not draw an unused class code in 20 tries")

    def _class_id(self, code: str, key: str) -> int:
        """The class's row id if ``key`` is its teacher key, else PermissionError (the same for
        an unknown code); refused outright while the code is locked by wrong tries."""
        code = normal_code(code)
        key = key if isinstance(key, str) and len(key) <= KEY_MAX else ""
        mac = hmac.new(self._secret, f"{code}\0{key}".encode(), "sha256").digest()
        now = self._clock()
        with self._verified_lock:
            hit = self._verified.get((code, mac))
        if hit is not None and now - hit[1] < VERIFIED_SECONDS:
            return hit[0]
        wait = self._tries.wait(code)
        if wait > 0:
            raise PermissionError(
                f"too many wrong keys for class {code}: try again in {math.ceil(wait)} s"
            )
        with self._read() as c:
            row = c.execute(
                sa.select(_classes.c.id, _classes.c.key_hash).where(_classes.c.code == code)
            ).first()
        if row is None:
            key_matches(key, _DUMMY_HASH)
            self._tries.failed(code)
            raise PermissionError(NO_ACCESS)
        if not key_matches(key, row.key_hash):
            self._tries.failed(code)
            raise PermissionError(NO_ACCESS)
        self._tries.forget(code)
        with self._verified_lock:
            self._verified[(code, mac)] = (row.id, now)
            while len(self._verified) > TRACKED_CODES:
                self._verified.popitem(last=False)
        return row.id

    def name(self, code: str, key: str) -> str:
        """The class's name (checks the key like every teacher call)."""
        cid = self._class_id(code, key)
        with self._read() as c:
            return c.execute(sa.select(_classes.c.name).where(_classes.c.id == cid)).scalar_one()

    def roster(self, code: str, key: str) -> list[Member]:
        """The students of the class in the order they joined, with the steps they answered."""
        cid = self._class_id(code, key)
        with self._read() as c:
            students = c.execute(
                sa.select(_students.c.id, _students.c.nickname, _students.c.joined)
                .where(_students.c.class_id == cid)
                .order_by(_students.c.id)
            ).all()
            steps = c.execute(
                sa.select(_answers.c.student_id, _answers.c.lesson, _answers.c.step)
                .join(_students, _students.c.id == _answers.c.student_id)
                .where(_students.c.class_id == cid)
                .order_by(_answers.c.id)
            ).all()
            runs = dict(
                c.execute(
                    sa.select(_runs.c.student_id, sa.func.count())
                    .join(_students, _students.c.id == _runs.c.student_id)
                    .where(_students.c.class_id == cid)
                    .group_by(_runs.c.student_id)
                ).all()
            )
        answered: dict[int, dict[str, list[str]]] = {}
        for sid, lesson, step in steps:
            done = answered.setdefault(sid, {}).setdefault(lesson, [])
            if step not in done:
                done.append(step)
        return [
            Member(
                s.nickname,
                s.joined,
                {lesson: tuple(v) for lesson, v in answered.get(s.id, {}).items()},
                int(runs.get(s.id, 0)),
            )
            for s in students
        ]

    def records(self, code: str, key: str, lesson: str | None = None) -> list[Record]:
        """Every answer and attempt of the class (of one lesson), oldest first."""
        cid = self._class_id(code, key)
        with self._read() as c:
            return _records(c, _students.c.class_id == cid, lesson)

    def answers(self, code: str, key: str, lesson: str, step: str) -> list[tuple[str, Any]]:
        """(nickname, value) of every answer and attempt recorded for one step, oldest first."""
        return [(r.nickname, r.value) for r in self.records(code, key, lesson) if r.step == step]

    def runs(self, code: str, key: str) -> list[StudentRun]:
        """Every run recorded in the class, oldest first."""
        cid = self._class_id(code, key)
        with self._read() as c:
            rows = c.execute(
                sa.select(_students.c.nickname, _runs.c.run_id, _runs.c.details, _runs.c.at)
                .join(_students, _students.c.id == _runs.c.student_id)
                .where(_students.c.class_id == cid)
                .order_by(_runs.c.id)
            ).all()
        return [StudentRun(r.nickname, r.run_id, json.loads(r.details), r.at) for r in rows]

    def delete(self, code: str, key: str) -> None:
        """Remove the class and everything recorded under it (answers, runs, students)."""
        cid = self._class_id(code, key)
        students = sa.select(_students.c.id).where(_students.c.class_id == cid)
        with self._write() as c:
            c.execute(sa.delete(_answers).where(_answers.c.student_id.in_(students)))
            c.execute(sa.delete(_runs).where(_runs.c.student_id.in_(students)))
            c.execute(sa.delete(_students).where(_students.c.class_id == cid))
            c.execute(sa.delete(_classes).where(_classes.c.id == cid))
        with self._verified_lock:
            for k in [k for k, v in self._verified.items() if v[0] == cid]:
                del self._verified[k]

    # -- a student ---------------------------------------------------------------------------------
    def join(self, code: str, nickname: str) -> str:
        """Join the class ``code`` as ``nickname``; returns the student's id (an unguessable
        token: whoever holds it records as this student). LookupError for an unknown code,
        ValueError for a nickname that breaks the rules or is taken in the class."""
        nick = check_nickname(nickname)
        code = normal_code(code)
        token = secrets.token_urlsafe(16)
        try:
            with self._write() as c:
                cid = c.execute(
                    sa.select(_classes.c.id).where(_classes.c.code == code)
                ).scalar_one_or_none()
                if cid is None:
                    raise LookupError(f"no class has the code {code or '(empty)'}: check it")
                count = c.execute(
                    sa.select(sa.func.count())
                    .select_from(_students)
                    .where(_students.c.class_id == cid)
                ).scalar_one()
                if count >= MAX_STUDENTS:
                    raise ValueError(f"this class is full ({MAX_STUDENTS} students)")
                c.execute(
                    sa.insert(_students).values(
                        class_id=cid,
                        token=token,
                        nickname=nick,
                        nickname_key=nick.casefold(),
                        joined=time.time(),
                    )
                )
        except sa.exc.IntegrityError:
            raise ValueError(
                f"the nickname {nick!r} is taken in this class: pick another"
            ) from None
        return token

    def _student(self, c: Connection, student_id: str) -> int:
        if not isinstance(student_id, str) or not 0 < len(student_id) <= ID_MAX:
            raise LookupError("unknown student: join the class again")
        sid = c.execute(
            sa.select(_students.c.id).where(_students.c.token == student_id)
        ).scalar_one_or_none()
        if sid is None:
            raise LookupError("unknown student (the class may have been deleted): join again")
        return sid

    def member(self, student_id: str) -> Membership:
        """Which class and nickname a student id belongs to (LookupError if none)."""
        with self._read() as c:
            sid = self._student(c, student_id)
            row = c.execute(
                sa.select(_classes.c.code, _classes.c.name, _students.c.nickname)
                .join(_classes, _classes.c.id == _students.c.class_id)
                .where(_students.c.id == sid)
            ).one()
        return Membership(row.code, row.name, row.nickname)

    def record(
        self, student_id: str, lesson: str, step: str, value: Any, correct: bool | None = None
    ) -> None:
        """Record an answer (``correct`` None) or a by-hand attempt (``correct`` True/False);
        returns once committed. Each call is a new record: attempts count."""
        lesson, step = _check_id("lesson", lesson), _check_id("step", step)
        text = _dumps(value, VALUE_MAX, "the answer")
        with self._write() as c:
            sid = self._student(c, student_id)
            count = c.execute(
                sa.select(sa.func.count()).select_from(_answers).where(_answers.c.student_id == sid)
            ).scalar_one()
            if count >= MAX_RECORDS:
                raise ValueError(f"a student may record at most {MAX_RECORDS} answers")
            c.execute(
                sa.insert(_answers).values(
                    student_id=sid,
                    lesson=lesson,
                    step=step,
                    value=text,
                    correct=None if correct is None else bool(correct),
                    at=time.time(),
                )
            )

    def record_run(self, student_id: str, run_id: str, details: dict | None = None) -> None:
        """Record that the student trained (or opened) the run ``run_id``; ``details`` (plain
        JSON: settings, accuracies, its link) are what the teacher's page draws. Recording the
        same run again with details replaces them (without, keeps them). Returns once committed."""
        if not isinstance(run_id, str) or not 1 <= len(run_id) <= 200:
            raise ValueError(f"run_id must be 1 to 200 characters, got {run_id!r}")
        text = None if details is None else _dumps(details, DETAILS_MAX, "the run's details")
        with self._write() as c:
            sid = self._student(c, student_id)
            mine = (_runs.c.student_id == sid) & (_runs.c.run_id == run_id)
            if c.execute(sa.select(_runs.c.id).where(mine)).first() is not None:
                if text is not None:
                    c.execute(sa.update(_runs).where(mine).values(details=text, at=time.time()))
                return
            count = c.execute(
                sa.select(sa.func.count()).select_from(_runs).where(_runs.c.student_id == sid)
            ).scalar_one()
            if count >= MAX_RUNS:
                raise ValueError(f"a student may record at most {MAX_RUNS} runs")
            c.execute(
                sa.insert(_runs).values(
                    student_id=sid, run_id=run_id, details=text or "{}", at=time.time()
                )
            )

    def own(self, student_id: str, lesson: str | None = None) -> list[Record]:
        """The student's own answers and attempts (of one lesson), oldest first."""
        with self._read() as c:
            sid = self._student(c, student_id)
            return _records(c, _answers.c.student_id == sid, lesson)

    def class_values(self, student_id: str, lesson: str, step: str) -> list[Any]:
        """The class's first answers to a step, without names — only for a student who has
        answered it (else LookupError): the aggregate a student may see after answering."""
        with self._read() as c:
            sid = self._student(c, student_id)
            mine = c.execute(
                sa.select(sa.func.count())
                .select_from(_answers)
                .where(
                    (_answers.c.student_id == sid)
                    & (_answers.c.lesson == lesson)
                    & (_answers.c.step == step)
                )
            ).scalar_one()
            if not mine:
                raise LookupError("answer the step first to see the class's answers")
            cid = sa.select(_students.c.class_id).where(_students.c.id == sid).scalar_subquery()
            first = (
                sa.select(sa.func.min(_answers.c.id))
                .join(_students, _students.c.id == _answers.c.student_id)
                .where(
                    (_students.c.class_id == cid)
                    & (_answers.c.lesson == lesson)
                    & (_answers.c.step == step)
                )
                .group_by(_answers.c.student_id)
            )
            values = c.execute(
                sa.select(_answers.c.value).where(_answers.c.id.in_(first)).order_by(_answers.c.id)
            ).scalars()
            return [json.loads(v) for v in values]


def _records(c: Connection, where, lesson: str | None) -> list[Record]:
    """The answers and attempts matching ``where`` (of one lesson), oldest first."""
    q = (
        sa.select(
            _students.c.nickname,
            _answers.c.lesson,
            _answers.c.step,
            _answers.c.value,
            _answers.c.correct,
            _answers.c.at,
        )
        .join(_students, _students.c.id == _answers.c.student_id)
        .where(where)
        .order_by(_answers.c.id)
    )
    if lesson is not None:
        q = q.where(_answers.c.lesson == lesson)
    return [
        Record(
            r.nickname,
            r.lesson,
            r.step,
            json.loads(r.value),
            None if r.correct is None else bool(r.correct),
            r.at,
        )
        for r in c.execute(q).all()
    ]


def first_answers(records: Sequence[Record], lesson: str, step: str) -> dict[str, Any]:
    """nickname -> their first recorded value for one step (a predict answer is locked once
    given, so the first is the answer)."""
    out: dict[str, Any] = {}
    for r in records:
        if r.lesson == lesson and r.step == step and r.nickname not in out:
            out[r.nickname] = r.value
    return out

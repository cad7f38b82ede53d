"""A throwaway PostgreSQL server from Debian's package, for the class tests and benchmark.

:func:`local_postgres` finds ``initdb``/``pg_ctl`` (on PATH or in /usr/lib/postgresql/*/bin); when
they are missing and we are root on Debian, it installs the ``postgresql`` package first. It then
makes a cluster in a fresh temporary folder, starts it on a free port of 127.0.0.1 (socket in that
folder, trust authentication: nothing else can reach it), yields its URL, and stops it and removes
the folder at the end. PostgreSQL refuses to run as root, so as root the cluster belongs to the
``postgres`` user (which the package creates) and its commands run as that user.

:func:`new_database` adds an empty database to such a server: each test gets its own.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.app_server import free_port

PG_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here (the message says why)."""


def pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def install() -> Path:
    """Install Debian's postgresql package (as root); returns the bin folder."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb/pg_ctl) and this is not root on Debian: "
            "install it, e.g. `apt-get install -y postgresql`"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise PostgresUnavailable(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    found = pg_bin()
    if found is None:
        raise PostgresUnavailable("apt-get installed postgresql but initdb is not to be found")
    return found


def _as_owner(cmd: list[str], owner: str | None, **kw) -> subprocess.CompletedProcess:
    if owner is not None:
        cmd = ["runuser", "-u", owner, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


@contextlib.contextmanager
def local_postgres(durable: bool = True) -> Iterator[str]:
    """A running PostgreSQL server; yields ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``.
    ``durable=False`` turns fsync off: faster set-up for tests of behaviour, never for timings."""
    binary = pg_bin() or install()
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root, but there is no {PG_USER!r} user"
            ) from None
        owner = PG_USER
    folder = Path(tempfile.mkdtemp(prefix="nnmath-pg-"))
    try:
        if owner is not None:
            shutil.chown(folder, owner)
        data = folder / "data"
        done = _as_owner(
            [str(binary / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8"],
            owner,
        )
        if done.returncode:
            raise PostgresUnavailable(f"initdb failed: {done.stderr[-2000:]}")
        port = free_port()
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync={'on' if durable else 'off'}"
        log = folder / "server.log"
        done = _as_owner(
            [str(binary / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
            owner,
        )
        if done.returncode:
            text = log.read_text() if log.exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {done.stderr[-1000:]} {text[-1000:]}")
        try:
            yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres"
        finally:
            _as_owner([str(binary / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], owner)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """Create the empty database ``name`` (letters, digits, _) on the server; returns its URL."""
    import sqlalchemy as sa

    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name must be letters, digits and _, got {name!r}")
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            c.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name

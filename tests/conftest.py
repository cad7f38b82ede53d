"""Session-wide test setup.

BLAS threads are limited to one for the whole session: on this 2-core machine OpenBLAS with two
threads makes the small matmuls of a 10-unit network many times slower, and one thread keeps the
numbers of every test independent of the machine's core count.
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True, scope="session")
def _component_scan_once():
    """Streamlit scans every installed distribution for v2 component manifests once per server
    start, but AppTest does it again for every new AppTest: about 0.45 s each in this venv
    (torch, SciPy, ...), which was most of the time of the AppTest pages and the URL property
    test. The installed packages do not change during a session, so the scan's answer is kept
    and handed to every AppTest, as one server hands it to all its sessions."""
    from streamlit.components.v2 import manifest_scanner

    real = manifest_scanner.scan_component_manifests
    found: list = []

    def scan_once(*args, **kwargs):
        if not found:
            found.append(real(*args, **kwargs))
        return list(found[0])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest_scanner, "scan_component_manifests", scan_once)
        yield


@pytest.fixture(autouse=True)
def _isolated_run_store(tmp_path_factory, monkeypatch):
    """Every test gets its own run store, so no test sees another's cached runs."""
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
    # ... and the class database in it (engine.classroom), never the host's NNMATH_DATABASE_URL.
    monkeypatch.delenv("NNMATH_DATABASE_URL", raising=False)
    yield


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A throwaway PostgreSQL server for the session (bench.postgres: Debian's package, installed
    first when missing and we are root); yields its URL. Without one the test is skipped, except
    with CI=true, where that is a failure: CI runs the PostgreSQL tests against a real server.

    Under pytest-xdist each worker process has a session of its own, so a server of its own (its
    own folder and port). The workers take turns to set theirs up: dpkg lets one apt-get install
    at a time, and a port is only taken once a server listens on it."""
    import fcntl
    import os

    from bench.postgres import PostgresUnavailable, local_postgres

    # The folder every worker's basetemp is made in (pytest's own, without xdist).
    lock_path = tmp_path_factory.getbasetemp().parent / "postgres-setup.lock"
    try:
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            server = local_postgres(durable=False)  # behaviour, not timings
            url = server.__enter__()
    except PostgresUnavailable as e:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"PostgreSQL is required in CI: {e}", pytrace=False)
        pytest.skip(f"no PostgreSQL: {e}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)

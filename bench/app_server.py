"""The served app and the browser, as the benchmarks and the browser tests both start them.

- :func:`start_app`: ``streamlit run streamlit_app.py`` on a free loopback port with its own run
  store, returned once its health check answers;
- :func:`chromium_path`: Debian's Chromium (or Chrome) on PATH, which Playwright drives (its own
  browser download cannot be used here).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """The first Chromium or Chrome on PATH, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]


def start_app(
    runs_dir: Path,
    env: dict[str, str] | None = None,
    *,
    log=subprocess.DEVNULL,
    timeout: float = 60.0,
) -> tuple[subprocess.Popen, str, int]:
    """Start the app with the run store at ``runs_dir`` (and ``env`` added to the environment;
    its output goes to ``log``, a file or DEVNULL); returns (process, URL, port) once it answers.
    RuntimeError, the process killed, if it exits or is not healthy within ``timeout`` s. The
    caller ends it."""
    port = free_port()
    proc = subprocess.Popen(
        streamlit_command(port),
        cwd=ROOT,
        env=dict(os.environ, NNMATH_RUNS_DIR=str(runs_dir), **(env or {})),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, url, port


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        # Polling a health endpoint that is not up yet: the interval is not a synchronisation.
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy within {timeout:.0f} s")

"""The real app, served on localhost and driven in headless Chromium.

Fixtures:
- ``app_url``: a ``streamlit run streamlit_app.py`` server on a free loopback port, with its own
  empty run store, started once per session and stopped at the end.
- ``browser``: Debian's Chromium through Playwright (``playwright install`` cannot download here).
- ``page``: a fresh browser context and page per test, with a helper ``wait_for_app(page)``.
- ``looks_app_url``: a second session-wide server for the phone, theme and accessibility tests,
  whose runs must not change the run counts other tests assert on ``app_url``'s server.
- ``new_page(browser, **context)``: a page in a context of its own (``PHONE`` for a 390x844
  touch screen, ``color_scheme="dark"`` for a visitor whose system is dark).

With ``CI=true`` a missing Chromium or Playwright is a failure, never a skip: the browser tests are
part of what must pass.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from bench.app_server import ROOT, chromium_path, start_app

SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(what: str) -> None:
    message = (
        f"{what} is required for the browser tests. On Debian as root: "
        "`apt-get install -y chromium`; elsewhere install Chromium or Chrome and put it on PATH "
        "(`make test` does this for you)."
    )
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def spawn_app(runs_dir: Path, log_path: Path, **env_vars: str) -> tuple[str, subprocess.Popen]:
    """Start `streamlit run streamlit_app.py` on a free loopback port (extra environment
    variables in ``env_vars``, output in ``log_path``) and wait until it answers; returns (URL,
    process). The caller ends it (e.g. with a SIGKILL, as a crash would)."""
    with open(log_path, "w") as log:
        proc, url, _ = start_app(runs_dir, env_vars, log=log)
    return url, proc


@contextlib.contextmanager
def serve_app(runs_dir: Path, log_path: Path):
    """`streamlit run streamlit_app.py` on a free loopback port; yields its URL."""
    url, proc = spawn_app(runs_dir, log_path)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.returncode not in (0, -15, None):
            print(log_path.read_text()[-4000:])


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """Start the app once for the session; yields (url, runs_dir)."""
    runs_dir = tmp_path_factory.mktemp("browser-runs")
    log_path = tmp_path_factory.mktemp("browser-log") / "streamlit.log"
    with serve_app(runs_dir, log_path) as url:
        yield url, runs_dir


@pytest.fixture(scope="session")
def looks_app_url(tmp_path_factory):
    """A server for the phone, theme and accessibility tests, started once for the session."""
    runs_dir = tmp_path_factory.mktemp("looks-runs")
    log_path = tmp_path_factory.mktemp("looks-log") / "streamlit.log"
    with serve_app(runs_dir, log_path) as url:
        yield url


@pytest.fixture
def cold_app_url(tmp_path):
    """A server of its own that no session has visited yet (for first-visit behaviour)."""
    (tmp_path / "runs").mkdir()
    with serve_app(tmp_path / "runs", tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def killable_app(tmp_path):
    """Start servers that a test may SIGKILL: ``killable_app(runs_dir, **env)`` -> (URL,
    process). Whatever is still running at the end of the test is killed."""
    procs: list[subprocess.Popen] = []

    def start(runs_dir: Path, **env_vars: str) -> tuple[str, subprocess.Popen]:
        url, proc = spawn_app(runs_dir, tmp_path / f"streamlit-{len(procs)}.log", **env_vars)
        procs.append(proc)
        return url, proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server[0]


@pytest.fixture(scope="session")
def browser():
    exe = chromium_path()
    if exe is None:
        _missing("Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python (`pip install playwright`)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


# A phone in the hand: 390x844 CSS pixels (an iPhone 12-15), touch, mobile viewport rules.
PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
# The notebook's run (the sample, hidden 10, alpha 0.1, 500 iterations) as page URL parameters.
NOTEBOOK = "hidden=10&alpha=0.1&iterations=500"


@contextlib.contextmanager
def new_page(browser, **context_options):
    """A page in a browser context of its own (e.g. ``**PHONE, color_scheme="dark"``)."""
    context = browser.new_context(**context_options)
    try:
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        yield pg
    finally:
        context.close()


def wait_for_charts(page) -> None:
    """Wait until every plotly chart on the page has drawn (its library loads on first use)."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .every(c => c.querySelector('.main-svg'))"""
    )


def wait_for_app(page) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator)."""
    page.wait_for_selector('[data-testid="stMain"]', state="visible")
    page.wait_for_function(
        """() => !document.querySelector(
               '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]')
               && document.querySelector('[data-testid="stApp"]')
                   ?.getAttribute('data-test-script-state') !== 'running'"""
    )


def assert_no_exception(page) -> None:
    count = page.locator('[data-testid="stException"]').count()
    assert count == 0, page.locator('[data-testid="stException"]').first.inner_text()


def screenshot(page, name: str) -> Path:
    """The whole main area, not only what fits the viewport: stMain scrolls inside a fixed-height
    app, so the viewport is made as tall as the content for the shot, then restored."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMain"]');
                   return Math.ceil(m ? m.scrollHeight : document.body.scrollHeight); }"""
    )
    if size and height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(height, 8000)})
    try:
        page.locator('[data-testid="stMain"]').screenshot(path=str(path))
    finally:
        if size:
            page.set_viewport_size(size)
    return path

"""A server killed (SIGKILL) in the middle of a run: after a restart on the same run store, the
same link continues from the last checkpoint and ends with the numbers of an unbroken run."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import replace

import numpy as np
import pytest

from engine.store import RunStore
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.helpers import app_sample

pytestmark = pytest.mark.browser

ITERATIONS = 1500
HIDDEN = 16
LINK = f"/train?data=sample&hidden={HIDDEN}&alpha=0.1&iterations={ITERATIONS}&seed=0"


def checkpoint_iterations(path) -> int | None:
    """Iterations held by the checkpoint file (None while there is none)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return int(json.loads(str(npz["meta"]))["iterations"])
    except (FileNotFoundError, OSError, ValueError, KeyError):
        return None


def test_a_killed_server_continues_the_run_from_its_checkpoint(page, killable_app, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    train, dev, base = app_sample()
    config = replace(base, hidden=HIDDEN)
    path = RunStore(runs).checkpoint_path(config.run_id)

    url, server = killable_app(runs, NNMATH_CHECKPOINT_SECONDS="1")
    page.goto(url + LINK)
    # Training has started when the bar counts iterations; wait for a checkpoint on disk.
    page.get_by_text(f"of {ITERATIONS:,} · loss").wait_for()
    deadline = time.monotonic() + 120
    while (checkpoint_iterations(path) or 0) < 150:  # a few checkpoints in
        assert time.monotonic() < deadline, "no checkpoint of 150 iterations within 120 s"
        page.wait_for_timeout(100)  # polls the disk; the app itself is not waited on
    server.send_signal(signal.SIGKILL)
    server.wait(30)
    held = checkpoint_iterations(path)
    assert 0 < held < ITERATIONS, held
    assert not RunStore(runs).npz_path(config.run_id).exists()  # nothing finished was saved

    url, _ = killable_app(runs)  # the restarted server, same run store
    page.goto(url + LINK)
    page.get_by_text(f"(continuing from {held:,})").first.wait_for()
    screenshot(page, "train_continuing")
    page.get_by_text(f"Trained {ITERATIONS:,} iterations").wait_for(timeout=180_000)
    wait_for_app(page)
    assert_no_exception(page)

    unbroken = RunStore(tmp_path / "reference").train(config, ITERATIONS, train, dev)
    dev_metric = page.locator('[data-testid="stMetric"]').filter(has_text="Dev accuracy")
    assert f"{unbroken.dev_accuracy:.1%}" in dev_metric.inner_text()
    loss_metric = page.locator('[data-testid="stMetric"]').filter(has_text="Loss")
    assert f"{unbroken.loss:.3f}" in loss_metric.inner_text()
    saved = RunStore(runs).get(config, ITERATIONS)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(getattr(saved.params, name), getattr(unbroken.params, name))
        np.testing.assert_array_equal(saved.snapshots[name], unbroken.snapshots[name])
    for name in ("loss", "train_accuracy", "dev_accuracy", "dev_loss"):
        np.testing.assert_array_equal(getattr(saved.history, name), getattr(unbroken.history, name))
    assert not path.exists(), "the finished run replaces the checkpoint"

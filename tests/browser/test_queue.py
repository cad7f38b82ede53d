"""The training queue in a real browser: beyond NNMATH_MAX_TRAININGS a run waits and says so, and
Stop takes it out of the queue (nothing is trained, nothing queued again)."""

from __future__ import annotations

import pytest

from engine.slots import TrainingSlots
from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

LINK = "/train?data=sample&hidden=12&alpha=0.1&iterations=40&seed=0"


def test_a_queued_run_says_so_and_stop_leaves_the_queue(page, killable_app, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    url, _ = killable_app(runs, NNMATH_MAX_TRAININGS="1")
    slots = TrainingSlots(runs / "slots", 1)
    with slots.acquire():  # this test process is "another training" holding the only slot
        page.goto(url + LINK)
        page.get_by_text(
            "queued for a free training slot: yours is next (1 of 1 training"
        ).wait_for()
        assert slots.ahead_of(None) == 1  # the page's ticket
        page.get_by_role("button", name="Stop").click()
        page.get_by_text("Not trained yet with these settings").wait_for()
        wait_for_app(page)
        assert slots.ahead_of(None) == 0, "Stop took the run out of the queue"
    assert_no_exception(page)
    assert not list((runs / "runs").glob("*.npz"))  # nothing was trained
    # with the slot free, Train trains at once
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Trained 40 iterations").wait_for()

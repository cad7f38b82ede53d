"""views.grid's sentences about a sweep (the heatmap's data is tested through the Sweep page)."""

from __future__ import annotations

from types import SimpleNamespace

from views import grid


def progress(*statuses: str, stopped: bool = False):
    runs = [SimpleNamespace(status=s, message="", config=None) for s in statuses]
    return SimpleNamespace(runs=runs, stopped=stopped)


def test_how_a_sweep_ended_reads_as_english_for_one_run_and_for_several():
    assert grid.outcome_text(progress("finished", "finished", "cached")) == (
        "Sweep finished: 2 trained, 1 was cached."
    )
    assert grid.outcome_text(progress("cached", "cached", "diverged")) == (
        "Sweep finished: 0 trained, 2 were cached, 1 diverged."
    )

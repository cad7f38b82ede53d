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


def test_luck_says_how_far_apart_the_seeds_landed_as_their_two_numbers_are_written():
    import re
    from decimal import Decimal

    import pandas as pd

    # 10,000 dev images: 86.94% reads 86.9%, 88.06% reads 88.1%: 1.2 points apart as written
    # (the unrounded 1.12 would read 1.1, which no reader gets from the two numbers shown)
    table = pd.DataFrame(
        {"hidden": [10, 10, 10], "alpha": [0.1] * 3, "seed": [0, 1, 2],
         "dev_accuracy": [0.8694, 0.8750, 0.8806]}
    )  # fmt: skip
    text = grid.seeds_only(table)
    low, high = (Decimal(x) for x in re.search(r"from ([\d.]+)% to ([\d.]+)%", text).groups())
    moved = Decimal(re.search(r"moved the result by ([\d.]+) points", text).group(1))
    assert (low, high, moved) == (Decimal("86.9"), Decimal("88.1"), high - low)

"""The class load bench's websocket driver against a real served app: sessions opened at once
over Streamlit's own protocol each get their own run's numbers, one link opened by several
sessions is trained once, and a page that fails is reported as an error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bench import bench_class as b
from data import load_dataset, train_dev_split
from engine.store import RunStore


@pytest.mark.slow
def test_sessions_opened_at_once_over_the_websocket_show_their_own_runs():
    ds = load_dataset("sample")
    train, dev = train_dev_split(ds, seed=0)
    different = [b.link("sample", 10 + i, i, 30) for i in range(3)]
    same = [b.link("sample", 9, 5, 30)] * 2
    broken = b.link("no-such-dataset", 10, 0, 30)
    with tempfile.TemporaryDirectory() as tmp:
        server = b.Server(Path(tmp))
        try:
            *outcomes, failed = b.open_all(server.port, different + same + [broken])
        finally:
            server.stop()
        assert all(not o.errors for o in outcomes), [o.errors for o in outcomes]
        assert all(0 < o.seconds <= o.finished for o in outcomes)
        right, (identical, recomputed), problems = b.check(
            outcomes, Path(tmp), ds, train, dev, recompute=2
        )
        assert right == 5 and (identical, recomputed) == (2, 2), problems
        shown = [o.shown["Dev accuracy"] for o in outcomes]
        assert shown[3] == shown[4]  # the same link, the same numbers
        # four runs in the store: the shared link was trained once, not twice
        assert len(RunStore(Path(tmp)).records()) == 4
    assert failed.errors and "no-such-dataset" in " ".join(failed.errors)
    assert "Dev accuracy" not in failed.shown


def test_the_class_record_bench_reads_back_every_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(b, "CLASS_STUDENTS", 4)
    monkeypatch.setattr(b, "CLASS_ANSWERS", 3)
    row = b.class_record(f"sqlite:///{tmp_path / 'classes.sqlite'}", "SQLite")
    assert (row.answers, row.stored) == (12, 12)
    assert len(row.join_times) == 4 and len(row.answer_times) == 12
    cells = row.cells()
    assert cells[:3] == ["SQLite", "4", "12 of 12"] and "→" in cells[-1]
    assert b.class_table([row]).splitlines()[0].startswith("| database | students |")

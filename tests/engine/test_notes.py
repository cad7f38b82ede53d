"""Notes and tags on runs: checked on the way in, kept beside the record through a restart and a
retraining, gone with the run, and the ledger filters on them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from data import train_dev_split
from engine.config import RunConfig
from engine.notes import NOTE_MAX, TAGS_MAX, Annotation, parse_tags
from engine.store import RunStore
from tests.helpers import tiny_dataset
from views import compare


@pytest.fixture
def stored(tmp_path):
    ds = tiny_dataset()
    train, dev = train_dev_split(ds, dev_size=50, seed=0)
    store = RunStore(tmp_path)
    base = RunConfig(data=ds.fingerprint, dev_size=50, hidden=4)
    configs = [dataclasses.replace(base, seed=s, alpha=a) for a in (0.1, 0.5) for s in (0, 1, 2)]
    for c in configs:
        store.train(c, 20, train, dev)
    return store, configs, (train, dev)


def test_notes_and_tags_survive_a_restart_and_a_longer_run(stored, tmp_path):
    store, configs, (train, dev) = stored
    run_id = configs[0].run_id
    kept = store.annotate(run_id, note="  the notebook's run\n", tags=parse_tags("Baseline, nb"))
    assert kept == Annotation("the notebook's run", ("baseline", "nb"))
    restarted = RunStore(tmp_path)  # a new server process on the same folder
    assert restarted.annotation(run_id) == kept
    restarted.train(configs[0], 40, train, dev)  # extended: a new record, the same notes
    assert restarted.record(run_id).iterations == 40
    assert restarted.annotation(run_id) == kept
    assert restarted.annotate(run_id, tags=[]) == Annotation("the notebook's run", ())
    assert restarted.annotations() == {run_id: Annotation("the notebook's run", ())}


def test_deleting_a_run_removes_its_notes(stored):
    store, configs, _ = stored
    run_id = configs[1].run_id
    store.annotate(run_id, note="x")
    store.delete(run_id)
    assert not store.notes_path(run_id).exists() and store.annotations() == {}
    with pytest.raises(ValueError, match="not in the run cache"):
        store.annotate(run_id, note="again")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(note="x" * (NOTE_MAX + 1)), "at most"),
        (dict(note=5), "must be text"),
        (dict(tags=["ok", "no spaces"]), "a tag is"),
        (dict(tags=["../etc"]), "a tag is"),
        (dict(tags="baseline"), "not one string"),
        (dict(tags=[f"t{i}" for i in range(TAGS_MAX + 1)]), f"at most {TAGS_MAX} tags"),
    ],
)
def test_bad_notes_and_tags_are_refused_and_change_nothing(stored, kwargs, message):
    store, configs, _ = stored
    run_id = configs[2].run_id
    store.annotate(run_id, note="kept", tags=["a"])
    with pytest.raises(ValueError, match=message):
        store.annotate(run_id, **kwargs)
    assert store.annotation(run_id) == Annotation("kept", ("a",))


@pytest.mark.parametrize("run_id", ["../../etc/passwd", "abc", "0123456789abcdeG"])
def test_a_run_id_never_becomes_a_path(stored, run_id):
    store, _, _ = stored
    with pytest.raises(ValueError, match="16 hex digits"):
        store.annotate(run_id, note="x")


def test_a_damaged_notes_file_reads_as_none(stored):
    store, configs, _ = stored
    run_id = configs[3].run_id
    store.notes_path(run_id).write_text('{"note": 7, "tags": "x"')
    assert store.annotation(run_id) == Annotation()


def test_the_ledger_shows_groups_notes_and_tags_and_filters_on_them(stored):
    store, configs, _ = stored
    store.annotate(configs[0].run_id, note="Slow but steady", tags=["baseline"])
    store.annotate(configs[4].run_id, tags=["baseline", "fast"])
    frame = compare.runs_frame(store.records(), store.annotations())
    assert len(frame) == 6
    assert compare.filter_runs(frame, tags=["baseline"])["run_id"].tolist() == sorted(
        [configs[0].run_id, configs[4].run_id], key=frame["run_id"].tolist().index
    )
    assert compare.filter_runs(frame, tags=["baseline", "fast"])["run_id"].tolist() == [
        configs[4].run_id
    ]
    assert compare.filter_runs(frame, text="STEADY")["run_id"].tolist() == [configs[0].run_id]
    assert compare.filter_runs(frame, text="fast")["run_id"].tolist() == [configs[4].run_id]
    # each run's group is the three seeds of its alpha: mean ± sd as numpy computes them
    for alpha in (0.1, 0.5):
        rows = frame[frame["alpha"] == alpha]
        accs = rows["dev_accuracy"].to_numpy()
        expected = f"{accs.mean() * 100:.1f}% ± {np.std(accs, ddof=1) * 100:.1f} (3 seeds)"
        assert set(rows["seeds"]) == {expected}


def test_only_what_differs_comes_first_for_any_number_of_runs(stored):
    store, configs, _ = stored
    records = [store.record(c.run_id) for c in configs[:2] + configs[4:5]]
    differs, shared = compare.settings_side_by_side(records)
    assert differs.index.tolist() == ["alpha", "seed"]
    assert differs.loc["seed"].tolist() == ["0", "1", "1"]
    assert differs.loc["alpha"].tolist() == ["0.1", "0.1", "0.5"]
    assert (
        shared.loc["hidden", "value"] == "4" and shared.loc["batch_size", "value"] == "full batch"
    )
    assert "iterations" in shared.index and len(differs.columns) == 3

"""Issue 27, item 4: a stored run that a page cannot show does not break the pages that list runs
for everyone. A run trained (by the code before the fix) with seed 2**64 made the Runs page fail
with "Python int too large to convert to C long" for every visitor, before its Delete controls.

Here such records are written into the store directly: the ledger flags them with the reason and
a Delete that works; Runs, Compare and Sweep render; the valid runs stay listed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import nnmath
from engine.store import RunStore, record_of
from tests.helpers import app_sample

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def hostile_store():
    """A store with one valid run, three that no page can show and one damaged; returns (store, valid
    run id, the three bad run ids)."""
    train, dev, base = app_sample()
    store = RunStore()
    good = store.train(base, 10, train, dev)
    runs = store.root / "runs"
    # 1. what the old code stored for ?seed=18446744073709551616: arrays and record agree
    big = replace(base, seed=2**64)
    nnmath.save_result(replace(good, config=big.train_config()), store.npz_path(big.run_id))
    rec = record_of(big, good, nbytes=store.npz_path(big.run_id).stat().st_size)
    store.json_path(big.run_id).write_text(json.dumps(rec.to_json()))
    # 2. the valid run's arrays under a record that is not JSON
    garbage = "0" * 15 + "1"
    shutil.copy(store.npz_path(base.run_id), runs / f"{garbage}.npz")
    (runs / f"{garbage}.json").write_text("{{{ not json")
    # 3. a record whose numbers no table can hold (an int of 400 digits, a date in 1e300)
    huge = "0" * 15 + "2"
    shutil.copy(store.npz_path(big.run_id), runs / f"{huge}.npz")
    d = rec.to_json() | {"run_id": huge, "iterations": 10**400, "created": 1e300}
    (runs / f"{huge}.json").write_text(json.dumps(d))
    # 4. arrays that do not load (a truncated file): the store removes them, as any damage
    cut = "0" * 15 + "3"
    (runs / f"{cut}.npz").write_bytes(b"PK\x03\x04 truncated")
    (runs / f"{cut}.json").write_text(json.dumps(rec.to_json() | {"run_id": cut}))
    return store, base.run_id, sorted([big.run_id, garbage, huge])


def test_the_store_lists_only_what_pages_can_show_and_says_why_of_the_rest():
    store, good, bad = hostile_store()
    assert [r.run_id for r in store.records()] == [good]
    unlisted = dict(store.unlisted())
    assert sorted(unlisted) == bad
    assert any("seed must be an integer between 0 and 4294967295" in w for w in unlisted.values())
    assert any("cannot be read" in w for w in unlisted.values())
    assert not store.npz_path("0" * 15 + "3").exists()


def test_the_runs_page_flags_bad_records_and_deletes_them():
    store, good, bad = hostile_store()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/6_runs.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("3 stored run(s) cannot be shown" in w.value for w in at.warning)
    assert "1 cached run(s)" in " ".join(m.value for m in at.markdown)
    flagged = next(d.value for d in at.dataframe if "run id" in d.value.columns)
    assert sorted(flagged["run id"]) == bad
    at.button(key="runs_delete_unlisted").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert store.unlisted() == [] and [r.run_id for r in store.records()] == [good]
    assert not any(p.stem in bad for p in (store.root / "runs").iterdir())
    assert not at.warning or all("cannot be shown" not in w.value for w in at.warning)


@pytest.mark.parametrize(
    "page, query",
    [
        ("pages/8_compare.py", {}),
        ("pages/7_sweep.py", {}),
    ],
)
def test_other_pages_that_list_runs_render(page, query):
    hostile_store()
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]

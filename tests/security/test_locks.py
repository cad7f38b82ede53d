"""Issue 27, item 5: a teacher's ``lock`` accepts ``all`` (documented), every setting name and
nonsense, on the pages that read it, without an exception (``lock=all`` raised KeyError on Train
for the rest of the session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.config import NOTEBOOK
from ui.teacher import LOCKABLE, Exercise, set_for_exercise

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.mark.parametrize("name", [*LOCKABLE, "all"])
def test_every_lockable_name_has_a_summary(name):
    exercise, problems = Exercise.from_query({"lock": name})
    assert problems == []
    line = set_for_exercise(NOTEBOOK, exercise)
    assert (
        line.startswith("Set for this exercise: ") and line.count(",") == len(exercise.locked) - 1
    )


def test_unknown_names_give_one_message_however_many():
    names = ",".join(f"n{i}" for i in range(5000))
    exercise, problems = Exercise.from_query({"lock": "seed," + names, "hide": "x" * 5000})
    assert exercise.locked == {"seed"}
    assert len(problems) == 2
    assert problems[0].startswith("URL parameter lock: 'n0', 'n1', 'n2' and 4,997 more are not")
    assert "(5,000 characters) is not one of hidden" in problems[1]


@pytest.mark.parametrize("lock", ["all", "activation", "model", ",".join(LOCKABLE), "nope"])
@pytest.mark.parametrize("page", ["pages/2_train.py", "pages/1_data.py", "streamlit_app.py"])
def test_locks_never_raise_and_stay_for_the_session(lock, page):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lock"] = lock
    if page != "streamlit_app.py":
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page == "pages/2_train.py" and lock != "nope":
        # the locked controls are shown disabled, and the page keeps working on the next run
        if lock in ("all", "activation") or "," in lock:
            assert at.selectbox(key="w_activation").disabled
        at.run()
        assert not at.exception, [e.value for e in at.exception]

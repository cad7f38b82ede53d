"""Where a learner's lesson answers, by-hand attempts and runs are recorded: the one way in.

Every page that records something about a learner calls these functions and nothing else, so
the class helper (issue 23) can make them also write to the class's record without touching the
pages. They keep everything in ``st.session_state`` (this browser tab's session) and, when the session
is a student's in a class, also write it to the class's record (ui.classroom):

- :func:`record_answer` — a predict step's locked answer (the first one stays: a guess is locked
  once given);
- :func:`record_attempt` — one by-hand attempt and whether it was right;
- :func:`record_run` — a run the learner trained or was served in a lesson;

and :func:`answer`, :func:`attempts`, :func:`runs` read them back. Values are plain Python
(str, float, tuple of floats), so they can be stored anywhere. The names and signatures are
stable: other modules build on them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import streamlit as st

from ui import classroom

KEY = "lesson_progress"


class Attempt(NamedTuple):
    value: Any
    correct: bool


def _progress() -> dict[str, Any]:
    ss = st.session_state
    if KEY not in ss:
        ss[KEY] = {"answers": {}, "attempts": {}, "runs": []}
    return ss[KEY]


def record_answer(lesson_id: str, step_id: str, value: Any) -> Any:
    """Lock the learner's answer to a predict step; returns the answer that holds (the first one
    given: later calls do not change it)."""
    answers = _progress()["answers"]
    if (lesson_id, step_id) not in answers:
        answers[(lesson_id, step_id)] = value
        classroom.record(lesson_id, step_id, value)  # when the session is a student's
    return answers[(lesson_id, step_id)]


def record_attempt(lesson_id: str, step_id: str, value: Any, correct: bool) -> int:
    """Keep one by-hand attempt; returns how many attempts the learner has made at this step."""
    tries = _progress()["attempts"].setdefault((lesson_id, step_id), [])
    tries.append(Attempt(value, bool(correct)))
    classroom.record(lesson_id, step_id, value, bool(correct))
    return len(tries)


def record_run(run_id: str) -> None:
    """Note a run the learner trained or was served in a lesson (each run id once)."""
    runs_ = _progress()["runs"]
    if run_id not in runs_:
        runs_.append(run_id)
        classroom.record_run(run_id)


def answer(lesson_id: str, step_id: str) -> Any | None:
    """The learner's locked answer to a predict step, or None."""
    return _progress()["answers"].get((lesson_id, step_id))


def attempts(lesson_id: str, step_id: str) -> list[Attempt]:
    """The learner's by-hand attempts at a step, oldest first."""
    return list(_progress()["attempts"].get((lesson_id, step_id), ()))


def runs() -> list[str]:
    """Run ids recorded with :func:`record_run`, in order."""
    return list(_progress()["runs"])

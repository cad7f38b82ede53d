"""A teacher's link: parsing and formatting (pure), then the Train page with locked and hidden
controls, kept across pages, the link maker, and the compact embedded layout (AppTest)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine.config import Settings
from tests.pages.test_pages import APP
from ui import teacher
from ui.teacher import Exercise

EXERCISE = {
    "hidden": "32",
    "iterations": "60",
    "lock": "hidden,seed,iterations",
    "hide": "advanced",
}


# ---- pure -----------------------------------------------------------------------------------------
def test_lock_and_hide_are_read_and_written_in_a_fixed_order():
    ex, problems = Exercise.from_query({"lock": "seed, Hidden,iterations", "hide": "advanced"})
    assert problems == []
    assert ex == Exercise(frozenset({"hidden", "seed", "iterations"}), frozenset({"advanced"}))
    assert ex.to_query() == {"lock": "hidden,iterations,seed", "hide": "advanced"}
    assert ex.is_locked("seed") and not ex.is_locked("alpha") and ex.is_hidden("advanced")
    assert Exercise.from_query(ex.to_query())[0] == ex


def test_no_lock_or_hide_is_no_exercise_and_all_locks_everything():
    assert Exercise.from_query({"hidden": "32"}) == (None, [])
    ex, _ = Exercise.from_query({"lock": "all"})
    assert ex.locked == frozenset(teacher.LOCKABLE) and ex.is_locked("batch_size")
    assert not Exercise() and Exercise(hidden=frozenset({"links"}))


def test_unknown_names_are_left_out_with_a_message():
    ex, problems = Exercise.from_query({"lock": "alpha,speed", "hide": "everything"})
    assert ex.locked == {"alpha"} and ex.hidden == frozenset()
    assert problems[0].startswith("URL parameter lock: 'speed' is not one of data, hidden, alpha")
    assert problems[1].startswith("URL parameter hide: 'everything' is not one of hidden")


def test_the_link_keeps_commas_readable():
    url = teacher.link(
        "http://host/train",
        Settings(hidden=32).to_query(),
        ["seed", "hidden"],
        ["advanced"],
    )
    assert url == (
        "http://host/train?data=sample&hidden=32&alpha=0.1&iterations=500&seed=0"
        "&lock=hidden,seed&hide=advanced"
    )


def test_set_for_exercise_says_what_the_teacher_chose():
    ex = Exercise(frozenset({"hidden", "seed", "iterations"}))
    assert teacher.set_for_exercise(Settings(hidden=32, iterations=2000), ex) == (
        "Set for this exercise: hidden units 32, iterations 2,000, seed 0."
    )


# ---- pages --------------------------------------------------------------------------------------
def open_app(page: str | None = "pages/2_train.py", **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def widget(at, key):
    return next(w for kind in ("number_input", "select_slider", "selectbox") for w in
                getattr(at, kind) if w.key == key)  # fmt: skip


def test_a_teachers_link_locks_and_hides_controls_so_only_alpha_changes():
    at = open_app(**EXERCISE)
    assert widget(at, "w_hidden").value == 32
    assert widget(at, "w_hidden").disabled and widget(at, "w_seed").disabled
    assert widget(at, "w_iterations").disabled and not widget(at, "w_alpha").disabled
    assert not at.expander  # the Advanced corner and the link maker are gone
    assert "Set for this exercise: hidden units 32, iterations 60, seed 0." in [
        c.value for c in at.caption
    ]
    # the student changes alpha: a new run of the exercise, the locks stay in the URL
    widget(at, "w_alpha").set_value(0.2).run()
    assert at.query_params["alpha"] == "0.2" and at.query_params["lock"] == "hidden,iterations,seed"
    at.button(key="train").click().run()
    assert any("Trained 60 iterations" in s.value for s in at.success)


def test_the_exercise_survives_navigation():
    at = open_app(**EXERCISE)
    for k in list(at.query_params):  # navigation clears the URL
        del at.query_params[k]
    at.switch_page("pages/3_evaluate.py").run()
    assert (
        at.query_params["lock"] == "hidden,iterations,seed"
        and at.query_params["hide"] == "advanced"
    )
    for k in list(at.query_params):
        del at.query_params[k]
    at.switch_page("pages/2_train.py").run()
    assert widget(at, "w_hidden").disabled and widget(at, "w_hidden").value == 32
    assert not at.expander
    # Home's one-click notebook training would undo the preset: disabled
    assert open_app(None, **EXERCISE).button(key="home_train").disabled
    assert not open_app(None, hidden="32").button(key="home_train").disabled


def test_a_locked_dataset_cannot_be_switched_on_the_data_page():
    at = open_app("pages/1_data.py", lock="data")
    assert at.radio(key="data_source").disabled
    assert "The dataset is set for this exercise." in [c.value for c in at.caption]


def test_the_link_maker_builds_the_teachers_link():
    at = open_app(hidden="32", iterations="60")
    code = at.code[-1].value
    assert code.endswith("hidden=32&alpha=0.1&iterations=60&seed=0&lock=hidden,iterations,seed"
                         "&hide=advanced")  # fmt: skip
    at.multiselect(key="teacher_lock").set_value(["alpha"])
    at.multiselect(key="teacher_hide").set_value(["advanced", "links"]).run()
    assert at.code[-1].value.endswith("seed=0&lock=alpha&hide=advanced,links")
    # ... and opening it hides the link boxes too
    at = open_app(hidden="32", iterations="60", lock="alpha", hide="advanced,links")
    assert not at.code and widget(at, "w_alpha").disabled


def test_an_unknown_lock_is_named():
    at = open_app(lock="speed")
    assert any("lock: 'speed' is not one of" in w.value for w in at.warning)


@pytest.mark.parametrize("embedded", [False, True])
def test_embedded_pages_are_compact(monkeypatch, embedded):
    monkeypatch.setattr(teacher, "embedded", lambda: embedded)
    at = open_app(iterations="60")
    assert bool(at.caption) is not embedded  # the page's explanation
    assert bool(at.code) is not embedded  # links and the link maker

"""The Class and Teacher pages (AppTest) on the default SQLite class database of the test's run
folder: create a class, join it by link, record through ui.progress and the Train page, and the
teacher's page shows it — to the right key only."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine.classroom import NO_ACCESS, Classroom
from tests.pages.test_pages import app


def param(at, name: str) -> str:
    v = at.query_params[name]
    return v if isinstance(v, str) else v[0]


def texts(at) -> str:
    return "\n".join(
        [m.value for m in at.markdown] + [s.value for s in at.success] + [e.value for e in at.error]
    )


def test_a_teacher_creates_a_class_and_gets_its_code_and_key_once():
    at = app("pages/30_class.py")
    at.text_input(key="class_name").input("Year 11")
    at.button(key="FormSubmitter:class_create-Create a class").click().run()
    assert not at.exception
    link, key = (c.value for c in at.code)
    assert link.endswith(f"/class?join={at.session_state['_class_created'][0]}")
    room = Classroom()
    assert room.name(at.session_state["_class_created"][0], key) == "Year 11"
    # The teacher's page opens in the same session without typing the key.
    at.switch_page("pages/31_teacher.py").run()
    assert not at.exception
    assert "Year 11" in texts(at) and "No student has joined yet" in at.info[0].value
    # A fresh session does not see the key again.
    assert not [c for c in app("pages/30_class.py").code if c.value == key]


def _join(code: str, nickname: str) -> AppTest:
    at = app("pages/30_class.py", join=code)
    assert at.text_input(key="class_code").value == code.upper()
    at.text_input(key="class_nickname").input(nickname)
    at.button(key="FormSubmitter:class_join-Join").click().run()
    assert not at.exception
    return at


def test_a_student_joins_by_link_and_stays_in_the_class_across_pages_and_tabs(calls):
    room = Classroom()
    code, key = room.create("Maths")
    at = _join(code.lower(), "ada")
    assert "You are in class **Maths** as **ada**" in texts(at)
    token = param(at, "student")
    assert "join" not in at.query_params
    # Another page keeps the student in the URL; a new tab with that address is in the class.
    at.switch_page("pages/2_train.py").run()
    assert param(at, "student") == token
    tab = app("pages/2_train.py", student=token, iterations=30)
    tab.button(key="train").click().run()
    assert not tab.exception and calls["gradient_descent"] == 1
    [run] = room.runs(code, key)
    assert run.nickname == "ada" and run.details["hidden"] == 10
    assert run.details["iterations"] == 30 and 0 < run.details["dev_accuracy"] <= 1
    assert "iterations=30" in run.details["query"]
    # Joining again with a taken nickname, or a bad one, says why and records nothing.
    again = _join(code, "ADA")
    assert "taken in this class" in again.error[0].value
    bad = _join(code, "<b>")
    assert "letters, digits" in bad.error[0].value
    assert [m.nickname for m in room.roster(code, key)] == ["ada"]


def _answering():
    import streamlit as st

    from ui import classroom, progress

    classroom.keep_membership()
    progress.record_answer("cost", "guess", 2.3)
    progress.record_answer("cost", "guess", 9.9)  # locked: not recorded again
    progress.record_attempt("forward", "softmax", 0.5, False)
    progress.record_attempt("forward", "softmax", 0.25, True)
    progress.record_run("abc")
    progress.record_run("abc")
    st.write("done")


def test_progress_also_writes_to_the_class_when_the_session_is_a_students():
    room = Classroom()
    code, key = room.create("Maths")
    token = room.join(code, "bob")
    at = AppTest.from_function(_answering)
    at.query_params["student"] = token
    at.run()
    assert not at.exception
    assert room.answers(code, key, "cost", "guess") == [("bob", 2.3)]
    tries = [(r.value, r.correct) for r in room.records(code, key, "forward")]
    assert tries == [(0.5, False), (0.25, True)]
    assert [r.run_id for r in room.runs(code, key)] == ["abc"]
    # Outside a class nothing is written anywhere.
    AppTest.from_function(_answering).run()
    assert len(room.records(code, key)) == 3


def test_the_teacher_sees_everything_and_a_wrong_key_sees_nothing():
    room = Classroom()
    code, key = room.create("Maths")
    for nick, guess in (("ada", 2.3), ("bob", 4.0), ("cy", 2.3)):
        me = room.join(code, nick)
        room.record(me, "cost", "guess", guess)
        room.record(me, "forward", "softmax", 0.1, correct=nick == "ada")
        room.record_run(me, f"r-{nick}", {"hidden": 10, "dev_accuracy": 0.8, "iterations": 500})
    wrong = app("pages/31_teacher.py", **{"class": code, "key": key + "x"})
    assert NO_ACCESS in wrong.error[0].value
    assert "ada" not in texts(wrong) and not wrong.dataframe and not wrong.get("plotly_chart")
    unknown = app("pages/31_teacher.py", **{"class": "ZZZZZZ", "key": key})
    assert unknown.error[0].value == wrong.error[0].value

    at = app("pages/31_teacher.py", **{"class": code, "key": key})
    assert "key" not in at.query_params  # kept out of the (projected) address bar
    roster = at.table[0].value
    assert list(roster.index) == ["ada", "bob", "cy"] and list(roster["runs"]) == [1, 1, 1]
    answers = at.table[1].value
    assert list(answers["nickname"]) == ["ada", "bob", "cy"]
    assert list(answers["answer"]) == ["2.3", "4", "2.3"]  # as typed: 4, not 4.0
    [tries] = [t.value for t in at.table if "tries" in t.value]  # a table: no toolbar on a phone
    assert list(tries.index) == ["ada", "bob", "cy"]
    assert list(tries["right"]) == ["yes, at try 1", "not yet", "not yet"]
    assert not at.dataframe
    board = at.table[-1].value  # a table, not a dataframe: it wraps to a phone's width
    assert list(board.index) == ["1", "2", "3"] and list(board["nickname"]) == ["ada", "bob", "cy"]
    assert at.code[0].proto.wrap_lines  # the join link is whole on a phone
    # Delete: the class and all under it are gone, the page says so.
    at.checkbox(key="t_sure").check().run()
    at.button(key="t_delete").click().run()
    assert "is deleted" in at.success[0].value
    with pytest.raises(PermissionError):
        room.roster(code, key)


def _view():
    import streamlit as st

    from ui import classroom

    choice = classroom.predict_view("digits", "dev-share", [0, 1, 1, 7])
    number = classroom.predict_view("digits", "inputs", [784.0, 10.0])
    unknown = classroom.predict_view("nope", "x", [1])
    st.write(repr((choice, number, unknown)))


def test_predict_steps_show_choice_texts_and_the_real_result_once_the_run_is_stored(calls):
    from engine.lessons import builtin
    from ui.classroom import PredictView

    at = AppTest.from_function(_view, default_timeout=60).run()
    choice, number, unknown = eval(at.markdown[0].value, {"PredictView": PredictView})
    assert choice == PredictView(
        "What a digit is to the network · What share of the labelled images is held out as the "
        "dev set?",
        ["about 5%", "about 20%", "about 20%", 7],
    )  # the lesson's run is not stored yet: no real result, nothing trained
    assert number.truth is None and calls["gradient_descent"] == 0
    assert unknown == PredictView("nope · x", [1])
    # the teacher reads the question asked, not the step's id ("… · inputs")
    assert number.title == (
        "What a digit is to the network · How many numbers does the network read for one image?"
    )
    lesson = next(lesson for lesson in builtin() if lesson.id == "digits")
    app("pages/2_train.py", **lesson.run_settings(None).to_query())  # trains the lesson's run
    at = AppTest.from_function(_view, default_timeout=60).run()
    choice, number, _ = eval(at.markdown[0].value, {"PredictView": PredictView})
    assert number.truth == 784.0 and number.values == [784.0, 10.0]
    assert choice.right == ("about 20%",)


def test_after_answering_in_a_lesson_a_student_sees_the_class_without_names():
    room = Classroom()
    code, key = room.create("Maths")
    for nick, guess in (("bob", 100.0), ("cy", 784.0)):
        room.record(room.join(code, nick), "digits", "inputs", guess)
    me = room.join(code, "ada")
    at = app("pages/0_lessons.py", lesson="digits", step=2, student=me)
    assert not at.get("plotly_chart")  # before answering: nothing of the class
    k = "lesson:digits:inputs:"
    at.number_input(key=k + "number").set_value(784.0).run()
    at.button(key=k + "lock").click().run()
    assert not at.exception
    assert "Your class so far: 3 answer(s), names not shown." in [c.value for c in at.caption]
    said = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "bob" not in said and "cy" not in said
    assert room.answers(code, key, "digits", "inputs")[-1] == ("ada", 784.0)
    # Outside a class the same step shows no class chart.
    alone = app("pages/0_lessons.py", lesson="digits", step=2)
    alone.number_input(key=k + "number").set_value(784.0).run()
    alone.button(key=k + "lock").click().run()
    assert not [c for c in alone.caption if "Your class" in c.value]


def test_an_unreachable_class_database_is_an_error_without_its_address(monkeypatch):
    monkeypatch.setenv("NNMATH_DATABASE_URL", "postgresql://u:secret@127.0.0.1:1/nowhere")
    for page in ("pages/30_class.py", "pages/31_teacher.py"):
        at = app(page)
        assert "cannot be reached right now" in at.error[0].value
        assert "secret" not in at.error[0].value and "127.0.0.1" not in at.error[0].value
    # Other pages go on; a student's link there only warns.
    at = app(None, student="x" * 22)
    assert any("cannot be reached right now" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]


def test_a_student_of_a_deleted_class_is_told_and_records_nothing():
    room = Classroom()
    code, key = room.create("Maths")
    at = _join(code, "ada")
    room.record(classroom_id(at), "l", "s", 1)
    at.run()
    assert "l · s" in texts(at)
    room.delete(code, key)
    at.run()
    assert "no longer exists" in at.warning[0].value
    assert "student" not in at.query_params
    at.run()
    assert at.text_input(key="class_nickname")  # the join form again


def classroom_id(at) -> str:
    return param(at, "student")

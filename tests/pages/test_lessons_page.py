"""The Lessons page (AppTest): every built-in lesson walked end to end — every predict answered
and revealed beside the run's number, every run served, every by-hand step answered wrong (which
entry is wrong, the worked numbers after two tries) and right — plus the course list, the URL
position and uploads."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine import lessons as el
from engine.runs import Runs
from engine.store import RunStore
from tests.pages.test_pages import APP

PAGE = "pages/0_lessons.py"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """One run store for the module: the lessons share the notebook's run, trained once."""
    return tmp_path_factory.mktemp("lesson-runs")


@pytest.fixture(autouse=True)
def _shared_store(runs_dir, monkeypatch):
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(runs_dir))


def open_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    kinds = ("markdown", "success", "info", "warning", "error", "caption")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def facts(lesson, step, runs_dir) -> dict:
    """The step's facts computed here, from the run the store holds (the page trained it)."""
    engine = Runs(RunStore(runs_dir))

    def of(name):
        run = engine.open(lesson.run_settings(name))
        assert run.result is not None, "the page should have trained this run"
        return run

    run = of(step.run)
    out = {
        **el.run_facts(run.result, run.dev.X, run.dev.labels, run.train.n),
        **el.trace_facts(
            el.params_at(run.result, step.at),
            lesson.image_of(step),
            run.dev.X,
            run.dev.labels,
            run.result.config.alpha,
        ),
    }
    for s in lesson.steps:
        if s.kind == "run" and engine.open(s.settings).result is not None:
            r = engine.open(s.settings)
            out[s.id] = el.run_facts(r.result, r.dev.X, r.dev.labels, r.train.n)
    return out


def click(at, key) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def walk(lesson, runs_dir) -> None:
    at = open_page(lesson=lesson.id, step=1)
    for number, step in enumerate(lesson.steps, start=1):
        assert at.query_params["step"] == [str(number)] or at.query_params["step"] == str(number)
        assert f"Step {number} of {len(lesson.steps)}" in at.get("progress")[0].proto.text
        k = f"lesson:{lesson.id}:{step.id}:"
        if step.kind == "predict":
            if step.choices:
                at.radio(key=k + "choice").set_value(step.choices[0].text).run()
            else:
                at.number_input(key=k + "number").set_value(1.0).run()
            click(at, k + "lock")
            f = facts(lesson, step, runs_dir)
            shown = {m.label: m.value for m in at.metric}
            if step.choices:
                right = el.right_choices(step, f)
                assert right, f"{lesson.id}/{step.id}: no choice is right for this run"
                assert shown["The run"] == " / ".join(step.choices[i].text for i in right)
                assert shown["Your guess (locked)"] == step.choices[0].text
            else:
                truth = el.expected_numbers(step.answer, f)[0]
                assert shown["The run"] == el.format_value(truth)
            for text in step.keys.get("reveal", ()):
                assert el.render(text, f).split("\n")[0][:40] in texts(at)
        elif step.kind == "run":
            click(at, k + "train")
            assert "Run done" in texts(at)
        elif step.kind == "by-hand":
            f = facts(lesson, step, runs_dir)
            want = el.expected_numbers(step.answer, f)
            labels = el.entry_labels(step.answer, want.size)
            wrong = want.copy()
            wrong[-1] += 1 + 10 * step.tolerance.value * max(1, abs(want[-1]))
            for attempt in range(2):
                for i, v in enumerate(wrong):
                    at.number_input(key=f"{k}entry{i}").set_value(float(v))
                click(at, k + "check")
                errors = " ".join(e.value for e in at.error)
                assert labels[-1] in errors, errors
                assert ("Worked numbers" in texts(at)) == (attempt == 1)
            for i, v in enumerate(want):
                at.number_input(key=f"{k}entry{i}").set_value(float(v))
            click(at, k + "check")
            assert any("Right" in s.value for s in at.success), texts(at)
            assert el.render(step.keys["worked"][0], f)[:40] in texts(at)
        else:
            if step.text and el.placeholders(step.text):
                f = facts(lesson, step, runs_dir)
                first = el.render(step.text, f).split("\n")[0]
                assert first[:40] in texts(at)
            assert len(at.get("plotly_chart")) >= len(step.figures)
        if number < len(lesson.steps):
            click(at, "lesson_next")
        else:
            assert "Lesson complete." in texts(at)
            assert len(at.get("page_link")) == len(step.links)
    # back on the course list, the lesson says it is done
    click(at, "lesson_list")
    tasks = sum(s.kind in ("predict", "run", "by-hand") for s in lesson.steps)
    card = next(m.value for m in at.markdown if f". {lesson.title}**" in m.value)
    assert (f" · all {tasks} tasks done ✓" in card) == bool(tasks), card


@pytest.mark.parametrize("lesson", el.builtin(), ids=lambda x: x.id)
def test_each_lesson_walks_end_to_end(lesson, runs_dir):
    walk(lesson, runs_dir)


# ---- the course list, the URL and uploads -------------------------------------------------------
def test_the_course_lists_every_lesson_and_start_puts_the_first_step_in_the_url():
    at = open_page()
    assert at.title[0].value == "Lessons"
    lessons = el.builtin()
    for lesson in lessons:
        assert at.button(key=f"start_{lesson.id}")
    click(at, f"start_{lessons[2].id}")
    assert at.query_params["lesson"] in ([lessons[2].id], lessons[2].id)
    assert at.title[0].value == lessons[2].title
    assert f"Step 1 of {len(lessons[2].steps)}" in at.get("progress")[0].proto.text


def test_a_link_opens_at_its_step_and_next_waits_for_the_guess():
    lesson = el.load("cost")
    number = 1 + lesson.step_index("first-loss")
    at = open_page(lesson="cost", step=number)
    assert f"Step {number} of {len(lesson.steps)} · predict" in at.get("progress")[0].proto.text
    assert at.button(key="lesson_next").disabled
    k = "lesson:cost:first-loss:"
    at.number_input(key=k + "number").set_value(2.3).run()
    click(at, k + "lock")
    assert not at.button(key="lesson_next").disabled
    assert at.session_state["lesson_progress"]["answers"][("cost", "first-loss")] == 2.3
    assert not at.get("number_input")  # locked: no more input
    assert {m.label for m in at.metric} == {"Your guess (locked)", "The run"}
    click(at, "lesson_back")
    assert at.query_params["step"] in ([str(number - 1)], str(number - 1))
    click(at, "lesson_list")
    assert "lesson" not in at.query_params
    assert at.title[0].value == "Lessons"
    tasks = sum(s.kind in ("predict", "run", "by-hand") for s in lesson.steps)
    card = next(m.value for m in at.markdown if f". {lesson.title}**" in m.value)
    assert f" · 1 of {tasks} tasks done" in card, card  # the guess given; the others not yet
    others = [m.value for m in at.markdown if "tasks done" in m.value]
    assert others == [card]  # no other lesson was touched
    assert (
        at.button(key="lesson_continue").label == f"Continue “{lesson.title}” at step {number - 1}"
    )
    click(at, "lesson_continue")
    assert at.query_params["step"] in ([str(number - 1)], str(number - 1))
    assert at.title[0].value == lesson.title


def test_a_step_out_of_range_opens_the_nearest_one():
    n = len(el.load("digits").steps)
    at = open_page(lesson="digits", step=99)
    assert f"Step {n} of {n}" in at.get("progress")[0].proto.text
    assert at.query_params["step"] in ([str(n)], str(n))
    at = open_page(lesson="digits", step="-3")
    assert f"Step 1 of {n}" in at.get("progress")[0].proto.text


def test_an_unknown_lesson_says_so_and_shows_the_course():
    at = open_page(lesson="no-such-lesson")
    assert "There is no lesson 'no-such-lesson'" in texts(at)
    assert at.button(key="start_digits")


class _Uploaded:
    def __init__(self, raw: bytes, name: str):
        self.raw, self.name, self.size = raw, name, len(raw)

    def getvalue(self) -> bytes:
        return self.raw


def _upload_script():
    import streamlit as st

    from tests.pages.test_lessons_page import _Uploaded
    from ui import lessons as ul

    kept = ul.upload(_Uploaded(st.session_state["raw"], "mine.md"))
    st.write(kept.id if kept else "refused")


def test_an_upload_is_checked_kept_and_opened_by_its_link(runs_dir):
    good = el.builtin_files()[2].read_bytes()
    broken = good.replace(b"tolerance: 25%\n", b"")
    at = AppTest.from_function(_upload_script, default_timeout=30)
    at.session_state["raw"] = broken
    at.run()
    assert at.markdown[0].value == "refused"
    assert "not a lesson this app can use, so nothing changed" in at.error[0].value
    assert "line 21: the answer has no tolerance" in at.error[0].value
    assert not (runs_dir / "lessons").exists() or not list((runs_dir / "lessons").iterdir())
    at.session_state["raw"] = b"x" * (el.MAX_BYTES + 1)
    at.run()
    assert at.markdown[0].value == "refused" and "at most 64 KB" in at.error[0].value
    at.session_state["raw"] = good
    at.run()
    key = at.markdown[0].value
    assert key.startswith("upload-") and (runs_dir / "lessons" / f"{key[7:]}.md").is_file()
    page = open_page(lesson=key, step=1)
    assert page.title[0].value == el.parse(good.decode()).title


def test_the_last_step_leads_on_to_the_next_lesson():
    """A finished lesson is not a dead end: its last step offers the next lesson of the course,
    and the course's last lesson says it is the last and leads back to the list."""
    lessons = el.builtin()
    first, second = lessons[0], lessons[1]
    at = open_page(lesson=first.id, step=len(first.steps))
    assert "Lesson complete." in texts(at)
    button = at.button(key="lesson_following")
    assert second.title in button.label
    click(at, "lesson_following")
    assert at.title[0].value == second.title
    assert at.query_params["lesson"] in ([second.id], second.id)
    assert f"Step 1 of {len(second.steps)}" in at.get("progress")[0].proto.text
    final = lessons[-1]
    at = open_page(lesson=final.id, step=len(final.steps))
    assert not [b for b in at.button if b.key == "lesson_following"]
    assert "last lesson here" in texts(at)


def test_the_entries_of_a_by_hand_vector_come_in_order_when_a_phone_stacks_them():
    """A phone stacks the columns of a row one under the other: the ten dZ2 fields must then
    read dZ2[0], dZ2[1], … dZ2[9] from top to bottom (filled round-robin into five columns they
    stacked as dZ2[0], dZ2[5], dZ2[1], dZ2[6], …, and a learner typing in order filled the wrong
    fields). The page's tree order is the phone's top-to-bottom order."""
    lesson = el.load("backprop")
    at = open_page(lesson="backprop", step=1 + lesson.step_index("dz2"))
    labels = [n.label for n in at.number_input]
    assert labels == [f"dZ2[{i}]" for i in range(10)]


def test_a_near_guess_is_called_near_not_a_match():
    """2.3 for a first loss of about 2.8 is within the step's 25%, but "Your guess matches the
    run" beside two different numbers confuses: the page says how near counts."""
    lesson = el.load("cost")
    at = open_page(lesson="cost", step=1 + lesson.step_index("first-loss"))
    k = "lesson:cost:first-loss:"
    at.number_input(key=k + "number").set_value(2.3).run()
    click(at, k + "lock")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Your guess (locked)"] != shown["The run"]
    assert [s.value for s in at.success] == ["Your guess is within 25% of the run's: close enough."]


def test_a_count_is_asked_as_a_whole_number_in_the_learners_words():
    """The parameter count is typed as 31810 (not shown back as 31810.000000) in a field called
    "Your answer" (not "parameters", the lesson's code name)."""
    lesson = el.load("capacity")
    at = open_page(lesson="capacity", step=1 + lesson.step_index("count"))
    (field,) = at.number_input
    assert field.label == "Your answer"
    assert field.proto.format == "%d" and field.proto.step == 1


def test_a_run_step_says_what_its_numbers_mean():
    """The first lesson's run shows a loss two lessons before "The cost" explains it: the page
    says what dev accuracy, train accuracy and loss are, in words, under the numbers."""
    lesson = el.load("digits")
    number = 1 + next(i for i, s in enumerate(lesson.steps) if s.kind == "run")
    at = open_page(lesson="digits", step=number)
    click(at, f"lesson:digits:{lesson.steps[number - 1].id}:train")
    assert "Run done" in texts(at)
    assert any(c.value.startswith("Dev accuracy: the share of the held-out") for c in at.caption)
    assert "served from the run cache" not in texts(at)


def test_a_right_answer_locks_its_fields_and_leaves_no_check_button(runs_dir):
    """Once right, the by-hand step is done: its field is locked and no "Check" is left to press
    (it stayed, live, under "Right", until the next click redrew the page)."""
    lesson = el.load("digits")
    step = lesson.steps[lesson.step_index("scale")]
    at = open_page(lesson="digits", step=1 + lesson.step_index("scale"))
    want = el.expected_numbers(step.answer, facts(lesson, step, runs_dir))
    at.number_input(key="lesson:digits:scale:entry0").set_value(float(want[0]))
    click(at, "lesson:digits:scale:check")
    assert [s.value for s in at.success][0].startswith("Right")
    assert not [b for b in at.button if b.key == "lesson:digits:scale:check"]
    assert at.number_input(key="lesson:digits:scale:entry0").disabled
    assert not at.button(key="lesson_next").disabled


def test_a_number_guess_is_shown_as_typed():
    """784 pixels, 3 silent units, iteration 282: a guess typed as 784 was shown back as
    784.0000; the field shows a number as it was typed."""
    lesson = el.load("digits")
    at = open_page(lesson="digits", step=1 + lesson.step_index("inputs"))
    assert at.number_input(key="lesson:digits:inputs:number").proto.format == "%g"
    at.number_input(key="lesson:digits:inputs:number").set_value(784).run()
    assert not at.exception


def test_a_by_hand_step_speaks_of_the_network_not_of_the_code():
    """ "Checked against nnmath's own trace of this step, tolerance 0." named a package and a
    word the lessons never teach: the learner reads what the answer is checked against."""
    lesson = el.load("capacity")
    at = open_page(lesson="capacity", step=1 + lesson.step_index("count"))
    shown = texts(at)
    assert "Checked against the numbers the network itself computes, exactly." in shown
    assert "trace" not in shown and "nnmath" not in shown

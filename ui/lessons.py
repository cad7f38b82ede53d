"""Streamlit glue of the Lessons page: where the learner is (URL ``lesson`` and ``step``), the
runs of a lesson (through ui.session, as on the Train page), their facts (cached by run id), the
uploaded lessons (kept by digest under the run store), and the drawing of each step kind.

Answers, attempts and runs are recorded only through ui.progress. Parsing and checking are
engine.lessons; the figures views.lessons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from engine import lessons as el
from engine.config import run_label
from engine.lessons import Lesson, Step
from engine.runs import Run
from nnmath import CLASSES, Status
from nnmath.network import N_PIXELS
from ui import classroom, progress, session
from views import lessons as vl

POSITION_KEY = "lesson_position"  # session: (lesson id, step number), kept across pages
LAST_KEY = "lesson_last"  # session: where the learner was before going back to the course list
MAX_TRIES = 2  # wrong by-hand attempts before the worked numbers are shown
# Under a run's numbers: a run step comes in the first lessons, before "The cost" says what a loss is.
RUN_NUMBERS = (
    "Dev accuracy: the share of the held-out dev images the network answers right; train "
    "accuracy: the same on the images it learned from. Loss: how wrong its probabilities are on "
    "the training images, lower is better (the lesson *The cost* works it out)."
)
ENTRIES_PER_ROW = 5  # a by-hand answer of several numbers: this many fields side by side


# ---- lessons --------------------------------------------------------------------------------------
def folder():
    """Where uploaded lessons are kept: beside the uploaded datasets, under the run store."""
    return session.store().root / "lessons"


@st.cache_resource(show_spinner=False)
def _course(stamp: tuple) -> list[Lesson]:
    return el.builtin()


def course() -> list[Lesson]:
    """The built-in lessons, parsed once per version of the files."""
    return _course(tuple((p.name, p.stat().st_mtime_ns) for p in el.builtin_files()))


def following(lesson: Lesson) -> Lesson | None:
    """The built-in lesson after ``lesson`` in the course (None: the last one, or an upload)."""
    ids = [item.id for item in course()]
    at = ids.index(lesson.id) + 1 if lesson.id in ids else len(ids)
    return course()[at] if at < len(ids) else None


def find(key: str) -> Lesson | None:
    for lesson in course():
        if lesson.id == key:
            return lesson
    try:
        return el.load(key, folder())
    except (KeyError, el.LessonError, OSError, UnicodeDecodeError):
        return None


def position() -> tuple[str | None, int]:
    """(lesson id, step number from 1) from the URL, else from the session (navigation clears
    the URL); the URL is written back."""
    qp, ss = st.query_params, st.session_state
    lesson, step = ss.get(POSITION_KEY, (None, 1))
    if "lesson" in qp:
        lesson = qp["lesson"][:60] or None
        try:
            step = int(qp.get("step", "1"))
        except ValueError:
            step = 1
    ss[POSITION_KEY] = (lesson, step)
    _write_position(lesson, step)
    return lesson, step


def _write_position(lesson: str | None, step: int) -> None:
    qp = st.query_params
    for k, v in (("lesson", lesson), ("step", None if lesson is None else str(step))):
        if v is None:
            if k in qp:
                del qp[k]
        elif qp.get(k) != v:
            qp[k] = v


def go(lesson: str | None, step: int = 1) -> None:
    """Move the learner (and the URL) to step ``step`` of ``lesson`` (None: the course list,
    remembering where they were for :func:`last`)."""
    here = st.session_state.get(POSITION_KEY)
    if lesson is None and here and here[0]:
        st.session_state[LAST_KEY] = here
    st.session_state[POSITION_KEY] = (lesson, step)
    _write_position(lesson, step)


def last() -> tuple[Lesson, int] | None:
    """The lesson and step the learner left for the course list, if any."""
    where = st.session_state.get(LAST_KEY)
    lesson = find(where[0]) if where else None
    return (lesson, min(max(where[1], 1), len(lesson.steps))) if lesson else None


def upload(uploaded) -> Lesson | None:
    """Check an uploaded lesson file and keep it; on any problem st.error lists them and nothing
    changes (returns None)."""
    if uploaded.size > el.MAX_BYTES:
        st.error(
            f"{uploaded.name} is {uploaded.size / 1024:.0f} KB; a lesson file is at most "
            f"{el.MAX_BYTES // 1024} KB. Nothing changed."
        )
        return None
    try:
        return el.keep_upload(uploaded.getvalue(), uploaded.name, folder())
    except el.LessonError as e:
        lines = "\n".join(f"- line {line}: {message}" for line, message in e.problems[:20])
        st.error(f"{uploaded.name} is not a lesson this app can use, so nothing changed:\n{lines}")
        return None


def link(lesson: Lesson, step: int = 1) -> str:
    """The address that opens ``lesson`` at ``step`` on this server (to share with a class)."""
    base = session.page_url()
    if not base.rstrip("/").endswith("/lessons"):
        base = base.rsplit("/", 1)[0] + "/lessons" if base else "/lessons"
    return f"{base}?lesson={lesson.id}&step={step}"


# ---- runs and their facts -------------------------------------------------------------------------
def run_of(lesson: Lesson, name: str | None, *, train: bool = True) -> Run | None:
    """The run ``name`` of the lesson (a run step's id; None: the lesson's run), served from the
    cache or trained with progress (``train``), through ui.session as on the Train page."""
    run = session.current_run(lesson.run_settings(name), train_if_missing=train)
    if run is not None and run.result is not None:
        progress.record_run(run.config.run_id)
    return run


def _run_facts(run: Run) -> dict[str, Any]:
    r = run.result
    key = ("lesson-facts", run.config.run_id, r.iterations, str(r.status))
    return session.runs().cache.get(
        key, lambda: el.run_facts(r, run.dev.X, run.dev.labels, run.train.n)
    )


def _trace_facts(run: Run, at: str, image: int) -> dict[str, Any]:
    r = run.result
    key = ("lesson-trace", run.config.run_id, r.iterations, str(r.status), at, image)
    return session.runs().cache.get(
        key,
        lambda: el.trace_facts(
            el.params_at(r, at),
            image,
            run.dev.X,
            run.dev.labels,
            r.config.alpha,
            r.config.activation,
        ),
    )


def scope(lesson: Lesson, step: Step, run: Run) -> dict[str, Any]:
    """Every fact a step's expressions may read: its run's, its trace's, and those of the run
    steps it names (trained if needed)."""
    out: dict[str, Any] = {**_run_facts(run), **_trace_facts(run, step.at, lesson.image_of(step))}
    runs = {s.id for s in lesson.steps if s.kind == "run"}
    for expr in step.expressions():
        for used in el.names(expr, dict.fromkeys(runs)):
            name = used.partition(".")[0]
            if "." in used and name not in out:
                other = run_of(lesson, name)
                if other is None or other.result is None:
                    st.stop()
                out[name] = _run_facts(other)
    return out


def step_scope(lesson: Lesson, step: Step) -> dict[str, Any] | None:
    """The step's facts, training its run first if needed (None, with a message, when it cannot
    be trained, diverged, or its numbers cannot be computed)."""
    run = run_of(lesson, step.run)
    if run is None or run.result is None:
        return None
    if run.result.status == Status.DIVERGED:
        st.error(f"This lesson's run diverged ({run.result.message}): its numbers cannot be shown.")
        return None
    try:
        return scope(lesson, step, run)
    except (el.ExpressionError, ValueError) as e:
        st.error(f"This step's numbers could not be computed for this run: {e}")
        return None


def render(text: str, facts: Mapping[str, Any]) -> str:
    """A step's text with its placeholders filled (an expression that fails says so in place)."""
    try:
        return el.render(text, facts)
    except el.ExpressionError as e:
        return f"{text}\n\n*(This lesson's text could not be filled in for this run: {e})*"


# ---- what is done ---------------------------------------------------------------------------------
def done(lesson: Lesson, step: Step) -> bool:
    """May the learner go on? Read steps always; a predict once answered, a run once run, a
    by-hand step once right or after the worked numbers were shown."""
    if step.kind == "predict":
        return progress.answer(lesson.id, step.id) is not None
    if step.kind == "run":
        return bool(st.session_state.get(key(lesson, step, "ran")))
    if step.kind == "by-hand":
        tries = progress.attempts(lesson.id, step.id)
        return any(t.correct for t in tries) or len(tries) >= MAX_TRIES
    return True


TASKS = ("predict", "run", "by-hand")  # the steps a learner does (a read step is only read)


def tasks_done(lesson: Lesson) -> tuple[int, int]:
    """(tasks done, tasks) of ``lesson`` in this session, as :func:`done` counts them: for the
    course list, so a learner back from a lesson sees how far each one got."""
    tasks = [s for s in lesson.steps if s.kind in TASKS]
    return sum(done(lesson, s) for s in tasks), len(tasks)


def progress_text(lesson: Lesson) -> str:
    """The course list's words for :func:`tasks_done`: " · 2 of 4 tasks done", " · all 4 tasks
    done ✓", or nothing before the first."""
    got, of = tasks_done(lesson)
    if not got:
        return ""
    return f" · all {of} tasks done ✓" if got == of else f" · {got} of {of} tasks done"


def key(lesson: Lesson, step: Step, what: str) -> str:
    return f"lesson:{lesson.id}:{step.id}:{what}"


# ---- the steps ------------------------------------------------------------------------------------
def _uses_facts(text: str) -> bool:
    """Does ``text`` show a number of the run (rather than only arithmetic like ln(10))?"""
    return any(el.names(e, _AnyRun()) for e, _ in el.placeholders(text))


class _AnyRun(dict):
    def __contains__(self, name) -> bool:  # run step names were checked when the file was read
        return True


def _text_facts(lesson: Lesson, step: Step, text: str) -> dict[str, Any] | None:
    """The facts to fill ``text``: the step's (training its run if needed) when it shows a
    number of the run, else none needed ({}), so a step of words and formulas trains nothing."""
    return step_scope(lesson, step) if _uses_facts(text) else {}


def read_step(lesson: Lesson, step: Step) -> None:
    facts = step_scope(lesson, step) if step.figures else _text_facts(lesson, step, step.text)
    if facts is None:
        return
    st.markdown(render(step.text, facts))
    if step.figures:
        run = run_of(lesson, step.run)
        for name in step.figures:
            fig = vl.figure(name, run.result, run.train, run.dev, facts)
            st.plotly_chart(
                fig, width="stretch", key=key(lesson, step, name), config={"displayModeBar": False}
            )
    for page, label in step.links:
        target = el.page_paths()[page]
        settings = lesson.run_settings(step.run)
        st.page_link(
            "streamlit_app.py" if page == "home" else f"pages/{target.name}",
            label=label,
            icon=":material/arrow_forward:",
            query_params=settings.to_query(),
        )


def predict_step(lesson: Lesson, step: Step) -> None:
    facts = _text_facts(lesson, step, step.text)
    if facts is None:
        return
    st.markdown(render(step.text, facts))
    locked = progress.answer(lesson.id, step.id)
    if locked is None:
        if step.choices:
            guess = st.radio(
                "Your answer",
                [c.text for c in step.choices],
                index=None,
                key=key(lesson, step, "choice"),
            )
        else:
            guess = st.number_input(
                "Your answer", value=None, format="%g", key=key(lesson, step, "number")
            )
        if st.button(
            "Lock my answer",
            type="primary",
            key=key(lesson, step, "lock"),
            disabled=guess is None,
            icon=":material/lock:",
        ):
            progress.record_answer(lesson.id, step.id, guess)
            st.rerun()  # drawn again locked: the input is gone
        else:
            st.caption("Answer first: once locked, the run shows what really happens.")
            return
    facts = step_scope(lesson, step)
    if facts is None:
        return
    reveal(lesson, step, locked, facts)


def reveal(lesson: Lesson, step: Step, locked, facts: Mapping[str, Any]) -> None:
    """The learner's locked guess beside the run's real result."""
    try:
        if step.choices:
            right = [step.choices[i].text for i in el.right_choices(step, facts)]
            yours = str(locked)
            real = " / ".join(right) or "none of these"
            ok = yours in right
        else:
            truth = el.expected_numbers(step.answer, facts)[0]
            yours, real = el.format_value(float(locked)), el.format_value(truth)
            ok = step.tolerance.allows(float(locked), truth)
    except el.ExpressionError as e:
        st.error(f"This step's answer could not be computed for this run: {e}")
        return
    left, right_col = st.columns(2)
    left.metric("Your guess (locked)", yours)
    right_col.metric("The run", real)
    if ok and (step.choices or yours == real):
        st.success("Your guess matches the run.")
    elif ok:  # a number near enough, but not the run's: say how near counts, not "matches"
        st.success(f"Your guess is within {step.tolerance} of the run's: close enough.")
    else:
        st.warning("The run says otherwise: see why below.")
    for text in step.keys.get("reveal", ()):
        st.markdown(render(text, facts))
    classroom.class_guesses(lesson.id, step.id)  # in a class: the class's answers, no names


def run_step(lesson: Lesson, step: Step) -> None:
    settings = lesson.run_settings(step.id)
    st.markdown(render(step.text, _settings_facts(settings)))
    st.info(f"Settings of this step (locked): {run_label(settings, settings.iterations)}")
    ran = key(lesson, step, "ran")
    if not st.session_state.get(ran):
        cached = session.lookup(settings).result is not None
        if not st.button(
            "Show the run" if cached else "Train it",
            type="primary",
            key=key(lesson, step, "train"),
            icon=":material/play_arrow:",
        ):
            st.caption(
                "Already trained on this server: served at once."
                if cached
                else "Training takes a few seconds; you see its progress."
            )
            return
    run = run_of(lesson, step.id)
    if run is None or run.result is None:
        return
    st.session_state[ran] = True
    r = run.result
    how = f"trained in {run.seconds:.1f} s" if run.trained_now else "already trained on this server"
    st.success(f"Run done: {run.label} — {how}.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Dev accuracy", f"{r.dev_accuracy:.1%}")
    c2.metric("Train accuracy", f"{r.train_accuracy:.1%}")
    c3.metric("Loss", f"{r.loss:.3f}")
    st.caption(RUN_NUMBERS)
    st.plotly_chart(
        vl.figure("curves", r, run.train, run.dev, {}),
        width="stretch",
        key=key(lesson, step, "curves"),
        config={"displayModeBar": False},
    )


def _settings_facts(settings) -> dict[str, Any]:
    """The facts a run step's text may show before it is run: its settings."""
    return {
        "hidden": settings.hidden,
        "alpha": settings.alpha,
        "iterations": settings.iterations,
        "seed": settings.seed,
        "pixels": N_PIXELS,
        "classes": CLASSES,
    }


def by_hand_step(lesson: Lesson, step: Step) -> None:
    facts = step_scope(lesson, step)
    if facts is None:
        return
    st.markdown(render(step.text, facts))
    try:
        expected = el.expected_numbers(step.answer, facts)
    except el.ExpressionError as e:
        st.error(f"This step's answer could not be computed for this run: {e}")
        return
    labels = el.entry_labels(step.answer, expected.size)
    tries = progress.attempts(lesson.id, step.id)
    solved = any(t.correct for t in tries)
    # One row of up to five columns per five entries: a phone stacks the columns of a row, so
    # the entries stay in order 0, 1, 2, … there (columns filled round-robin stacked 0, 5, 1, 6…).
    per_row = min(expected.size, ENTRIES_PER_ROW)
    slots = [col for _ in range(0, expected.size, per_row) for col in st.columns(per_row)]
    whole = not step.tolerance.value and all(float(v).is_integer() for v in expected)
    values = [
        slots[i].number_input(
            "Your answer" if expected.size == 1 else labels[i],
            value=None,
            format="%d" if whole else "%.6f",  # a count is typed as 31810, not 31810.000000
            step=1 if whole else 0.001,
            key=key(lesson, step, f"entry{i}"),
            disabled=solved,
        )
        for i in range(expected.size)
    ]
    st.caption(  # "nnmath's own trace" named the code, not what a learner is checked against
        "Checked against the numbers the network itself computes, "
        + (f"within {step.tolerance}." if step.tolerance.value else "exactly.")
    )
    if not solved and st.button(
        "Check", type="primary", key=key(lesson, step, "check"), icon=":material/check:"
    ):
        if any(v is None for v in values):
            st.warning("Fill in every number first.")
        else:
            verdict = el.check_answer(step, facts, values)
            progress.record_attempt(lesson.id, step.id, tuple(values), verdict.correct)
            if verdict.correct:  # drawn again solved: fields locked, no Check left to press
                st.rerun()
            tries = progress.attempts(lesson.id, step.id)
            solved = verdict.correct
            (st.success if verdict.correct else st.error)(verdict.message)
    elif tries:  # the last attempt's verdict, again
        verdict = el.check_answer(step, facts, tries[-1].value)
        (st.success if verdict.correct else st.error)(verdict.message)
    if solved or len(tries) >= MAX_TRIES:
        st.markdown("**Worked numbers** (the network's own, step by step)")
        for text in step.keys.get("worked", ()):
            st.markdown(render(text, facts))
    elif tries:
        st.caption(f"After {MAX_TRIES} tries the worked numbers are shown.")


STEPS = {"read": read_step, "predict": predict_step, "run": run_step, "by-hand": by_hand_step}


def draw(lesson: Lesson, step: Step) -> None:
    STEPS[step.kind](lesson, step)

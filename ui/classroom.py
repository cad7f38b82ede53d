"""Streamlit side of a class: the server's :class:`engine.classroom.Classroom`, the student's
membership (kept in the session and in the URL as ``student=<id>``, so a new tab or a link stays
in the class), and the writes ui.progress and ui.session make when the session is in a class.

Where the database is, is the host's setting only: NNMATH_DATABASE_URL, else Streamlit's
``[connections.sql]`` secrets (as ``st.connection("sql")`` reads them), else SQLite in the runs
folder. Nothing in the URL or a form reaches it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from engine.classroom import URL_ENV, Classroom, Membership, default_url, url_from_secrets

PARAM = "student"  # the URL parameter holding the student's id
JOIN_PARAM = "join"  # a join link: ?join=CODE on the Class page
MEMBER_KEY = "_class_member"  # session: (student id, Membership)
RECORDED_KEY = "_class_runs"  # session: run ids already recorded for this student
TEACHER_KEY = "_class_teacher"  # session: (code, key) the teacher opened
UNREACHABLE = (
    "The class record cannot be reached right now (the server's log says why); what you do "
    "stays in this tab."
)
log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _classroom(url: str | None) -> Classroom:
    """One Classroom (one connection pool) per server and database."""
    return Classroom(url)


def database_url() -> str | None:
    """NNMATH_DATABASE_URL, else the secrets' [connections.sql], else None (SQLite)."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return url
    try:
        conf = st.secrets.get("connections", {}).get("sql")
    except Exception:  # no secrets file: the default database
        return None
    return url_from_secrets(conf)


def classroom() -> Classroom:
    """The server's class database (the default SQLite file follows NNMATH_RUNS_DIR)."""
    return _classroom(database_url() or default_url())


def classroom_or_stop() -> Classroom:
    """:func:`classroom` for the Class and Teacher pages: when the database cannot be opened,
    an error without its address (that is the host's business) and the end of the page."""
    try:
        return classroom()
    except Exception:
        log.exception("the class database cannot be opened")
        st.error(UNREACHABLE)
        st.stop()


# ---- the student's membership ------------------------------------------------------------------
def keep_membership() -> Membership | None:
    """Call at the top of every page (init_state does): the session's class membership, read
    from the URL's ``student=`` when it names one (a new tab, a link), written back to the URL
    when navigation cleared it. An id the class no longer knows is dropped with a warning."""
    ss, qp = st.session_state, st.query_params
    held = ss.get(MEMBER_KEY)
    token = qp.get(PARAM)
    if token and (held is None or held[0] != token):
        try:
            member = classroom().member(token)
        except LookupError:
            st.warning(
                "This link's place in a class is not known here (the class may have been "
                "deleted): you are not recording for a class."
            )
            del qp[PARAM]
            return None
        except Exception:  # the database is unreachable: the app goes on without it
            log.exception("reading a student's class membership")
            st.warning(UNREACHABLE)
            return None
        held = (token, member)
        ss[MEMBER_KEY] = held
        ss.pop(RECORDED_KEY, None)
    if held is None:
        return None
    if qp.get(PARAM) != held[0]:
        qp[PARAM] = held[0]
    return held[1]


def member() -> Membership | None:
    held = st.session_state.get(MEMBER_KEY)
    return None if held is None else held[1]


def student_id() -> str | None:
    held = st.session_state.get(MEMBER_KEY)
    return None if held is None else held[0]


def enter(token: str) -> Membership:
    """Make this session the student ``token`` (after a join); returns the membership."""
    m = classroom().member(token)
    st.session_state[MEMBER_KEY] = (token, m)
    st.session_state.pop(RECORDED_KEY, None)
    st.query_params[PARAM] = token
    return m


def leave() -> None:
    """This session stops recording for the class (what was recorded stays)."""
    st.session_state.pop(MEMBER_KEY, None)
    st.session_state.pop(RECORDED_KEY, None)
    if PARAM in st.query_params:
        del st.query_params[PARAM]


def _write(call, *args, **kw) -> bool:
    """One write to the class record for this session's student; a failure is a warning, never
    an error of the page (the session keeps its own copy)."""
    sid = student_id()
    if sid is None:
        return False
    try:
        call(sid, *args, **kw)
    except LookupError:
        leave()
        st.warning(
            "Your class no longer exists (the teacher deleted it): answers stay in this tab only."
        )
        return False
    except ValueError as e:  # engine.classroom's own checks (sizes, limits) say what is wrong
        st.warning(f"Not saved to your class's record: {e}.")
        return False
    except Exception:
        log.exception("writing to the class record")
        st.warning(UNREACHABLE)
        return False
    return True


def record(lesson_id: str, step_id: str, value: Any, correct: bool | None = None) -> bool:
    """Record an answer (or a by-hand attempt) for the class, when in one."""
    return _write(classroom().record, lesson_id, step_id, value, correct)


def record_run(run_id: str, details: dict | None = None, seen: str | None = None) -> bool:
    """Record a run for the class, when in one. ``seen`` (default: the run id) is what this
    session remembers having recorded with details, so a page shown again writes nothing."""
    if student_id() is None:
        return False
    done = st.session_state.setdefault(RECORDED_KEY, set())
    seen = seen or run_id
    if seen in done or (details is None and any(d.startswith(run_id + "@") for d in done)):
        return True
    ok = _write(classroom().record_run, run_id, details)
    if ok and details is not None:
        done.add(seen)
    return ok


def run_details(run) -> dict:
    """What the teacher's page draws of a run (engine.runs.Run with a result)."""
    from engine.config import query_string

    s, r = run.settings, run.result
    return {
        "hidden": s.hidden,
        "alpha": s.alpha,
        "iterations": int(r.iterations),
        "seed": s.seed,
        "data": s.data,
        "dev_accuracy": _finite(r.dev_accuracy),
        "train_accuracy": _finite(r.train_accuracy),
        "query": query_string(s, iterations=int(r.iterations)).lstrip("?"),
    }


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def note_run(run) -> None:
    """ui.session calls this with every run it shows with a result: recorded for the class when
    this session is a student's (each run once per session)."""
    if student_id() is None or run is None or run.result is None or run.uploaded:
        return
    # One record per run id (what ui.progress records too), its details those of the longest
    # length this session saw last.
    rid = run.config.run_id
    record_run(rid, run_details(run), seen=f"{rid}@{int(run.result.iterations)}")


# ---- joining and creating (the Class page) -----------------------------------------------------
CREATED_KEY = "_class_created"  # session: (code, key, name) of the class just created here


def normal_join_code() -> str:
    """The class code of a join link (``?join=CODE``), normalised; "" without one."""
    from engine.classroom import normal_code

    return normal_code(st.query_params.get(JOIN_PARAM, ""))


def clear_join_code() -> None:
    if JOIN_PARAM in st.query_params:
        del st.query_params[JOIN_PARAM]


def join_link(code: str) -> str:
    """The address a student opens to join ``code`` (absolute when the app's URL is known)."""
    from ui.session import page_url

    base = page_url().rsplit("/", 1)[0] if page_url() else ""
    return f"{base}/class?{JOIN_PARAM}={code}"


def create(name: str) -> tuple[str, str, str]:
    """Create a class; (code, key, name) kept in this session so the page shows them once and
    the teacher's page opens without typing the key."""
    code, key = classroom().create(name)
    clean = classroom().name(code, key)
    st.session_state[CREATED_KEY] = (code, key, clean)
    st.session_state[TEACHER_KEY] = (code, key)
    return code, key, clean


def created() -> tuple[str, str, str] | None:
    return st.session_state.get(CREATED_KEY)


# ---- the teacher (the Teacher page) ------------------------------------------------------------
def teacher_open(code: str, key: str) -> tuple[str, str] | None:
    """Check a class code and teacher key; kept in the session when right, else st.error with
    the same message for a wrong key as for an unknown class."""
    from engine.classroom import normal_code

    code = normal_code(code)
    try:
        classroom().name(code, key)
    except PermissionError as e:
        st.error(f"{e}.")
        return None
    st.session_state[TEACHER_KEY] = (code, key)
    return code, key


def teacher_login() -> tuple[str, str] | None:
    """The class this session's teacher opened: from a link's ``?class=CODE&key=KEY`` (the key
    is then removed from the address bar, which a projected screen shows), else the session's."""
    qp = st.query_params
    if "key" in qp:
        key = qp["key"]
        del qp["key"]
        return teacher_open(qp.get("class", ""), key)
    held = st.session_state.get(TEACHER_KEY)
    if held is not None and qp.get("class") != held[0]:
        qp["class"] = held[0]
    return held


def teacher_close() -> None:
    st.session_state.pop(TEACHER_KEY, None)
    st.session_state.pop(CREATED_KEY, None)


def clicked_run(event: Any, runs) -> dict[str, str] | None:
    """The query parameters of the run whose point was clicked on the runs chart, or None."""
    from urllib.parse import parse_qsl

    from ui import events

    for p in events.points(event):
        cd = p.get("customdata")
        i = cd[0] if isinstance(cd, (list, tuple)) and cd else cd
        if isinstance(i, int) and 0 <= i < len(runs):
            query = runs[i].details.get("query")
            if isinstance(query, str) and query:
                return dict(parse_qsl(query))
    return None


# ---- the lessons' steps, as the teacher's page and a student's view show them -----------------
RECORDED_KINDS = ("predict", "by-hand")  # the steps that record an answer or attempts


def lesson_columns() -> list[tuple[str, str, int]]:
    """(lesson id, title, steps that record) of the built-in course, for the roster."""
    from ui import lessons as ul

    return [
        (lesson.id, lesson.title, sum(s.kind in RECORDED_KINDS for s in lesson.steps))
        for lesson in ul.course()
    ]


@dataclass(frozen=True)
class PredictView:
    """A predict step as the class's guesses are drawn: its title, the guesses as shown (a
    choice's text for a choice's position), and the real result when the run is at hand —
    ``truth`` for a number, ``right`` the right choices' texts."""

    title: str
    values: list
    truth: float | None = None
    right: tuple[str, ...] = ()


def _lesson_step(lesson_id: str, step_id: str):
    """(lesson, step) a record names, each None when this server has no such lesson or step."""
    from ui import lessons as ul

    lesson = ul.find(lesson_id)
    if lesson is None:
        return None, None
    try:
        return lesson, lesson.steps[lesson.step_index(step_id)]
    except (KeyError, ValueError, IndexError):
        return lesson, None


def _title(lesson_id: str, step_id: str, lesson, step) -> str:
    from views.classroom import step_prompt

    prompt = step_prompt(step.text) if step is not None else ""
    return f"{lesson.title if lesson else lesson_id} · {prompt or step_id}"


def step_title(lesson_id: str, step_id: str) -> str:
    """ "Lesson title · the step's prompt" (the lesson and step ids when this server has no such
    lesson or step)."""
    return _title(lesson_id, step_id, *_lesson_step(lesson_id, step_id))


def predict_view(lesson_id: str, step_id: str, values: list) -> PredictView:
    """How to show the guesses ``values`` of one predict step; the real result is read from the
    lesson's runs only when the run store already has them (never trained from here)."""
    from engine import lessons as el

    lesson, step = _lesson_step(lesson_id, step_id)
    title = _title(lesson_id, step_id, lesson, step)
    if step is None:
        return PredictView(title, list(values))
    texts = [c.text for c in step.choices]

    def shown(v):
        if texts and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(texts):
            return texts[v]
        return v

    values = [shown(v) for v in values]
    facts = _facts_if_cached(lesson, step)
    if facts is None:
        return PredictView(title, values)
    try:
        if step.choices:
            return PredictView(
                title, values, right=tuple(texts[i] for i in el.right_choices(step, facts))
            )
        return PredictView(title, values, truth=float(el.expected_numbers(step.answer, facts)[0]))
    except (el.ExpressionError, ValueError, TypeError):
        return PredictView(title, values)


def _facts_if_cached(lesson, step):
    """The step's facts when its run and every run step it reads are in the store, else None."""
    from engine import lessons as el
    from ui import lessons as ul
    from ui import session

    try:
        runs = {s.id for s in lesson.steps if s.kind == "run"}
        needed = {step.run}
        for expr in step.expressions():
            for used in el.names(expr, dict.fromkeys(runs)):
                if "." in used:
                    needed.add(used.partition(".")[0])
        if any(session.lookup(lesson.run_settings(name)).result is None for name in needed):
            return None
        return ul.scope(lesson, step, session.lookup(lesson.run_settings(step.run)))
    except Exception:  # a lesson whose facts cannot be computed here: show the guesses alone
        return None


def class_guesses(lesson_id: str, step_id: str) -> None:
    """After a student's answer is revealed: the class's answers to the step so far (values
    only, no nicknames), with the student's own and the real result marked. Nothing outside a
    class, or when the record cannot be read."""
    from views.classroom import guesses_figure

    sid = student_id()
    if sid is None:
        return
    try:
        values = classroom().class_values(sid, lesson_id, step_id)
    except Exception:  # not recorded (the class was deleted, the database is away): skip it
        return
    mine = next(
        (
            r.value
            for r in classroom().own(sid, lesson_id)
            if r.step == step_id and r.correct is None
        ),
        None,
    )
    shown = predict_view(lesson_id, step_id, [mine, *values])
    st.caption(f"Your class so far: {len(values)} answer(s), names not shown.")
    st.plotly_chart(
        guesses_figure(
            shown.values[1:], truth=shown.truth, right=shown.right, mine=shown.values[0]
        ),
        width="stretch",
        config={"displayModeBar": False},
        key=f"class_guesses_{lesson_id}_{step_id}",
    )

"""ui.progress, the one way a learner's answers, attempts and runs are recorded: kept in the
session, the first predict answer locked."""

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from ui import progress

    first = progress.record_answer("cost", "guess", 2.3)
    again = progress.record_answer("cost", "guess", 9.9)  # locked: the first answer holds
    n1 = progress.record_attempt("forward", "softmax", 0.5, False)
    n2 = progress.record_attempt("forward", "softmax", 0.25, True)
    progress.record_run("abc")
    progress.record_run("abc")
    progress.record_run("def")
    st.write(
        repr(
            (
                first,
                again,
                progress.answer("cost", "guess"),
                progress.answer("cost", "other"),
                n1,
                n2,
                [tuple(a) for a in progress.attempts("forward", "softmax")],
                progress.attempts("forward", "none"),
                progress.runs(),
            )
        )
    )


def test_answers_attempts_and_runs_are_kept_in_the_session():
    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception
    assert at.markdown[0].value == repr(
        (2.3, 2.3, 2.3, None, 1, 2, [(0.5, False), (0.25, True)], [], ["abc", "def"])
    )

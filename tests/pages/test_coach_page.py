"""The coach on Train and Home (AppTest, embedded sample): a short run of the notebook's settings
is still improving, and the coach links the same run continued; the notebook's full run gets no
box."""

from __future__ import annotations

from tests.pages.test_pages import app, texts


def coach_links(at) -> list:
    """The coach's step: a link to Train (Home) or a button (Train itself)."""
    links = [e for e in at.get("page_link") if "Continue to" in e.proto.label]
    return links + [b for b in at.button if b.key == "coach_step"]


def test_train_coaches_a_short_run_to_continue():
    at = app("pages/2_train.py", iterations="60")  # opened from a link: trains at once
    assert "What happened:" in texts(at) and "still rising at the end" in texts(at)
    step = at.button(key="coach_step")
    assert step.label == "Continue to 120 iterations"
    step.click().run()  # sets the step up in place: settings, widgets and the address bar
    assert at.query_params["iterations"] == "120" and at.query_params["hidden"] == "10"
    assert at.number_input(key="w_iterations").value == 120
    assert "Press Train to continue from there" in texts(at)


def test_home_coaches_too_and_says_nothing_when_nothing_stands_out():
    at = app(None, iterations="60")
    at.button(key="home_train").click().run()  # the notebook's 500 iterations
    assert "What happened:" not in texts(at) and not coach_links(at)
    short = app(None, iterations="60", hidden="10", alpha="0.1", seed="0")
    assert "still rising at the end" in texts(short)
    (link,) = coach_links(short)  # from Home, a link to Train with the step's settings
    assert link.proto.page == "train" and link.proto.label == "Continue to 120 iterations"
    assert link.proto.query_string == "data=sample&hidden=10&alpha=0.1&iterations=120&seed=0"


def test_a_teachers_lock_on_the_changed_setting_keeps_the_sentence_but_not_the_link():
    at = app("pages/2_train.py", iterations="60", lock="iterations")
    assert "still rising at the end" in texts(at)
    assert not coach_links(at) and "This exercise keeps that setting fixed" in texts(at)

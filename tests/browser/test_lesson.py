"""One whole lesson completed by clicking in a real browser, on a desktop window and on a phone
(390 x 844, touch): a guess locked and revealed, a by-hand answer refused then accepted against
nnmath's trace, a run, a choice, and the end with its links deeper."""

from __future__ import annotations

import pytest

from engine import lessons as el
from engine.runs import Runs
from engine.store import RunStore
from tests.browser.conftest import PHONE, assert_no_exception, new_page, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def image_loss(runs_dir) -> float:
    """What the by-hand step of the cost lesson asks, from the run the app trained."""
    lesson = el.load("cost")
    step = lesson.steps[lesson.step_index("image-loss")]
    run = Runs(RunStore(runs_dir)).open(lesson.settings)
    assert run.result is not None
    facts = el.trace_facts(
        el.params_at(run.result, step.at),
        lesson.image_of(step),
        run.dev.X,
        run.dev.labels,
        run.result.config.alpha,
    )
    return float(facts["image_loss"])


def complete_the_cost_lesson(page, app_url, runs_dir, name: str) -> None:
    lesson = el.load("cost")
    n = len(lesson.steps)

    def at_step(i: int) -> None:
        page.get_by_text(f"Step {i} of {n}").wait_for()
        wait_for_app(page)
        assert_no_exception(page)

    def enter(field, text: str) -> None:
        """Type a number and commit it (Enter), as a learner does."""
        field.fill(text)
        field.press("Enter")
        wait_for_app(page)

    def next_step(i: int) -> None:
        page.get_by_role("button", name="Next").click()
        at_step(i + 1)

    page.goto(app_url + "/lessons?lesson=cost&step=1")
    at_step(1)
    page.get_by_text("A sure, right answer costs").wait_for()
    next_step(1)

    # predict a number: locked, then shown beside the run's (trained here on first use)
    enter(page.get_by_role("spinbutton", name="Your answer"), "2.3")
    page.get_by_role("button", name="Lock my answer").click()
    page.get_by_text("Your guess (locked)").wait_for()
    page.get_by_text("The first loss was").wait_for()
    wait_for_app(page)
    next_step(2)

    # by hand: a wrong number is refused, the trace's is accepted
    field = page.get_by_role("spinbutton", name="Your answer")
    enter(field, "9.5")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("Not quite: your answer is off by more than 0.001.").wait_for()
    enter(field, f"{image_loss(runs_dir):.6f}")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("Right (within 0.001 of the run's own value).").wait_for()
    page.get_by_text("Worked numbers").wait_for()
    next_step(3)

    # run: already trained on this server (the predict step trained it)
    page.get_by_role("button", name="Show the run").click()
    page.get_by_text("Run done:").wait_for()
    wait_for_app(page)
    next_step(4)

    # predict a choice
    page.locator('[data-testid="stRadio"] label').filter(has_text="yes").click()
    wait_for_app(page)
    page.get_by_role("button", name="Lock my answer").click()
    page.get_by_text("Your guess (locked)").wait_for()
    page.get_by_text("The loss fell from").wait_for()
    wait_for_app(page)
    next_step(5)

    page.get_by_text("Lesson complete.").wait_for()
    link = page.get_by_role("link", name="Watch the loss fall with other settings")
    link.first.wait_for()  # it arrives after "Lesson complete."
    assert link.count() == 1
    assert "lesson=cost" in page.url and f"step={n}" in page.url
    assert_no_exception(page)
    screenshot(page, name)


def test_a_lesson_completes_by_clicking_on_the_desktop(page, app_server):
    url, runs_dir = app_server
    complete_the_cost_lesson(page, url, runs_dir, "lesson_desktop")


def test_a_lesson_completes_by_tapping_on_a_phone(browser, app_server):
    url, runs_dir = app_server
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    try:
        complete_the_cost_lesson(phone, url, runs_dir, "lesson_phone")
    finally:
        context.close()


def test_the_ten_dz2_fields_read_top_to_bottom_in_order_on_a_phone(browser, app_server):
    """A phone stacks columns: the fields of dZ2 must come dZ2[0], dZ2[1], … dZ2[9] down the
    screen (five round-robin columns stacked them 0, 5, 1, 6, …, so typing in order went wrong)."""
    url, _ = app_server
    lesson = el.load("backprop")
    number = 1 + lesson.step_index("dz2")
    with new_page(browser, **PHONE) as phone:
        phone.goto(f"{url}/lessons?lesson=backprop&step={number}")
        phone.get_by_text(f"Step {number} of {len(lesson.steps)}").wait_for()
        fields = [phone.get_by_role("spinbutton", name=f"dZ2[{i}]") for i in range(10)]
        fields[-1].wait_for()
        wait_for_app(phone)
        tops = [f.bounding_box()["y"] for f in fields]
        assert tops == sorted(tops) and len(set(tops)) == 10, tops
        assert_no_exception(phone)
        screenshot(phone, "lesson_dz2_phone")
        # Back, All lessons and Next in one row (stacked columns put Next last, off the screen)
        nav = [phone.get_by_role("button", name=n) for n in ("Back", "All lessons", "Next")]
        rows = {round(b.bounding_box()["y"]) for b in nav}
        assert len(rows) == 1, rows

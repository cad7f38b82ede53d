"""A class in a real browser: a teacher creates a class, three students join by its link in
their own browser contexts, train runs, answer a lesson's predict step and two try its by-hand
step, and the teacher's page shows all three with their answers, tries and runs, on a desktop and
on a phone; a wrong key sees nothing."""

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import (
    PHONE,
    assert_no_exception,
    new_page,
    screenshot,
    wait_for_app,
    wait_for_charts,
)
from tests.browser.test_phone import cut_off

pytestmark = pytest.mark.browser

STUDENTS = ("ada", "bob", "cy")
GUESSES = (784, 100, 784)
WHOLE_ON_A_PHONE = ("stCode", "stTable", "stDataFrame")
PIXEL = re.compile(r"column 14\) is (\d+)")  # the digits lesson's by-hand step shows x[350]


def lines(locator) -> int:
    """How many lines the element's text takes on the screen."""
    return locator.evaluate(
        """e => { const r = document.createRange(); r.selectNodeContents(e);
                  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }"""
    )


def covered(locator) -> list[str]:
    """The visible elements of the block after this one that lie over its text (a dataframe's
    toolbar sits above the table, over what precedes it)."""
    return locator.evaluate(
        """e => { const t = e.getBoundingClientRect();
                  const next = e.closest('[data-testid="stElementContainer"]').nextElementSibling;
                  return [...new Set([...next.querySelectorAll('*')].filter(x => {
                      const r = x.getBoundingClientRect();
                      return r.width && r.height && r.bottom > t.top + 1 && r.top < t.bottom - 1
                             && r.right > t.left && r.left < t.right; })
                  .map(x => x.getAttribute('data-testid') || x.tagName))]; }"""
    )


def test_a_teacher_sees_what_three_students_did_and_a_wrong_key_sees_nothing(browser, app_url):
    teacher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    teacher.set_default_timeout(60_000)
    teacher.goto(app_url + "/class")
    teacher.get_by_label("Class name").fill("Browser class")
    teacher.get_by_role("button", name="Create a class").click()
    teacher.get_by_text("write it down now").wait_for()
    wait_for_app(teacher)
    teacher.locator('[data-testid="stCode"]').nth(1).wait_for()  # the link, then the key
    link, key = (c.inner_text().strip() for c in teacher.locator('[data-testid="stCode"]').all())
    code = parse_qs(urlparse(link).query)["join"][0]
    assert re.fullmatch(r"[A-Z2-9]{6}", code) and len(key) >= 20

    contexts = []
    for i, nick in enumerate(STUDENTS):
        ctx = browser.new_context(viewport={"width": 1200, "height": 900})
        contexts.append(ctx)
        student = ctx.new_page()
        student.set_default_timeout(60_000)
        student.goto(app_url + "/class?join=" + code)
        student.get_by_label("Nickname").fill(nick)
        student.get_by_role("button", name="Join").click()
        student.get_by_text(f"as {nick}").wait_for()
        student.wait_for_url(re.compile(r"student="))
        token = parse_qs(urlparse(student.url).query)["student"][0]
        # A run trained from a link (as a teacher's exercise opens it), in the class.
        student.goto(
            f"{app_url}/train?student={token}&data=sample&hidden={12 + i}&alpha=0.1"
            f"&iterations=30&seed={i}"
        )
        student.get_by_text("Dev accuracy", exact=True).wait_for()
        wait_for_app(student)
        assert_no_exception(student)
        # A lesson's predict step: "How many numbers does the network read for one image?"
        student.goto(f"{app_url}/lessons?lesson=digits&step=2&student={token}")
        answer = student.get_by_label("Your answer")
        answer.fill(str(GUESSES[i]))
        answer.press("Enter")
        student.get_by_role("button", name="Lock my answer").click()
        student.get_by_text("Your guess (locked)").wait_for()
        wait_for_app(student)
        assert_no_exception(student)
        if i < 2:  # its by-hand step: ada right at her second try, bob not yet
            student.goto(f"{app_url}/lessons?lesson=digits&step=5&student={token}")
            field = student.get_by_role("spinbutton", name="Your answer")
            tries = ["9.5"]
            if i == 0:
                pixel = int(PIXEL.search(student.get_by_text(PIXEL).inner_text()).group(1))
                tries.append(f"{pixel / 255:.6f}")
            for n, typed in enumerate(tries, start=1):
                field.fill(typed)
                field.press("Enter")
                wait_for_app(student)
                student.get_by_role("button", name="Check").click()
                verdict = "Right (within" if n == 2 else "Not quite:"
                student.get_by_text(verdict).wait_for()
            wait_for_app(student)
            assert_no_exception(student)
        # No other student's nickname on any page a student sees.
        student.goto(f"{app_url}/class?student={token}")
        student.get_by_text(f"as {nick}").wait_for()
        wait_for_app(student)
        others = [n for n in STUDENTS if n != nick]
        assert not any(student.get_by_text(n, exact=True).count() for n in others)

    teacher.goto(f"{app_url}/teacher?class={code}&key={key}")
    teacher.get_by_text("3 student(s)").wait_for()
    summary = teacher.get_by_text("3 student(s)").inner_text()
    assert "6 run(s)" in summary, summary  # each: a Train run and the lesson's run
    wait_for_app(teacher)
    assert_no_exception(teacher)
    assert "key=" not in teacher.url  # the key left the address bar
    roster = teacher.locator('[data-testid="stTable"]').first.inner_text()
    assert all(nick in roster for nick in STUDENTS)
    # guesses and runs: charts may still be arriving after the last text, so wait for them
    teacher.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for()
    assert teacher.locator('[data-testid="stPlotlyChart"]').count() >= 2
    # the step's question, not its id ("… · inputs")
    teacher.get_by_text(
        "What a digit is to the network · How many numbers does the network read for one image? "
        "— 3 answer(s)"
    ).wait_for()
    teacher.get_by_text("the run: 784").wait_for()  # the real result beside the guesses
    answers = teacher.locator('[data-testid="stTable"]').nth(1).inner_text()
    assert all(nick in answers for nick in STUDENTS)
    assert answers.count("784") == 2 and "100" in answers
    teacher.get_by_text("yes, at try 2").wait_for()  # the by-hand step's tries
    tries = teacher.locator('[data-testid="stTable"]').filter(has_text="tries").inner_text()
    assert "ada" in tries and "bob" in tries and "not yet" in tries and "cy" not in tries
    screenshot(teacher, "class_teacher")

    # The same page on a phone: the join link, the roster, the answers, the by-hand tries and the
    # challenge board fit the screen (the board, a six-column dataframe, ran past its right edge).
    with new_page(browser, **PHONE) as phone:
        phone.goto(f"{app_url}/teacher?class={code}&key={key}")
        phone.get_by_text("3 student(s)").wait_for()
        phone.get_by_role("button", name="Download everything as CSV").wait_for()  # the last
        wait_for_app(phone)
        wait_for_charts(phone)
        assert_no_exception(phone)
        phone.get_by_text("yes, at try 2").wait_for()
        boxes = phone.locator(
            ", ".join(f'[data-testid="stMain"] [data-testid="{t}"]' for t in WHOLE_ON_A_PHONE)
        )
        assert boxes.count() >= 5  # link, roster, answers, tries, board
        clipped = [boxes.nth(i).inner_text()[:60] for i in range(boxes.count())]
        clipped = [t for i, t in enumerate(clipped) if cut_off(boxes.nth(i))]
        assert not clipped, clipped
        # when each student joined, on one line ("2026-12-05 11:02 UTC" took three)
        joined = phone.locator('[data-testid="stTable"]').first.locator("tbody td:first-of-type p")
        assert joined.count() == len(STUDENTS)
        assert [lines(joined.nth(i)) for i in range(joined.count())] == [1] * len(STUDENTS)
        # the by-hand step's title whole above its table (a dataframe's toolbar covered its end)
        title = phone.get_by_text("The network does not read 0..255")
        assert not covered(title), covered(title)
        screenshot(phone, "phone_class_teacher")

    stranger = browser.new_context().new_page()
    stranger.set_default_timeout(60_000)
    stranger.goto(f"{app_url}/teacher?class={code}&key=not-the-key")
    stranger.get_by_text("unknown class code or wrong teacher key").wait_for()
    wait_for_app(stranger)
    assert stranger.get_by_text("6 run(s)").count() == 0
    assert stranger.locator('[data-testid="stTable"]').count() == 0
    assert not any(stranger.get_by_text(n, exact=True).count() for n in STUDENTS)
    for ctx in contexts:
        ctx.close()
    teacher.context.close()
    stranger.context.close()

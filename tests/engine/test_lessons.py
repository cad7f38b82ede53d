"""engine.lessons: the lesson format, the checker (the line of every problem), the safe
expressions, answers checked against nnmath's trace, uploads and the command line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnmath
from engine import lessons as el
from engine.config import Settings
from tests.helpers import tiny_dataset

GOOD = textwrap.dedent(
    """\
    ---
    title: A tiny lesson
    minutes: 5
    run: hidden=10 alpha=0.1 iterations=500
    ---

    ::: read intro
    An image is {{pixels}} numbers. $Z_1 = X W_1 + b_1$.
    figure: digit
    :::

    ::: predict guess
    Which is higher?
    - train accuracy (right if train_accuracy > dev_accuracy)
    - dev accuracy (right if dev_accuracy >= train_accuracy)
    :::

    ::: run big
    settings: ?data=sample&hidden=20&alpha=0.1&iterations=300&lock=all
    :::

    ::: by-hand softmax
    Compute the probability of the true digit.
    answer: A2[y]
    tolerance: 0.001
    worked: A2[y] = {{exp(Z2[y]):.4f}} / {{sum(exp(Z2)):.4f}}
    :::

    ::: read end
    The big run reached {{big.dev_accuracy:.1%}}.
    go: math | Every equation with its numbers
    :::
    """
)


def lines_of(problems):
    return [line for line, _ in problems]


# ---- the format -----------------------------------------------------------------------------------
def test_a_good_lesson_parses_into_its_steps():
    lesson = el.parse(GOOD, "03_tiny.md")
    assert lesson.id == "tiny" and lesson.title == "A tiny lesson" and lesson.minutes == 5
    assert [s.kind for s in lesson.steps] == ["read", "predict", "run", "by-hand", "read"]
    assert [s.id for s in lesson.steps] == ["intro", "guess", "big", "softmax", "end"]
    assert lesson.settings == Settings(hidden=10, alpha=0.1, iterations=500)
    assert lesson.run_settings("big") == Settings(hidden=20, iterations=300)
    guess = lesson.steps[1]
    assert [c.text for c in guess.choices] == ["train accuracy", "dev accuracy"]
    assert guess.choices[0].rule == "train_accuracy > dev_accuracy"
    hand = lesson.steps[3]
    assert hand.answer == "A2[y]" and hand.tolerance == el.Tolerance(0.001, False)
    assert hand.text == "Compute the probability of the true digit."
    assert lesson.steps[0].figures == ("digit",)
    assert lesson.steps[-1].links == (("math", "Every equation with its numbers"),)
    assert el.check(GOOD) == []


def test_every_built_in_lesson_passes_check():
    files = el.builtin_files()
    assert len(files) >= 8
    for path in files:
        assert el.check(path.read_text(), path.name) == [], path.name
    lessons = el.builtin()
    assert len({lesson.id for lesson in lessons}) == len(lessons)
    for lesson in lessons:
        assert 5 <= lesson.minutes <= 10, lesson.id
        assert lesson.steps[-1].links and "now know" in lesson.steps[-1].text, lesson.id
        assert {"predict", "read"} <= {s.kind for s in lesson.steps}, lesson.id


def test_every_built_in_prediction_reveals_the_numbers_that_decide_it():
    """A locked guess is shown beside "the run: higher": the learner must also see the numbers
    that make it so (every run its choices compare), or the verdict cannot be checked."""
    for lesson in el.builtin():
        runs = {s.id: None for s in lesson.steps if s.kind == "run"}
        for step in lesson.steps:
            if step.kind != "predict":
                continue
            where = f"{lesson.id}:{step.id}"
            reveal = " ".join(step.keys.get("reveal", ()))
            assert reveal, f"{where} has no reveal line"
            decided_by = set()
            for choice in (c for c in step.choices if c.rule):
                decided_by |= {n.partition(".")[0] for n in el.names(choice.rule, runs)}
            shown = {
                n.partition(".")[0] for e, _ in el.placeholders(reveal) for n in el.names(e, runs)
            }
            assert {n for n in decided_by if n in runs} <= shown, where


BROKEN = [
    # (what is broken, replace this, with this, the line reported, words of the message)
    ("unknown kind", "::: by-hand softmax", "::: compute softmax", 22, "unknown step kind"),
    ("bad setting", "hidden=20&", "hidden=abc&", 19, "hidden must be an integer between"),
    ("unknown setting", "hidden=20&", "hiden=20&", 19, "unknown setting 'hiden'"),
    (
        "out of range",
        "hidden=20&",
        "hidden=100000&",
        19,
        "hidden must be an integer between 1 and 512",
    ),
    (
        "no rule",
        " (right if train_accuracy > dev_accuracy)\n- dev accuracy (right if dev_accuracy >= train_accuracy)",
        "\n- dev accuracy",
        14,
        "right if",
    ),
    ("missing tolerance", "tolerance: 0.001\n", "", 24, "no tolerance"),
    ("bad tolerance", "tolerance: 0.001", "tolerance: a bit", 25, "not a number"),
    ("unknown quantity", "answer: A2[y]", "answer: A3[y]", 24, "unknown quantity 'A3'"),
    ("unknown figure", "figure: digit", "figure: pie", 9, "unknown figure"),
    ("unknown page", "go: math |", "go: maths |", 31, "not a page"),
    ("no worked", "worked: A2[y] = ", "", 22, "worked:"),
    (
        "not closed",
        "go: math | Every equation with its numbers\n:::",
        "go: math | x",
        29,
        "not closed",
    ),
    ("python", "{{pixels}}", "{{__import__('os')}}", 8, "unknown function"),
    ("unknown run", "{{big.dev_accuracy", "{{small.dev_accuracy", 30, "run step"),
    ("wrong key", "figure: digit", "answer: 3", 9, "does not belong"),
    ("outside", "---\n\n::: read intro", "---\nStray words.\n::: read intro", 6, "outside a step"),
    ("no title", "title: A tiny lesson\n", "", 1, "title"),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_check_names_the_line_of_each_broken_step(old, new, line, words):
    assert old in GOOD
    broken = GOOD.replace(old, new, 1)
    problems = el.check(broken, "x.md")
    assert problems, "the broken file passed"
    hits = [(n, m) for n, m in problems if words in m]
    assert hits, problems
    assert hits[0][0] == line, problems
    with pytest.raises(el.LessonError) as e:
        el.parse(broken, "x.md")
    assert f"x.md:{line}:" in str(e.value)


def test_a_lesson_must_end_by_pointing_deeper_and_be_bounded():
    no_links = GOOD.replace("go: math | Every equation with its numbers\n", "")
    assert any("ends with a read step" in m for _, m in el.check(no_links))
    huge = GOOD + "x" * el.MAX_BYTES
    assert el.check(huge) == [(1, f"the file is larger than {el.MAX_BYTES // 1024} KB")]


# ---- expressions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('true')",
        "A2.__class__",
        "(lambda: 1)()",
        "[x for x in A2]",
        "'text'",
        "pixels ** pixels",
        "open('f')",
        "A2[0:3]",
    ],
)
def test_expressions_allow_no_python_beyond_arithmetic(expr):
    with pytest.raises(el.ExpressionError):
        el.evaluate(expr, {"A2": np.arange(10.0), "pixels": 784})


def test_expressions_compute_with_the_facts():
    scope = {"A2": np.arange(10.0) / 45, "y": 3, "W2": np.eye(10, 10), "pixels": 784}
    assert el.evaluate("A2[y] * 45", scope) == pytest.approx(3)
    assert el.evaluate("ln(pixels) > 6 and W2[2, 2] == 1", scope) is True
    assert el.evaluate("argmax(A2) if pixels > 10 else 0", scope) == 9
    assert el.render("p = {{A2[y]:.3f}}, {{pixels}} pixels, {{A2[y]:.0%}}", scope) == (
        "p = 0.067, 784 pixels, 7%"
    )
    with pytest.raises(el.ExpressionError, match="outside 0..9"):
        el.evaluate("A2[10]", scope)


# ---- answers against nnmath's trace -------------------------------------------------------------
@pytest.fixture(scope="module")
def traced():
    ds = tiny_dataset(60)
    X = ds.images.reshape(len(ds.labels), -1)
    result = nnmath.gradient_descent(X, ds.labels, hidden=6, iterations=20, alpha=0.1)
    facts = el.trace_facts(result.params, 7, X, ds.labels, 0.1)
    return result, X, ds.labels, facts


def step_of(answer: str, tolerance: str) -> el.Step:
    return el.Step("by-hand", "s", 1, "", keys={"answer": (answer,), "tolerance": (tolerance,)})


def test_a_by_hand_answer_is_accepted_within_the_tolerance_of_the_trace(traced):
    result, X, y, facts = traced
    t = nnmath.trace_step(result.params, X[7], y[7], 0.1)
    p = float(t.A2[0, y[7]])
    step = step_of("A2[y]", "0.001")
    assert el.check_answer(step, facts, [p + 0.0009]).correct
    verdict = el.check_answer(step, facts, [p + 0.002])
    assert not verdict.correct and verdict.wrong == (0,)
    assert verdict.message == "Not quite: your answer is off by more than 0.001."
    new_w = float(t.updated.W2[2, 4])
    assert el.check_answer(step_of("W2_new[2, 4]", "1%"), facts, [new_w * 1.009]).correct
    assert not el.check_answer(step_of("W2_new[2, 4]", "1%"), facts, [new_w * 1.02]).correct


def test_a_wrong_entry_of_dz2_is_named(traced):
    result, X, y, facts = traced
    t = nnmath.trace_step(result.params, X[7], y[7], 0.1)
    dZ2 = (t.A2 - t.Y).ravel().astype(float)
    np.testing.assert_allclose(dZ2, t.dZ2.ravel())
    guess = dZ2.copy()
    guess[int(y[7])] += 1  # the classic slip: forgetting the "- 1" at the true digit
    verdict = el.check_answer(step_of("dZ2", "0.001"), facts, guess)
    assert verdict.wrong == (int(y[7]),)
    assert verdict.message.startswith(f"dZ2[{int(y[7])}] is wrong")
    assert el.check_answer(step_of("dZ2", "0.001"), facts, dZ2).correct
    with pytest.raises(ValueError):
        el.check_answer(step_of("dZ2", "0.001"), facts, dZ2[:3])
    with pytest.raises(el.ExpressionError, match="1 to 10 numbers"):
        el.check_answer(step_of("dW2", "0.001"), facts, [0.0])


def test_dz1_and_dw2_entries_are_the_traces(traced):
    result, X, y, facts = traced
    t = nnmath.trace_step(result.params, X[7], y[7], 0.1)
    assert el.evaluate("dZ1[2]", facts) == pytest.approx(float(t.dZ1[0, 2]))
    assert el.evaluate("dW2[1, 3]", facts) == pytest.approx(float(t.dW2[1, 3]))
    assert el.evaluate("A1[1] * dZ2[3]", facts) == pytest.approx(float(t.dW2[1, 3]), rel=1e-5)


# ---- uploads and the command line ---------------------------------------------------------------
def test_an_upload_is_kept_by_digest_and_a_broken_one_changes_nothing(tmp_path):
    lesson = el.keep_upload(GOOD.encode(), "mine.md", tmp_path)
    assert lesson.id.startswith("upload-") and len(lesson.id) == len("upload-") + 16
    assert el.load(lesson.id, tmp_path).title == "A tiny lesson"
    assert el.keep_upload(GOOD.encode(), "again.md", tmp_path).id == lesson.id
    before = sorted(tmp_path.iterdir())
    for raw in (GOOD.replace("::: run big", "::: ran big").encode(), b"\xff\xfe", b"x" * 70_000):
        with pytest.raises(el.LessonError):
            el.keep_upload(raw, "bad.md", tmp_path)
    assert sorted(tmp_path.iterdir()) == before
    for key in ("upload-0123456789abcdef", "../../etc/passwd", "upload-../x"):
        with pytest.raises(KeyError):
            el.load(key, tmp_path)


def test_the_command_line_checks_files_and_lists_the_course(tmp_path):
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("tolerance: 0.001\n", "").replace("::: run big", "::: ran big"))

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "engine.lessons", *args], capture_output=True, text=True
        )

    ok = cli("check", str(good))
    assert ok.returncode == 0 and ok.stdout == ""
    out = cli("check", str(good), str(bad))
    assert out.returncode == 1
    assert f"{bad}:18: unknown step kind 'ran'" in out.stdout
    assert f"{bad}:24: the answer has no tolerance" in out.stdout
    assert str(good) not in out.stdout
    listed = cli("list")
    assert listed.returncode == 0
    assert [row.split("\t")[0] for row in listed.stdout.splitlines()] == [
        lesson.id for lesson in el.builtin()
    ]


def test_the_example_of_the_documentation_is_a_good_lesson():
    doc = (el.REPO / "docs" / "lessons.md").read_text()
    example = doc.split("```text\n", 1)[1].split("```", 1)[0]
    assert el.check(example, "example.md") == []
    lesson = el.parse(example, "example.md")
    assert {s.kind for s in lesson.steps} == set(el.KINDS)


def test_a_count_is_right_or_not_exactly_right(traced):
    """With tolerance 0 (a count, a unit's number) "off by more than 0" says nothing: the
    verdict says the answer is not exact."""
    result, X, y, facts = traced
    step = step_of("argmax(A1)", "0")
    truth = int(np.argmax(facts["A1"]))
    assert el.check_answer(step, facts, [truth]).message == "Right."
    verdict = el.check_answer(step, facts, [truth + 1])
    assert verdict.message == "Not quite: your answer is not exactly right."


def test_no_prediction_is_printed_before_it_is_asked():
    """A guess the page just wrote out is no guess: no step before a number predict shows the
    very expression it asks (the first lesson said "28 × 28 = {{pixels}}" right before asking
    how many numbers an image is)."""
    for lesson in el.builtin():
        for i, step in enumerate(lesson.steps):
            if step.kind != "predict" or not step.answer:
                continue
            asked = step.answer.replace(" ", "")
            for before in lesson.steps[:i]:
                shown = {e.replace(" ", "") for t in before.texts() for e, _ in el.placeholders(t)}
                assert asked not in shown, f"{lesson.id}:{step.id} is shown by {before.id}"

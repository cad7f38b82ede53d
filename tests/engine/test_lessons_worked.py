"""The built-in by-hand steps, filled in with the lessons' real run, checked the way a learner
checks them: the arithmetic every worked line writes out gives the number it claims (to the
step's tolerance), and a line that claims a sum shows the terms it adds, so a learner who
works from the numbers the step shows lands on the answer the page accepts."""

from __future__ import annotations

import math
import re

import pytest

from engine import lessons as el
from engine.runs import Runs
from engine.store import RunStore

_NUMBER = r"-?\d+(?:\.\d+)?"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return Runs(RunStore(tmp_path_factory.mktemp("worked-runs")))


def trained(runs, settings):
    run = runs.open(settings)
    return run if run.result is not None else runs.train(run)


def facts_of(runs, lesson, step) -> dict:
    """The step's facts as the page computes them: its run's, its trace's, and (by name) those
    of every run step of the lesson."""
    run = trained(runs, lesson.run_settings(step.run))
    r = run.result
    named = {}
    for other in (s for s in lesson.steps if s.kind == "run"):
        o = trained(runs, lesson.run_settings(other.id))
        named[other.id] = el.run_facts(o.result, o.dev.X, o.dev.labels, o.train.n)
    return {
        **named,
        **el.run_facts(r, run.dev.X, run.dev.labels, run.train.n),
        **el.trace_facts(
            el.params_at(r, step.at),
            lesson.image_of(step),
            run.dev.X,
            run.dev.labels,
            r.config.alpha,
        ),
        "alpha": r.config.alpha,
    }


def by_hand_steps():
    return [
        pytest.param(lesson, step, id=f"{lesson.id}:{step.id}")
        for lesson in el.builtin()
        for step in lesson.steps
        if step.kind == "by-hand"
    ]


def arithmetic(segment: str) -> str | None:
    """A side of an equation that is written-out arithmetic on numbers alone (``0.1 \\times
    (-3.09)``, ``-\\ln 0.014``, ``e^{ 2.27 }``) as Python, else None (symbols, lists, words)."""
    s = segment.replace("$", "").replace("−", "-").replace("\\,", " ")
    s = s.replace("\\times", "*").replace("\\ln", "ln ").replace("\\max", "max")
    s = re.sub(r"e\^\{\s*(" + _NUMBER + r")\s*\}", r"exp(\1)", s)
    s = re.sub(r"ln\s+(" + _NUMBER + ")", r"ln(\1)", s)
    bare = s.replace("exp", "").replace("ln", "").replace("max", "")
    if not re.search(r"\d", bare) or re.search(r"[^\d\s.,+\-*/()]", bare):
        return None
    return s.strip()


def claim(line: str) -> str | None:
    """The number a worked line ends on (``… = 0.4000``), if it ends on one."""
    last = line.replace("$", "").split(";")[0].split("=")[-1].strip().replace("−", "-")
    return last if re.fullmatch(_NUMBER, last) else None


def worked_equations(line: str) -> list[tuple[str, str]]:
    """(written-out arithmetic, the number it claims) for every such pair in one worked line."""
    claimed = claim(line)
    if claimed is None:
        return []
    sides = [s.strip() for s in line.replace("$", "").split(";")[0].split("=")][:-1]
    return [(a, claimed) for s in sides if (a := arithmetic(s)) and a != claimed]


@pytest.mark.parametrize(("lesson", "step"), by_hand_steps())
def test_every_worked_line_adds_up_as_written(runs, lesson, step):
    facts = facts_of(runs, lesson, step)
    functions = {"ln": math.log, "exp": math.exp, "max": max}
    for text in step.keys["worked"]:
        line = el.render(text, facts)
        shown = worked_equations(line)
        if claim(line) is not None:  # a number claimed is a number worked out
            assert shown, f"{lesson.id}:{step.id}: {line} shows no arithmetic for its number"
        if "\\sum" in line:  # a sum is shown term by term, not only as its total
            assert any("+" in written for written, _ in shown), line
        for written, claimed in shown:
            value = eval(written, {"__builtins__": {}}, functions)
            total = float(claimed)
            assert step.tolerance.allows(value, total) or math.isclose(
                value, total, rel_tol=1e-4
            ), f"{lesson.id}:{step.id}: {written} = {value:.6f}, the line says {claimed}"


@pytest.mark.parametrize(("lesson", "step"), by_hand_steps())
def test_no_number_in_a_formula_has_a_thousands_comma(runs, lesson, step):
    """KaTeX sets the comma of 31,810 as punctuation: "31, 810", two numbers to a learner."""
    facts = facts_of(runs, lesson, step)
    for text in (step.text, *step.keys["worked"]):
        for formula in re.findall(r"\$([^$]+)\$", el.render(text, facts)):
            assert not re.search(r"\d,\d{3}", formula), f"{lesson.id}:{step.id}: ${formula}$"


def all_steps():
    return [
        pytest.param(lesson, step, id=f"{lesson.id}:{step.id}")
        for lesson in el.builtin()
        for step in lesson.steps
        if step.kind != "run"  # a run step's text shows its settings only
    ]


@pytest.mark.parametrize(("lesson", "step"), all_steps())
def test_every_formula_with_numbers_adds_up(runs, lesson, step):
    """Outside the worked lines too: a formula of a step's text or reveal that writes out
    arithmetic on the run's numbers (784 × 10 + 10 + 10 × 10 + 10 = 7960) gives what it claims."""
    facts = facts_of(runs, lesson, step)
    functions = {"ln": math.log, "exp": math.exp, "max": max}
    for text in (step.text, *step.keys.get("reveal", ())):
        for formula in re.findall(r"\$([^$]+)\$", el.render(text, facts)):
            for written, claimed in worked_equations(formula):
                value = eval(written, {"__builtins__": {}}, functions)
                assert math.isclose(value, float(claimed), rel_tol=1e-4, abs_tol=1e-4), (
                    f"{lesson.id}:{step.id}: {written} = {value}, the text says {claimed}"
                )

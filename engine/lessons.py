"""Lessons: plain-text files a teacher writes, parsed, checked, and their answers checked against
a real run and nnmath's trace of one step. No Streamlit (the Lessons page is ui/ + pages/).

A lesson file (the format is documented with a complete example in docs/lessons.md)::

    ---
    title: The cost
    minutes: 6
    run: hidden=10 alpha=0.1 iterations=500
    ---

    ::: predict first-loss
    Before any training, what will the loss be?
    answer: first_loss
    tolerance: 0.3
    :::

A front matter (title, minutes, the lesson's run, optionally summary and image), then steps, each
a block from ``::: KIND [ID]`` to ``:::``, of four kinds: ``read``, ``predict``, ``run`` and
``by-hand``. A step's ``key: value`` lines (which keys, see :data:`KEYS`) are its settings; the
rest is Markdown with LaTeX, and ``{{expression}}`` / ``{{expression:.3f}}`` placeholders filled
from the run. Expressions are a small safe language (numbers, + - * / **, comparisons, and/or,
indexing, a few functions: :data:`FUNCTIONS`) over the run's facts (:data:`RUN_FACTS`) and the
trace of one training step on one dev image (:data:`TRACE_FACTS`); ``NAME.fact`` reads the facts
of the run step called NAME. Nothing in a file is executed as Python.

:func:`check` lists every problem of a file with its line; :func:`parse` returns a
:class:`Lesson` or raises :class:`LessonError`; :func:`facts` computes the numbers of a run and
:func:`check_answer` checks a learner's numbers against them. ``python -m engine.lessons check
FILE…`` and ``python -m engine.lessons list`` are the command line.
"""

from __future__ import annotations

import ast
import hashlib
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import nnmath
from nnmath.network import N_PIXELS, forward_propagation, scale_pixels

from .config import NOTEBOOK, SETTING_PARAMS, Settings

REPO = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO / "lessons"
PAGES_DIR = REPO / "pages"
#: A lesson file is at most this big (uploads are refused beyond it).
MAX_BYTES = 64 * 1024
MAX_STEPS = 60
MAX_EXPRESSION = 300  # characters
MAX_ENTRIES = 10  # numbers a by-hand answer may ask for
UPLOAD_PREFIX = "upload-"
_UPLOAD_KEY = re.compile(r"^upload-[0-9a-f]{16}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

KINDS = ("read", "predict", "run", "by-hand")
#: The ``key:`` lines each step kind reads (every kind also reads ``at``, ``image`` and ``run``).
KEYS: dict[str, tuple[str, ...]] = {
    "read": ("figure", "go"),
    "predict": ("answer", "tolerance", "reveal"),
    "run": ("settings",),
    "by-hand": ("answer", "tolerance", "worked"),
}
COMMON_KEYS = ("at", "image", "run")
REPEATABLE = ("figure", "go", "reveal", "worked")
FRONT_KEYS = ("title", "minutes", "run", "image", "summary")
#: Figures a read step can show (``figure: NAME``), drawn by views.lessons for the step's run.
FIGURES: dict[str, str] = {
    "curves": "loss and accuracy against iteration",
    "digit": "the step's dev image",
    "samples": "a few training images of each digit",
    "probabilities": "the softmax probabilities A2 of the step's image",
    "confusion": "the confusion matrix on the dev set",
    "confidence": "how sure the network is on right and wrong dev answers",
    "hidden": "each hidden unit's 784 input weights as a 28x28 image",
    "hidden-change": "what training changed in each hidden unit's weights (W1 minus its start)",
    "output-weights": "W2: how much each hidden unit votes for each digit",
}
#: The facts of a run (the run's settings, history and dev-set evaluation).
RUN_FACTS: dict[str, str] = {
    "hidden": "hidden units",
    "alpha": "learning rate",
    "iterations": "iterations trained",
    "seed": "seed of the initial weights",
    "pixels": "inputs per image (784)",
    "classes": "digits (10)",
    "train_n": "training images",
    "dev_n": "dev images",
    "parameters": "weights and biases in all: 784 h + h + 10 h + 10",
    "loss": "training loss after the last iteration",
    "first_loss": "training loss before any update (iteration 0)",
    "losses": "the training loss at each iteration (losses[i])",
    "dev_accuracies": "the dev accuracy at each iteration",
    "train_accuracy": "accuracy on the training images at the end",
    "dev_accuracy": "accuracy on the dev images at the end",
    "gap": "train_accuracy - dev_accuracy",
    "best_dev_iteration": "the iteration with the best dev accuracy",
    "best_dev_accuracy": "the best dev accuracy during training",
    "confusion": "dev confusion matrix, confusion[true, predicted]",
    "digit_accuracy": "dev accuracy of each true digit (digit_accuracy[d])",
    "worst_digit": "the true digit with the lowest dev accuracy",
    "confused_true": "true digit of the most frequent dev mistake",
    "confused_pred": "predicted digit of the most frequent dev mistake",
    "confused_count": "how many dev images make that mistake",
    "mistakes": "dev images answered wrongly",
    "mean_confidence": "average probability of the predicted digit on dev",
    "confidence_right": "average confidence on right dev answers",
    "confidence_wrong": "average confidence on wrong dev answers",
    "sure_wrong": "wrong dev answers given with probability >= 0.9",
    "dead_units": "hidden units silent (A1 = 0) on every dev image",
}
#: The facts of one training step on the step's dev image (nnmath.trace_step), at the start of
#: the run (``at: start``, the initial weights) or at its end (``at: end``, the default).
#: Row vectors are flattened: ``A2[3]``, ``dZ1[0]``; matrices keep two indices: ``W2[j, k]``.
TRACE_FACTS: dict[str, str] = {
    "image": "index of the dev image",
    "y": "its true digit",
    "x": "its 784 pixels, 0..255",
    "X": "its pixels / 255",
    "Y": "one_hot(y), 10 numbers",
    "Z1": "X W1 + b1 (h numbers)",
    "A1": "ReLU(Z1)",
    "Z2": "A1 W2 + b2 (10 numbers)",
    "A2": "softmax(Z2)",
    "pred": "argmax(A2), the predicted digit",
    "image_loss": "-ln A2[y]",
    "dZ2": "A2 - Y",
    "dW2": "A1^T dZ2, (h, 10)",
    "db2": "dZ2 summed over images (one here)",
    "dA1": "dZ2 W2^T",
    "dZ1": "dA1 * (Z1 > 0)",
    "dW1": "X^T dZ1, (784, h)",
    "db1": "dZ1 summed over images",
    "W1": "weights into the hidden units before the step, (784, h)",
    "b1": "hidden biases before the step",
    "W2": "weights into the outputs before the step, (h, 10)",
    "b2": "output biases before the step",
    "W1_new": "W1 - alpha dW1",
    "b1_new": "b1 - alpha db1",
    "W2_new": "W2 - alpha dW2",
    "b2_new": "b2 - alpha db2",
    "A2_new": "softmax of the same image after the step",
    "image_loss_new": "-ln A2_new[y]",
}
FACTS = {**RUN_FACTS, **TRACE_FACTS}


def _count(x) -> int:
    return int(np.count_nonzero(x))


def _max(*a):
    return np.max(a[0]) if len(a) == 1 else max(a)


def _min(*a):
    return np.min(a[0]) if len(a) == 1 else min(a)


#: The functions an expression may call.
FUNCTIONS: dict[str, Callable] = {
    "ln": np.log,
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "max": _max,
    "min": _min,
    "sum": np.sum,
    "mean": np.mean,
    "argmax": lambda a: int(np.argmax(a)),
    "argmin": lambda a: int(np.argmin(a)),
    "count": _count,
    "len": lambda a: int(np.size(a)),
    "round": lambda a, n=0: np.round(a, int(n)),
    "relu": lambda a: np.maximum(a, 0),
}


class LessonError(ValueError):
    """A lesson file that cannot be used: ``problems`` lists (line, message)."""

    def __init__(self, name: str, problems: list[tuple[int, str]]):
        self.name = name
        self.problems = problems
        super().__init__(
            "; ".join(f"{name}:{line}: {message}" for line, message in problems[:5])
            + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        )


class ExpressionError(ValueError):
    """An expression that cannot be read, or cannot be computed for this run."""


# ---- the lesson -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    text: str
    rule: str | None  # right when this expression is true for the run; None: never right
    line: int


@dataclass(frozen=True)
class Step:
    kind: str
    id: str
    line: int  # of the ``:::`` that opens it
    text: str  # Markdown with {{placeholders}}
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # key -> values, in order
    key_lines: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # their lines
    text_lines: tuple[int, ...] = ()  # the file line of each line of ``text``
    choices: tuple[Choice, ...] = ()
    settings: Settings | None = None  # a run step's locked settings

    def value(self, key: str, default: str | None = None) -> str | None:
        values = self.keys.get(key)
        return values[-1] if values else default

    @property
    def answer(self) -> str | None:
        return self.value("answer")

    @property
    def at(self) -> str:
        return self.value("at", "end")

    @property
    def run(self) -> str | None:
        """The run step whose run this step is about (None: the lesson's run)."""
        return self.value("run")

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance.parse(self.value("tolerance", ""))

    @property
    def figures(self) -> tuple[str, ...]:
        return self.keys.get("figure", ())

    def texts(self) -> list[str]:
        """Every text of the step that may hold placeholders."""
        return [self.text, *self.keys.get("reveal", ()), *self.keys.get("worked", ())] + [
            c.text for c in self.choices
        ]

    def expressions(self) -> list[str]:
        """Every expression of the step: its placeholders, its answer and its choices' rules."""
        out = [e for t in self.texts() for e, _ in placeholders(t)]
        out += [self.answer] if self.answer else []
        return out + [c.rule for c in self.choices if c.rule]

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        """(page URL path, label) of each ``go:`` line."""
        out = []
        for value in self.keys.get("go", ()):
            page, _, label = value.partition("|")
            out.append((page.strip(), label.strip()))
        return tuple(out)


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    minutes: int
    summary: str
    settings: Settings  # the lesson's run
    image: int  # the dev image of the trace, unless a step says otherwise
    steps: tuple[Step, ...]
    source: str = ""  # the file's text

    def step_index(self, step_id: str) -> int:
        for i, s in enumerate(self.steps):
            if s.id == step_id:
                return i
        raise KeyError(step_id)

    def run_settings(self, name: str | None) -> Settings:
        """The settings of the run step ``name`` (None: the lesson's run)."""
        if name is None:
            return self.settings
        return self.steps[self.step_index(name)].settings

    def image_of(self, step: Step) -> int:
        return int(step.value("image", str(self.image)))


@dataclass(frozen=True)
class Tolerance:
    value: float
    relative: bool

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        t = text.strip()
        relative = t.endswith("%")
        x = float(t[:-1] if relative else t)  # ValueError for a missing or bad tolerance
        if not (math.isfinite(x) and x >= 0):
            raise ValueError(t)
        return cls(x / 100 if relative else x, relative)

    def allows(self, guess: float, truth: float) -> bool:
        room = self.value * abs(truth) if self.relative else self.value
        return abs(guess - truth) <= room * (1 + 1e-9) + 1e-12

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


# ---- parsing and checking ------------------------------------------------------------------------
_OPEN = re.compile(r"^:::\s*([A-Za-z_-]+)(?:\s+(\S+))?\s*$")
_CLOSE = re.compile(r"^:::\s*$")
_KEY = re.compile(r"^([a-z]+):\s?(.*)$")
_CHOICE = re.compile(r"^[-*]\s+(.*?)(?:\s*\(right if\s+(.+)\))?\s*$")
_PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}")
_FORMAT = re.compile(r"^(.*?):\s*([,_]?\.\d+[fe%g]|[,_]?\d*[d%]|,)\s*$")


def check(text: str, name: str = "lesson") -> list[tuple[int, str]]:
    """Every problem of a lesson file as (line, message), empty when it can be used."""
    return _parse(text, name)[1]


def parse(text: str, name: str = "lesson", lesson_id: str | None = None) -> Lesson:
    """The lesson in ``text`` (``name``: the file name, for messages and the default id). Raises
    :class:`LessonError` listing every problem."""
    lesson, problems = _parse(text, name, lesson_id)
    if problems:
        raise LessonError(name, problems)
    return lesson


def _parse(text: str, name: str, lesson_id: str | None = None):
    problems: list[tuple[int, str]] = []

    def bad(line: int, message: str) -> None:
        problems.append((line, message))

    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        return None, [(1, f"the file is larger than {MAX_BYTES // 1024} KB")]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    front, i = _front_matter(lines, bad)
    steps: list[Step] = []
    block: dict[str, Any] | None = None
    for n in range(i, len(lines)):
        raw = lines[n]
        line_no = n + 1
        if block is None:
            m = _OPEN.match(raw)
            if m:
                block = {"kind": m.group(1), "id": m.group(2), "line": line_no, "body": []}
            elif _CLOSE.match(raw):
                bad(line_no, "':::' closes a step that was never opened")
            elif raw.strip():
                bad(line_no, "text outside a step: put it in a '::: read' block")
            continue
        if _CLOSE.match(raw):
            steps.append(_step(block, len(steps) + 1, bad))
            block = None
        elif _OPEN.match(raw):
            bad(line_no, f"a new step opens before the step of line {block['line']} is closed")
            steps.append(_step(block, len(steps) + 1, bad))
            m = _OPEN.match(raw)
            block = {"kind": m.group(1), "id": m.group(2), "line": line_no, "body": []}
        else:
            block["body"].append((line_no, raw))
    if block is not None:
        bad(block["line"], "this step is not closed: end it with a line ':::'")
        steps.append(_step(block, len(steps) + 1, bad))
    steps = [s for s in steps if s is not None]

    title = front.get("title", (1, ""))[1]
    if not title:
        bad(front.get("title", (1, ""))[0], "the front matter needs a title: line")
    minutes = _int(front, "minutes", bad, 1, 60, default=None)
    image = _int(front, "image", bad, 0, 100_000, default=0)
    settings = NOTEBOOK
    if "run" in front:
        settings = _settings(front["run"][1], front["run"][0], bad) or NOTEBOOK
    else:
        bad(1, "the front matter needs a run: line (the lesson's run, e.g. run: hidden=10)")
    if not steps:
        bad(len(lines), "the lesson has no steps")
    if len(steps) > MAX_STEPS:
        bad(steps[MAX_STEPS].line, f"more than {MAX_STEPS} steps")
    _check_steps(steps, bad)
    problems.sort()
    stem = Path(name).stem
    lesson = Lesson(
        id=lesson_id or re.sub(r"^\d+[-_]", "", stem).lower(),
        title=title,
        minutes=minutes or 0,
        summary=front.get("summary", (0, ""))[1],
        settings=settings,
        image=image,
        steps=tuple(steps),
        source=text,
    )
    return lesson, problems


def _front_matter(lines: list[str], bad) -> tuple[dict[str, tuple[int, str]], int]:
    """{key: (line, value)} of the ``---`` block at the top, and the index after it."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines) or lines[i].strip() != "---":
        bad(i + 1, "a lesson starts with a front matter: '---', title:, minutes:, run:, '---'")
        return {}, i
    out: dict[str, tuple[int, str]] = {}
    for n in range(i + 1, len(lines)):
        raw = lines[n].strip()
        if raw == "---":
            return out, n + 1
        if not raw:
            continue
        m = _KEY.match(raw)
        if not m or m.group(1) not in FRONT_KEYS:
            bad(n + 1, f"unknown front matter line {raw!r} (known: {', '.join(FRONT_KEYS)})")
            continue
        out[m.group(1)] = (n + 1, m.group(2).strip())
    bad(i + 1, "the front matter is not closed: end it with a line '---'")
    return out, len(lines)


def _int(front, key, bad, lo, hi, default):
    if key not in front:
        if default is None:
            bad(1, f"the front matter needs a {key}: line")
        return default
    line, raw = front[key]
    try:
        value = int(raw)
    except ValueError:
        bad(line, f"{key} must be a whole number, got {raw!r}")
        return default
    if not lo <= value <= hi:
        bad(line, f"{key} must be between {lo} and {hi}, got {value}")
        return default
    return value


def _settings(raw: str, line: int, bad) -> Settings | None:
    """Settings from ``hidden=10 alpha=0.1`` or a teacher's link's query (``?hidden=10&…``,
    lock/hide ignored: a lesson's run is locked anyway)."""
    query = raw.strip().split("?", 1)[-1]
    params: dict[str, str] = {}
    for part in re.split(r"[&\s]+", query):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq:
            bad(line, f"bad setting {part!r} in the run: write name=value")
            continue
        if key in ("lock", "hide", "embed"):
            continue
        if key not in SETTING_PARAMS or key == "model":
            known = ", ".join(p for p in SETTING_PARAMS if p != "model")
            bad(line, f"unknown setting {key!r} in the run (known: {known})")
            continue
        params[key] = value
    settings, problems = Settings.from_query(params, base=NOTEBOOK)
    problems += settings.problems()
    for p in problems:
        bad(line, f"bad setting in the run: {p}")
    return None if problems else settings


def _step(block: dict[str, Any], position: int, bad) -> Step | None:
    kind, line = block["kind"].lower(), block["line"]
    if kind in ("byhand", "by_hand", "hand"):
        kind = "by-hand"
    if kind not in KINDS:
        bad(line, f"unknown step kind {block['kind']!r} (known: {', '.join(KINDS)})")
        return None
    step_id = block["id"] or f"{kind}-{position}"
    if not _ID.match(step_id):
        bad(line, f"step id {step_id!r}: use lower-case letters, digits and '-' (at most 40)")
    keys: dict[str, list[str]] = {}
    key_lines: dict[str, list[int]] = {}
    text: list[tuple[int, str]] = []
    choices: list[Choice] = []
    allowed = KEYS[kind] + COMMON_KEYS
    for n, raw in block["body"]:
        m = _KEY.match(raw)
        if m and m.group(1) in allowed:
            key = m.group(1)
            if key in keys and key not in REPEATABLE:
                bad(n, f"{key}: is given twice in this step")
            keys.setdefault(key, []).append(m.group(2).strip())
            key_lines.setdefault(key, []).append(n)
            continue
        if m and m.group(1) in {k for ks in KEYS.values() for k in ks} | {"choice"}:
            bad(
                n, f"{m.group(1)}: does not belong in a {kind} step (it reads {', '.join(allowed)})"
            )
            continue
        c = _CHOICE.match(raw) if kind == "predict" else None
        if c:
            choices.append(Choice(c.group(1).strip(), c.group(2) and c.group(2).strip(), n))
            continue
        text.append((n, raw))
    while text and not text[0][1].strip():
        text.pop(0)
    while text and not text[-1][1].strip():
        text.pop()
    step = Step(
        kind=kind,
        id=step_id,
        line=line,
        text="\n".join(raw for _, raw in text),
        keys={k: tuple(v) for k, v in keys.items()},
        key_lines={k: tuple(v) for k, v in key_lines.items()},
        text_lines=tuple(n for n, _ in text),
        choices=tuple(choices),
    )
    _check_step(step, bad)
    if kind == "run" and "settings" in keys:
        settings = _settings(keys["settings"][-1], key_lines["settings"][-1], bad)
        step = replace(step, settings=settings)
    return step


def _check_step(step: Step, bad) -> None:
    line = step.line

    def at(key: str) -> int:
        return step.key_lines.get(key, (line,))[-1]

    if step.kind == "run" and "settings" not in step.keys:
        bad(line, "a run step needs a settings: line (e.g. settings: hidden=10 iterations=500)")
    if step.value("at") is not None and step.at not in ("start", "end"):
        bad(at("at"), f"at: must be start or end, got {step.at!r}")
    if step.value("image") is not None:
        try:
            if int(step.value("image")) < 0:
                raise ValueError
        except ValueError:
            bad(at("image"), f"image: must be a dev image number >= 0, got {step.value('image')!r}")
    for name in step.figures:
        if name not in FIGURES:
            bad(at("figure"), f"unknown figure {name!r} (known: {', '.join(FIGURES)})")
    pages = page_paths()
    for page, label in step.links:
        if page not in pages:
            bad(at("go"), f"go: {page!r} is not a page (known: {', '.join(sorted(pages))})")
        if not label:
            bad(at("go"), "go: needs a label after '|' (go: evaluate | Which digits get confused)")
    if step.kind in ("predict", "by-hand"):
        if step.kind == "predict" and step.choices:
            if step.answer is not None:
                bad(at("answer"), "a predict step has either choices or an answer:, not both")
            if len(step.choices) < 2:
                bad(line, "a choice list needs at least two choices")
            if not any(c.rule for c in step.choices):
                bad(
                    step.choices[0].line,
                    "no choice says when it is right: end the right one(s) with "
                    "'(right if RULE)', a rule computed from the run",
                )
        elif step.answer is None:
            what = "choices ('- text (right if RULE)') or " if step.kind == "predict" else ""
            bad(line, f"a {step.kind} step needs {what}an answer: line (an expression of the run)")
        if step.answer is not None:
            if "tolerance" not in step.keys:
                bad(at("answer"), "the answer has no tolerance: line (e.g. tolerance: 0.01 or 5%)")
            else:
                try:
                    step.tolerance  # noqa: B018 - parse it
                except ValueError:
                    bad(
                        at("tolerance"),
                        f"tolerance: {step.value('tolerance')!r} is not a number >= 0 "
                        "(or a percentage like 5%)",
                    )
    if step.kind == "by-hand" and "worked" not in step.keys:
        bad(line, "a by-hand step needs worked: lines (the worked numbers shown after two tries)")


def _check_steps(steps: list[Step], bad) -> None:
    """What needs the whole lesson: unique ids, run names, expressions and the ending."""
    seen: dict[str, int] = {}
    runs: dict[str, int] = {}
    for s in steps:
        if s.id in seen:
            bad(s.line, f"step id {s.id!r} is used twice (first on line {seen[s.id]})")
        seen.setdefault(s.id, s.line)
        if s.kind == "run":
            runs[s.id] = s.line

    def check_expression(expr: str, line: int) -> None:
        try:
            names(expr, runs)
        except ExpressionError as e:
            bad(line, str(e))

    for s in steps:
        if s.run is not None and s.run not in runs:
            bad(s.line, f"run: {s.run!r} is not a run step of this lesson")
        texts = list(zip(s.text.split("\n"), s.text_lines, strict=False))
        for k in ("reveal", "worked"):
            texts += list(zip(s.keys.get(k, ()), s.key_lines.get(k, ()), strict=True))
        texts += [(c.text, c.line) for c in s.choices]
        for t, line in texts:
            for expr, _fmt in placeholders(t):
                check_expression(expr, line)
        if s.answer is not None:
            check_expression(s.answer, s.key_lines["answer"][-1])
        for c in s.choices:
            if c.rule:
                check_expression(c.rule, c.line)
    if steps and not (steps[-1].kind == "read" and steps[-1].links):
        bad(
            steps[-1].line,
            "a lesson ends with a read step saying what the learner now knows, with go: lines "
            "to the pages that go deeper",
        )


def page_paths() -> dict[str, Path]:
    """{URL path: file} of the app's pages (a page file is named after its URL path: 3_evaluate.py
    is /evaluate), plus "" for Home."""
    out = {"home": REPO / "streamlit_app.py"}
    for p in sorted(PAGES_DIR.glob("*.py")):
        out[re.sub(r"^\d+_", "", p.stem)] = p
    return out


# ---- expressions ------------------------------------------------------------------------------
_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_COMPARE = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}


def placeholders(text: str) -> list[tuple[str, str]]:
    """(expression, format) of every ``{{expression}}`` / ``{{expression:format}}`` in ``text``."""
    out = []
    for m in _PLACEHOLDER.finditer(text):
        inner = m.group(1).strip()
        f = _FORMAT.match(inner)
        out.append((f.group(1).strip(), f.group(2)) if f else (inner, ""))
    return out


def _tree(expr: str) -> ast.expr:
    if len(expr) > MAX_EXPRESSION:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION} characters")
    try:
        return ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        raise ExpressionError(f"cannot read the expression {expr!r}") from None


def names(expr: str, runs: Mapping[str, Any] = ()) -> set[str]:
    """The facts ``expr`` reads; ExpressionError naming anything it may not use (unknown names,
    functions, run steps, or Python beyond arithmetic, comparisons and indexing)."""
    used: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise ExpressionError(f"{expr!r}: only numbers may be written in an expression")
        elif isinstance(node, ast.Name):
            if node.id not in FACTS:
                raise ExpressionError(f"{expr!r}: unknown quantity {node.id!r}{_suggest(node.id)}")
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            if not isinstance(node.value, ast.Name) or node.value.id not in runs:
                raise ExpressionError(
                    f"{expr!r}: NAME.{node.attr} needs NAME to be a run step of this lesson"
                )
            if node.attr not in RUN_FACTS:
                raise ExpressionError(f"{expr!r}: a run has no fact {node.attr!r}")
            used.add(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise ExpressionError(
                    f"{expr!r}: unknown function {what!r} (known: {', '.join(FUNCTIONS)})"
                )
            if node.keywords:
                raise ExpressionError(f"{expr!r}: functions take plain arguments")
            for a in node.args:
                visit(a)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            if isinstance(node.op, ast.Pow) and not (
                isinstance(node.right, ast.Constant) and abs(node.right.value) <= 10
            ):
                raise ExpressionError(f"{expr!r}: ** takes a written number of at most 10")
            visit(node.left)
            visit(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            visit(node.operand)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                visit(v)
        elif isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
            visit(node.left)
            for c in node.comparators:
                visit(c)
        elif isinstance(node, ast.IfExp):
            for v in (node.test, node.body, node.orelse):
                visit(v)
        elif isinstance(node, ast.Subscript):
            visit(node.value)
            index = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(index) > 2:
                raise ExpressionError(f"{expr!r}: at most two indices")
            for i in index:
                visit(i)
        else:
            raise ExpressionError(
                f"{expr!r}: {ast.unparse(node)!r} is not allowed (numbers, facts, + - * / **, "
                "comparisons, and/or, if/else, [i] or [i, j], and the known functions)"
            )

    visit(_tree(expr))
    return used


def _suggest(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(FACTS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def evaluate(expr: str, scope: Mapping[str, Any]):
    """The value of ``expr`` with the facts in ``scope`` (:func:`facts`; run steps' facts under
    their names as mappings). ExpressionError when it cannot be computed for this run."""
    names(expr, {k: v for k, v in scope.items() if isinstance(v, Mapping)})

    def ev(node: ast.AST):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return scope[node.id]
        if isinstance(node, ast.Attribute):
            return scope[node.value.id][node.attr]
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(ev(a) for a in node.args))
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return (
                -v
                if isinstance(node.op, ast.USub)
                else (not v if isinstance(node.op, ast.Not) else v)
            )
        if isinstance(node, ast.BoolOp):
            values = [bool(ev(v)) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            if len(node.ops) == 1:  # elementwise on arrays: count(Z1 <= 0)
                return _COMPARE[type(node.ops[0])](left, ev(node.comparators[0]))
            for op, c in zip(node.ops, node.comparators, strict=True):
                right = ev(c)
                if not bool(_COMPARE[type(op)](left, right)):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return ev(node.body) if bool(ev(node.test)) else ev(node.orelse)
        if isinstance(node, ast.Subscript):
            value = np.asarray(ev(node.value))
            index = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            idx = []
            for i in index:
                v = ev(i)
                if not float(v).is_integer():
                    raise ExpressionError(f"{expr!r}: index {v} is not a whole number")
                idx.append(int(v))
            if len(idx) > value.ndim:
                raise ExpressionError(f"{expr!r}: at most {value.ndim} index(es), got {len(idx)}")
            for i, n in zip(idx, value.shape[: len(idx)], strict=True):
                if not 0 <= i < n:
                    raise ExpressionError(f"{expr!r}: index {i} is outside 0..{n - 1}")
            return value[tuple(idx)][()]
        raise ExpressionError(f"{expr!r}: cannot compute {ast.unparse(node)!r}")

    try:
        with np.errstate(all="ignore"):
            return ev(_tree(expr))
    except ExpressionError:
        raise
    except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as e:
        raise ExpressionError(f"{expr!r} cannot be computed for this run: {e}") from None


def format_value(value, fmt: str = "") -> str:
    """How a placeholder shows a value: numbers with ``fmt`` (default: 4 significant digits, whole
    numbers as such), arrays as [a, b, …] (at most 10 entries shown)."""
    arr = np.asarray(value)
    if arr.ndim:
        flat = arr.ravel()
        shown = ", ".join(format_value(v, fmt) for v in flat[:MAX_ENTRIES])
        return f"[{shown}{', …' if flat.size > MAX_ENTRIES else ''}]"
    v = arr.item()
    if isinstance(v, bool):
        return "yes" if v else "no"
    if fmt:
        return format(int(v) if fmt.endswith("d") else v, fmt)
    if isinstance(v, int) or (isinstance(v, float) and math.isfinite(v) and v.is_integer()):
        return f"{int(v):,}"
    return f"{v:.4g}"


def render(text: str, scope: Mapping[str, Any]) -> str:
    """``text`` with every placeholder replaced by its value for this run."""

    def one(m: re.Match) -> str:
        ((expr, fmt),) = placeholders(m.group(0))
        return format_value(evaluate(expr, scope), fmt)

    return _PLACEHOLDER.sub(one, text)


# ---- the numbers of a run -------------------------------------------------------------------------
def run_facts(result, dev_X, dev_y, train_n: int) -> dict[str, Any]:
    """The facts of :data:`RUN_FACTS` for a trained run (nnmath.TrainResult) and its dev set."""
    h = result.history
    params = result.params
    cache = forward_propagation(params, scale_pixels(dev_X, params.dtype))
    probs = np.asarray(cache.A2, np.float64)
    y = np.asarray(dev_y, np.int64)
    pred = probs.argmax(axis=1)
    cm = np.bincount(y * 10 + pred, minlength=100).reshape(10, 10)
    per_digit = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    off = cm.copy()
    np.fill_diagonal(off, -1)
    ct, cp = np.unravel_index(int(np.argmax(off)), off.shape)
    conf = probs.max(axis=1)
    right = pred == y
    dev_acc = np.asarray(h.dev_accuracy, np.float64)
    hidden = params.hidden
    return {
        "hidden": hidden,
        "alpha": float(result.config.alpha),
        "iterations": int(result.iterations),
        "seed": int(result.config.seed),
        "pixels": N_PIXELS,
        "classes": nnmath.CLASSES,
        "train_n": int(train_n),
        "dev_n": len(y),
        "parameters": 784 * hidden + hidden + hidden * 10 + 10,
        "loss": float(result.loss),
        "first_loss": float(h.loss[0]) if len(h) else math.nan,
        "losses": np.asarray(h.loss, np.float64),
        "dev_accuracies": dev_acc,
        "train_accuracy": float(result.train_accuracy),
        "dev_accuracy": float(result.dev_accuracy),
        "gap": float(result.train_accuracy - result.dev_accuracy),
        "best_dev_iteration": int(np.nanargmax(dev_acc)) if np.isfinite(dev_acc).any() else 0,
        "best_dev_accuracy": float(np.nanmax(dev_acc)) if np.isfinite(dev_acc).any() else math.nan,
        "confusion": cm,
        "digit_accuracy": per_digit,
        "worst_digit": int(np.argmin(per_digit)),
        "confused_true": int(ct),
        "confused_pred": int(cp),
        "confused_count": int(cm[ct, cp]),
        "mistakes": int((~right).sum()),
        "mean_confidence": float(conf.mean()),
        "confidence_right": float(conf[right].mean()) if right.any() else math.nan,
        "confidence_wrong": float(conf[~right].mean()) if (~right).any() else math.nan,
        "sure_wrong": int(((conf >= 0.9) & ~right).sum()),
        "dead_units": int((np.asarray(cache.A1) <= 0).all(axis=0).sum()),
    }


def trace_facts(params, image: int, dev_X, dev_y, alpha: float, activation: str = "relu"):
    """The facts of :data:`TRACE_FACTS`: nnmath.trace_step of dev image ``image`` from ``params``."""
    if not 0 <= image < len(dev_y):
        raise ExpressionError(f"image {image} is not a dev image (0..{len(dev_y) - 1})")
    x = np.asarray(dev_X[image]).reshape(-1)
    t = nnmath.trace_step(params, x, int(dev_y[image]), alpha, activation=activation)

    def row(a):
        return np.asarray(a, np.float64).reshape(-1)

    def mat(a):
        return np.asarray(a, np.float64)

    return {
        "image": int(image),
        "y": t.y,
        "x": x.astype(np.int64),
        "X": row(t.X),
        "Y": row(t.Y),
        "Z1": row(t.Z1),
        "A1": row(t.A1),
        "Z2": row(t.Z2),
        "A2": row(t.A2),
        "pred": int(np.argmax(t.A2)),
        "image_loss": float(t.loss),
        "dZ2": row(t.dZ2),
        "dW2": mat(t.dW2),
        "db2": row(t.db2),
        "dA1": row(t.dA1),
        "dZ1": row(t.dZ1),
        "dW1": mat(t.dW1),
        "db1": row(t.db1),
        "W1": mat(t.params.W1),
        "b1": row(t.params.b1),
        "W2": mat(t.params.W2),
        "b2": row(t.params.b2),
        "W1_new": mat(t.updated.W1),
        "b1_new": row(t.updated.b1),
        "W2_new": mat(t.updated.W2),
        "b2_new": row(t.updated.b2),
        "A2_new": row(t.A2_after),
        "image_loss_new": float(t.loss_after),
    }


def params_at(result, at: str):
    """The run's parameters at ``at``: "start" (iteration 0) or "end"."""
    return result.snapshot(0) if at == "start" else result.params


# ---- answers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    correct: bool
    expected: np.ndarray  # the run's numbers, flattened
    wrong: tuple[int, ...]  # positions of the wrong entries
    labels: tuple[str, ...]  # how each entry is named (dZ2[3])
    message: str


def entry_labels(expr: str, size: int) -> tuple[str, ...]:
    """How the entries of an answer are named: "your answer" for one number (its expression,
    ``digit_accuracy[worst_digit]``, is the lesson's code, not the learner's words; the step's
    text says what is asked), else ``expr[i]`` (for a plain name) or ``entry i``."""
    if size == 1:
        return ("your answer",)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", expr.strip())
    return tuple(f"{expr}[{i}]" if plain else f"entry {i}" for i in range(size))


def expected_numbers(expr: str, scope: Mapping[str, Any]) -> np.ndarray:
    """The numbers an answer expression asks for (1 to MAX_ENTRIES of them)."""
    value = np.asarray(evaluate(expr, scope), np.float64).ravel()
    if not 1 <= value.size <= MAX_ENTRIES:
        raise ExpressionError(
            f"{expr!r} is {value.size} numbers; an answer is 1 to {MAX_ENTRIES} numbers"
        )
    return value


def check_answer(step: Step, scope: Mapping[str, Any], values) -> Verdict:
    """A learner's numbers for a by-hand (or number predict) step against the run: right when
    every entry is within the step's tolerance of nnmath's value; else which entries are wrong."""
    expected = expected_numbers(step.answer, scope)
    labels = entry_labels(step.answer, expected.size)
    got = np.asarray([float("nan") if v is None else float(v) for v in values], np.float64)
    if got.size != expected.size:
        raise ValueError(f"expected {expected.size} numbers, got {got.size}")
    tol = step.tolerance
    wrong = tuple(
        i
        for i in range(expected.size)
        if not (math.isfinite(got[i]) and tol.allows(got[i], expected[i]))
    )
    if not wrong:
        message = "Right" + (f" (within {tol} of the run's own value)." if tol.value else ".")
    elif expected.size == 1 and not tol.value:
        message = f"Not quite: {labels[0]} is not exactly right."
    elif expected.size == 1:
        message = f"Not quite: {labels[0]} is off by more than {tol}."
    else:
        named = ", ".join(labels[i] for i in wrong)
        message = f"{named} {'is' if len(wrong) == 1 else 'are'} wrong (tolerance {tol}); the others are right."
    return Verdict(not wrong, expected, wrong, labels, message)


def right_choices(step: Step, scope: Mapping[str, Any]) -> list[int]:
    """Positions of the choices whose rule is true for this run."""
    return [i for i, c in enumerate(step.choices) if c.rule and bool(evaluate(c.rule, scope))]


# ---- where lessons come from ------------------------------------------------------------------
def builtin_files() -> list[Path]:
    return sorted(LESSONS_DIR.glob("*.md"))


def builtin() -> list[Lesson]:
    """The built-in course, in file order (a built-in lesson that does not parse raises)."""
    return [parse(p.read_text(encoding="utf-8"), p.name) for p in builtin_files()]


def upload_path(folder: Path, key: str) -> Path:
    return Path(folder) / f"{key[len(UPLOAD_PREFIX) :]}.md"


def keep_upload(raw: bytes, name: str, folder: Path) -> Lesson:
    """Check an uploaded lesson file and keep it under ``folder`` by the digest of its bytes;
    returns the lesson, whose id is its key (``upload-<16 hex>``, for a link). Raises
    LessonError (nothing is written) for a file that is too big, not text, or not a lesson."""
    if len(raw) > MAX_BYTES:
        raise LessonError(name, [(1, f"the file is larger than {MAX_BYTES // 1024} KB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonError(name, [(1, "the file is not UTF-8 text")]) from None
    key = UPLOAD_PREFIX + hashlib.sha256(raw).hexdigest()[:16]
    lesson = parse(text, name, lesson_id=key)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = upload_path(folder, key)
    if not path.exists():
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    return lesson


def load(key: str, folder: Path | None = None) -> Lesson:
    """A lesson by its id: a built-in lesson's, or an uploaded one's key (kept in ``folder``).
    KeyError when there is none."""
    if _UPLOAD_KEY.match(key or ""):
        path = upload_path(folder, key) if folder is not None else None
        if path is None or not path.is_file():
            raise KeyError(f"lesson {key} is not on this server any more: upload it again")
        return parse(path.read_text(encoding="utf-8"), path.name, lesson_id=key)
    for p in builtin_files():
        if re.sub(r"^\d+[-_]", "", p.stem).lower() == key:
            return parse(p.read_text(encoding="utf-8"), p.name)
    raise KeyError(f"no lesson called {key!r}")


# ---- command line -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["list"] and len(args) == 1:
        for lesson in builtin():
            print(f"{lesson.id}\t{lesson.minutes} min\t{lesson.title}")
        return 0
    if args[:1] == ["check"] and len(args) > 1:
        failed = False
        for name in args[1:]:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                print(f"{name}:1: cannot read the file: {e}")
                failed = True
                continue
            for line, message in check(text, name):
                print(f"{name}:{line}: {message}")
                failed = True
        return 1 if failed else 0
    print("usage: python -m engine.lessons check FILE...\n       python -m engine.lessons list")
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""What the teacher's page (and a student's own view) shows of a class: tables and figures built
from engine.classroom's records. Plain functions, no streamlit.

Privacy is decided by the caller: the teacher's page passes nicknames; a student's view gets
values only (:meth:`engine.classroom.Classroom.class_values`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engine.classroom import Member, Record, StudentRun
from views.format import MISSING, pct

CHALLENGE_ITERATIONS = 1000  # the board's rule: best dev accuracy in at most this many iterations
TRUTH_COLOUR = "#2ca02c"
GUESS_COLOUR = "#1f77b4"
MINE_COLOUR = "#ff7f0e"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_when(t: float, now: float) -> str:
    """A time for a phone's narrow column: "5 Dec 11:02" (in UTC, which the column's header
    says), the year only when it is not ``now``'s, with no-break spaces so it stays on one line
    ("2026-12-05 11:02 UTC" wrapped onto three lines of a 390 px screen)."""
    at, year = datetime.fromtimestamp(t, UTC), datetime.fromtimestamp(now, UTC).year
    day = f"{at.day} {at:%b}" + (f" {at.year}" if at.year != year else "")
    return f"{day} {at:%H:%M}".replace(" ", "\N{NO-BREAK SPACE}")


JOINED = "joined (UTC)"


def progress_table(
    members: Sequence[Member],
    lessons: Sequence[tuple[str, str, int]] = (),
    now: float | None = None,
) -> pd.DataFrame:
    """One row per student: nickname, when they joined (:func:`short_when`, ``now`` the time
    the page is drawn), runs, and per lesson the steps answered — "3 of 8" when ``lessons`` gives
    (lesson id, title, number of steps), else the count of each lesson any student answered."""
    now = time.time() if now is None else now
    if lessons:
        columns = [(lesson_id, title, n) for lesson_id, title, n in lessons]
    else:
        seen = dict.fromkeys(lesson for m in members for lesson in m.steps)
        columns = [(lesson, lesson, 0) for lesson in seen]
    rows = []
    for m in members:
        row = {"nickname": m.nickname, JOINED: short_when(m.joined, now), "runs": m.runs}
        for lesson_id, title, n in columns:
            done = m.done(lesson_id)
            row[title] = f"{done} of {n}" if n else f"{done} step{'s' * (done != 1)}"
        rows.append(row)
    return pd.DataFrame(rows, columns=["nickname", JOINED, "runs", *(c[1] for c in columns)])


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def answer_text(value: Any) -> str:
    """A student's answer as they typed it: a number without a trailing ".0" (the lessons' number
    input stores floats), anything else as its label."""
    x = _number(value)
    return format(x, ".10g") if x is not None else _label(value)


def _label(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return ", ".join(_label(x) for x in v)
    return json.dumps(v)


MAX_BINS = 20  # many different numeric guesses: at most this many bars
LABELLED_BARS = 8  # up to this many different guesses: a bar each, its value written under it
BARS_ACROSS = 10  # ... when they are at least 1/10 of the axis apart; a bar is at most that wide
MARK_LINE = 16  # px between the marked values' labels above the chart
ON_AN_AXIS = 1e300  # larger numbers (1e308 typed) would overflow the axis's length: bars by answer


def _round_up(x: float) -> float:
    """The smallest of 1, 2 and 5 times a power of ten that is at least ``x`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= x * (1 - 1e-9))


def _numeric_bars(numbers: list[float], marks: list[float]) -> dict[str, Any]:
    """Where to draw numeric guesses: bar centres ``x``, ``counts``, one ``width`` (in the
    guesses' units), ``labels`` (the value each bar stands for, or none), ``hover`` texts and
    the axis ``range``, which holds the guesses and the marked values (the real result, the
    viewer's own).

    Plotly's own bins were 1 wide around a single guess: a hairline beside a real result at 784,
    or one bar filling an axis from 699.5 to 700.5. Here a few different guesses a tenth of the
    axis apart get a bar each, up to a tenth wide without touching its neighbour, labelled with
    its value; more, or closer together (their labels would run into each other), share up to
    ``MAX_BINS`` bins of a round width, never narrower than a fortieth of the axis."""
    lo, hi = min(numbers + marks), max(numbers + marks)
    if hi == lo:  # one value: an axis some way either side of it
        half = abs(lo) * 0.2 or 1.0
        lo, hi = lo - half, hi + half
    span = hi - lo
    distinct = sorted(set(numbers))
    gaps = [b - a for a, b in zip(distinct, distinct[1:])]
    if len(distinct) <= LABELLED_BARS and min(gaps, default=span) >= span / BARS_ACROSS:
        width = min([span / BARS_ACROSS, *(0.8 * g for g in gaps)])
        counts = Counter(numbers)
        x, n, labels = distinct, [counts[v] for v in distinct], [answer_text(v) for v in distinct]
        holds = labels
    else:
        # a round bin width (1, 2 or 5 times a power of ten), bins centred on its multiples
        width = _round_up(max((distinct[-1] - distinct[0]) / (MAX_BINS - 2), span / 40))
        at = Counter(int(math.floor(v / width + 0.5)) for v in numbers)
        ks = range(min(at), max(at) + 1)
        x, n, labels = [k * width for k in ks], [at[k] for k in ks], []
        holds = [f"{c - width / 2:.4g} to {c + width / 2:.4g}" for c in x]
    return {
        "x": x,
        "counts": n,
        "width": width,
        "labels": labels,
        "hover": [f"{h}: {c} student{'s' * (c != 1)}" for h, c in zip(holds, n)],
        "range": [lo - width, hi + width],
    }


def guesses_figure(
    values: Sequence[Any],
    truth: Any = None,
    mine: Any = None,
    title: str = "",
    right: Sequence[str] = (),
) -> go.Figure:
    """The distribution of a class's guesses: bars of numbers (a few different ones with their
    value under each, many binned), or a bar per choice; the real result (``truth`` for a
    number, or the ``right`` choices, every one shown even when nobody chose it) and the
    viewer's own guess (``mine``) marked when given."""
    numbers = [_number(v) for v in values]
    fig = go.Figure()
    if values and all(x is not None and abs(x) <= ON_AN_AXIS for x in numbers):
        marked = [
            (x, colour, name, dash)
            for x, colour, name, dash in (
                (_number(truth), TRUTH_COLOUR, "real result", "solid"),
                (_number(mine), MINE_COLOUR, "you", "dot"),  # dotted: the real result shows
            )
            if x is not None and abs(x) <= ON_AN_AXIS
        ]
        bars = _numeric_bars(numbers, [m[0] for m in marked])
        fig.add_trace(
            go.Bar(
                x=bars["x"],
                y=bars["counts"],
                width=bars["width"],
                name="guesses",
                marker_color=GUESS_COLOUR,
                hovertext=bars["hover"],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
        # the labels one above the other, in their line's colour: side by side, "real result:
        # 784" and "you: 784" were written over each other when a student guessed right
        for row, (x, colour, name, dash) in enumerate(marked):
            fig.add_vline(
                x=x,
                line_color=colour,
                line_width=3,
                line_dash=dash,
                annotation_text=f"{name}: {x:g}",
                annotation_position="top",
                annotation_font_color=colour,
                annotation_yshift=MARK_LINE * row,
            )
        fig.update_layout(xaxis_title="guess", yaxis_title="students")
        fig.update_xaxes(range=bars["range"])
        if bars["labels"]:  # each bar's value under it (above, the real result's line crossed it)
            fig.update_xaxes(tickvals=bars["x"], ticktext=bars["labels"])
        _whole_students(fig, max(bars["counts"]))
    else:
        counts = Counter(answer_text(v) for v in values)
        good = {answer_text(r) for r in right} | (
            {answer_text(truth)} if truth is not None else set()
        )
        for k in good:
            counts.setdefault(k, 0)
        labels = sorted(counts, key=lambda k: (-counts[k], k))
        colours = [TRUTH_COLOUR if k in good else GUESS_COLOUR for k in labels]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[counts[k] for k in labels],
                marker_color=colours,
                name="guesses",
                text=["real result" if k in good else "" for k in labels],
                textposition="outside",
            )
        )
        fig.update_layout(xaxis_title="answer", yaxis_title="students")
        _whole_students(fig, max(counts.values(), default=0))
    fig.update_layout(
        title=title or None, height=300, margin=dict(l=40, r=20, t=40, b=40), showlegend=False
    )
    return fig


def _whole_students(fig: go.Figure, most: int) -> None:
    """A count axis in whole students, about five ticks: 0, 1 for one student, never 0.2."""
    fig.update_yaxes(rangemode="tozero", tick0=0, dtick=max(1, math.ceil(most / 5)), tickformat="d")


def tries_table(records: Iterable[Record], lesson: str, step: str) -> pd.DataFrame:
    """By-hand step: per student, how many tries and whether (and at which try) they got it."""
    tries: dict[str, list[bool]] = {}
    for r in records:
        if r.lesson == lesson and r.step == step and r.correct is not None:
            tries.setdefault(r.nickname, []).append(r.correct)
    rows = []
    for nickname, results in tries.items():
        right_at = results.index(True) + 1 if True in results else None
        rows.append(
            {
                "nickname": nickname,
                "tries": len(results),
                "right": f"yes, at try {right_at}" if right_at else "not yet",
            }
        )
    return pd.DataFrame(rows, columns=["nickname", "tries", "right"])


def _detail(run: StudentRun, name: str) -> float | None:
    return _number(run.details.get(name))


MAX_SIZE_TICKS = 8  # up to this many hidden sizes in the class, each gets its own tick


def runs_figure(runs: Sequence[StudentRun]) -> go.Figure:
    """The class's runs: hidden units against dev accuracy, one point per student run (hover:
    nickname and settings; ``customdata`` the run's index in ``runs``, for a click)."""
    shown = [
        (i, r)
        for i, r in enumerate(runs)
        if _detail(r, "hidden") is not None and _detail(r, "dev_accuracy") is not None
    ]
    fig = go.Figure(
        go.Scatter(
            x=[_detail(r, "hidden") for _, r in shown],
            y=[_detail(r, "dev_accuracy") for _, r in shown],
            mode="markers",
            marker=dict(size=11, color=GUESS_COLOUR, line=dict(width=1, color="white")),
            customdata=[[i] for i, _ in shown],
            text=[
                f"{r.nickname}<br>hidden {r.details.get('hidden')} · alpha "
                f"{r.details.get('alpha')} · {r.details.get('iterations')} iterations"
                for _, r in shown
            ],
            hovertemplate="%{text}<br>dev accuracy %{y:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title="hidden units",
        yaxis_title="dev accuracy",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.05],  # an accuracy: up to 100% (autorange went to 150% for one run)
        height=360,
        margin=dict(l=50, r=20, t=20, b=50),
    )
    sizes = sorted({_detail(r, "hidden") for _, r in shown})
    if 0 < len(sizes) <= MAX_SIZE_TICKS:  # a tick per size used: no "10.5 hidden units"
        fig.update_xaxes(tickvals=sizes, ticktext=[f"{s:g}" for s in sizes])
    return fig


def challenge_table(
    runs: Sequence[StudentRun], max_iterations: int = CHALLENGE_ITERATIONS
) -> pd.DataFrame:
    """The challenge board: each student's best dev accuracy over their runs of at most
    ``max_iterations`` iterations, best first."""
    best: dict[str, StudentRun] = {}
    for r in runs:
        acc, its = _detail(r, "dev_accuracy"), _detail(r, "iterations")
        if acc is None or its is None or its > max_iterations:
            continue
        held = best.get(r.nickname)
        if held is None or acc > _detail(held, "dev_accuracy"):
            best[r.nickname] = r
    ranked = sorted(best.values(), key=lambda r: -_detail(r, "dev_accuracy"))
    return pd.DataFrame(
        [
            {
                "rank": i,
                "nickname": r.nickname,
                "dev accuracy": pct(r.details["dev_accuracy"]),
                "hidden": r.details.get("hidden", MISSING),
                "alpha": r.details.get("alpha", MISSING),
                "iterations": r.details.get("iterations", MISSING),
            }
            for i, r in enumerate(ranked, start=1)
        ],
        columns=["rank", "nickname", "dev accuracy", "hidden", "alpha", "iterations"],
    )


def challenge_board(runs: Sequence[StudentRun]) -> pd.DataFrame:
    """The challenge board as the teacher's page shows it, a table that wraps to a phone's width:
    ranks as its (grey) index (a table hides a whole-number index), then nickname, dev accuracy
    and the run's settings in one column that wraps between words ("hidden 10 · alpha 0.1 ·
    500 iterations"): with a column each, a 24-letter nickname pushed them past a 390 px screen.
    """
    board = challenge_table(runs)

    def settings(row) -> str:
        alpha = row["alpha"]
        alpha = f"{alpha:g}" if isinstance(alpha, int | float) else alpha
        return f"hidden {row['hidden']} · alpha {alpha} · {row['iterations']} iterations"

    shown = board[["nickname", "dev accuracy"]].assign(
        settings=[settings(row) for _, row in board.iterrows()]
    )
    return shown.set_index(board["rank"].astype(str))


CSV_COLUMNS = (
    "kind",
    "nickname",
    "lesson",
    "step",
    "value",
    "correct",
    "run_id",
    "dev_accuracy",
    "at",
)


def export_csv(records: Iterable[Record], runs: Iterable[StudentRun]) -> str:
    """Everything recorded in the class as CSV: one row per answer, attempt and run."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for r in records:
        kind = "answer" if r.correct is None else "attempt"
        correct = "" if r.correct is None else str(r.correct).lower()
        w.writerow(
            [kind, r.nickname, r.lesson, r.step, json.dumps(r.value), correct, "", "", _when(r.at)]
        )
    for r in runs:
        acc = _detail(r, "dev_accuracy")
        w.writerow(
            [
                "run",
                r.nickname,
                "",
                "",
                "",
                "",
                r.run_id,
                "" if acc is None else f"{acc:.4f}",
                _when(r.at),
            ]
        )
    return out.getvalue()


def step_prompt(text: str, limit: int = 160) -> str:
    """A lesson step's prompt as one line for the teacher (its id, e.g. "inputs", told them
    nothing): the text with each {{placeholder}} as "…"; when that is longer than ``limit``, the
    question it asks (its last sentence ending in "?"), cut to ``limit`` at a whole formula."""
    one = re.sub(r"\{\{.*?\}\}", "…", " ".join(text.split()))
    if len(one) <= limit:
        return _one_ellipsis(one)
    sentences = re.split(r"(?<=[.?!])\s+", one)
    asks = [x for x in sentences if x.endswith("?")]
    shown = asks[-1] if asks else sentences[0]
    if len(shown) <= limit:
        return _one_ellipsis(shown)
    shown = shown[: limit - 1]
    if shown.count("$") % 2:  # a formula cut in two would show its raw LaTeX
        shown = shown[: shown.rindex("$")]
    return _one_ellipsis(shown.rstrip() + "…")


def _one_ellipsis(text: str) -> str:
    """A placeholder that ended its sentence, with one ellipsis ("its label is … What")."""
    return text.replace("….", "…")

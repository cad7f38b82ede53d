"""views.classroom: the teacher's tables and figures, read back from their data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from engine.classroom import Member, Record, StudentRun
from views import classroom as v


def run(nick, hidden, acc, its=500, alpha=0.1):
    details = {"hidden": hidden, "dev_accuracy": acc, "iterations": its, "alpha": alpha}
    return StudentRun(nick, f"{nick}-{hidden}-{its}", details, 0.0)


def test_progress_counts_steps_per_lesson_and_of_how_many():
    members = [
        Member("ada", 0.0, {"cost": ("a", "b"), "forward": ("x",)}, 2),
        Member("bob", 0.0, {}, 0),
    ]
    t = v.progress_table(members)
    assert list(t.columns) == ["nickname", "joined (UTC)", "runs", "cost", "forward"]
    assert list(t["cost"]) == ["2 steps", "0 steps"] and list(t["forward"]) == ["1 step", "0 steps"]
    t = v.progress_table(members, [("cost", "The cost", 5)])
    assert list(t["The cost"]) == ["2 of 5", "0 of 5"] and list(t["runs"]) == [2, 0]


def test_joined_reads_on_one_line_of_a_phone():
    """ "2026-12-05 11:02 UTC" wrapped onto three lines of the roster on a 390 px screen: now
    day, month and time joined by no-break spaces (UTC in the header), the year only when it
    is not this year's."""
    nbsp = "\N{NO-BREAK SPACE}"
    joined = datetime(2026, 12, 5, 11, 2, tzinfo=UTC).timestamp()
    later = joined + 3 * 3600
    assert v.short_when(joined, later) == f"5{nbsp}Dec{nbsp}11:02"
    next_year = datetime(2027, 1, 3, tzinfo=UTC).timestamp()
    assert v.short_when(joined, next_year) == f"5{nbsp}Dec{nbsp}2026{nbsp}11:02"
    t = v.progress_table([Member("ada", joined, {}, 0)], now=later)
    assert t.loc[0, "joined (UTC)"].split() == ["5", "Dec", "11:02"]  # as it reads
    assert " " not in t.loc[0, "joined (UTC)"]  # no space to break the line at


def test_numeric_guesses_are_bars_with_the_real_result_and_mine_marked():
    fig = v.guesses_figure([2.3, 2.4, 9.0], truth=2.30, mine=9.0)
    bars = fig.data[0]
    assert bars.type == "bar" and sum(bars.y) == 3
    assert bars.y[0] == 2  # 2.3 and 2.4, a tenth apart on an axis 6.7 long, share a bin
    lines = {s.line.color: s.x0 for s in fig.layout.shapes}
    assert lines == {v.TRUTH_COLOUR: 2.3, v.MINE_COLOUR: 9.0}


def test_a_right_guess_and_the_real_result_are_labelled_one_above_the_other():
    """A student who guessed right saw "real result: 784" and "you: 784" written over each
    other; now each label in its line's colour, "you" a line higher, its line dotted."""
    fig = v.guesses_figure([784.0, 100.0], truth=784, mine=784.0)
    notes = {a.text: (a.yshift or 0, a.font.color) for a in fig.layout.annotations}
    assert notes == {"real result: 784": (0, v.TRUTH_COLOUR), "you: 784": (16, v.MINE_COLOUR)}
    dashes = {s.line.color: s.line.dash for s in fig.layout.shapes}
    assert dashes == {v.TRUTH_COLOUR: "solid", v.MINE_COLOUR: "dot"}


def _bars(fig):
    """The figure's first trace and x axis as plotly sends them to the browser."""
    sent = json.loads(fig.to_json())
    return sent["data"][0], sent["layout"]["xaxis"]


def test_one_guess_is_a_bar_that_reads_with_its_value():
    """One student's guess was a bin 1 wide: a hairline beside the real result at 784, or, with
    no result yet, a bar filling an axis from 699.5 to 700.5. Now a bar at least a twentieth
    of the axis wide, with its value written under it."""
    for fig in (v.guesses_figure([700.0], truth=784), v.guesses_figure([700.0])):
        bar, xaxis = _bars(fig)
        lo, hi = xaxis["range"]
        assert bar["x"] == [700.0] and bar["y"] == [1] and xaxis["ticktext"] == ["700"]
        assert bar["width"] / (hi - lo) >= 1 / 20
        assert lo < 700 - bar["width"] / 2 and 700 + bar["width"] / 2 < hi
    _, xaxis = _bars(v.guesses_figure([700.0], truth=784))
    assert xaxis["range"][1] > 784  # the real result's line on the axis too


def test_a_few_different_guesses_are_a_labelled_bar_each_side_by_side():
    bar, xaxis = _bars(v.guesses_figure([784.0, 100.0, 784.0], truth=784))
    assert bar["x"] == [100.0, 784.0] and bar["y"] == [1, 2]
    assert xaxis["tickvals"] == [100.0, 784.0] and xaxis["ticktext"] == ["100", "784"]
    _, xaxis = _bars(v.guesses_figure([10.0, 28.0, 784.0]))  # labels 10 and 28 would collide
    assert "ticktext" not in xaxis
    lo, hi = xaxis["range"]
    assert (hi - lo) / 20 <= bar["width"] < 784 - 100  # wide, and apart


def test_many_different_guesses_share_bins_that_still_show():
    guesses = [float(x) for x in range(100, 130)] + [500.0]
    bar, xaxis = _bars(v.guesses_figure(guesses, truth=120))
    lo, hi = xaxis["range"]
    assert len(bar["x"]) <= v.MAX_BINS and sum(bar["y"]) == len(guesses)
    assert bar["width"] >= (hi - lo) / 40 and "ticktext" not in xaxis
    assert bar["y"][-1] == 1 and bar["hovertext"][-1] == "475 to 525: 1 student"  # the 500
    assert bar["hovertext"][0] == "75 to 125: 25 students"  # round bins: 100 to 124


def test_guesses_too_large_for_an_axis_are_a_bar_each():
    bar, _ = _bars(v.guesses_figure([1e308, -1e308, 5.0], truth=1e308))
    assert sorted(bar["x"]) == ["-1e+308", "1e+308", "5"] and bar["y"] == [1, 1, 1]


def test_guesses_are_counted_in_whole_students():
    """One student's guess: the count axis reads 0 and 1, not 0, 0.2, 0.4 ... students."""
    for fig in (v.guesses_figure([700.0], truth=784), v.guesses_figure(["a"], truth="b")):
        assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis.tickformat == "d"
    many = v.guesses_figure([float(x % 3) for x in range(30)])  # 10 students per value
    assert many.layout.yaxis.dtick == 2  # ticks 0, 2, 4 ... 10


def test_an_answer_reads_as_the_student_typed_it():
    """The number input stores floats: 784 typed reads 784, not 784.0; choices stay text."""
    assert [v.answer_text(x) for x in (784.0, 2.3, 0.1421, "higher", 3)] == [
        "784",
        "2.3",
        "0.1421",
        "higher",
        "3",
    ]


def test_choices_are_bars_with_the_right_one_coloured_even_when_nobody_chose_it():
    fig = v.guesses_figure(["b", "a", "b"], truth="c")
    bar = fig.data[0]
    assert list(bar.x) == ["b", "a", "c"] and list(bar.y) == [2, 1, 0]
    assert list(bar.marker.color) == [v.GUESS_COLOUR, v.GUESS_COLOUR, v.TRUTH_COLOUR]


def test_by_hand_tries_say_who_got_it_at_which_try():
    recs = [
        Record("ada", "l", "s", 1, False, 0),
        Record("ada", "l", "s", 2, True, 0),
        Record("bob", "l", "s", 1, False, 0),
        Record("cy", "l", "other", 1, True, 0),
        Record("dee", "l", "s", 1, None, 0),  # an answer, not an attempt
    ]
    t = v.tries_table(recs, "l", "s")
    assert t.to_dict("records") == [
        {"nickname": "ada", "tries": 2, "right": "yes, at try 2"},
        {"nickname": "bob", "tries": 1, "right": "not yet"},
    ]


def test_the_runs_scatter_has_one_point_per_run_with_its_index():
    runs = [run("ada", 10, 0.8), StudentRun("bob", "x", {}, 0.0), run("cy", 32, 0.9)]
    sc = v.runs_figure(runs).data[0]
    assert list(sc.x) == [10, 32] and list(sc.y) == [0.8, 0.9]
    assert [list(c) for c in sc.customdata] == [[0], [2]]
    # an accuracy: the axis ends at 100%, not at 150% (one run near 85% autoranged to that)
    assert v.runs_figure(runs[:1]).layout.yaxis.range == (0, 1.05)


def test_the_runs_scatter_ticks_only_the_hidden_sizes_used():
    """Sizes 10, 12 and 13 drew ticks at 10.5, 11.5 ...: a hidden unit is whole. A few sizes get
    a tick each; many leave the ticks to plotly (a tick per size would crowd the axis)."""
    few = v.runs_figure([run("ada", 13, 0.8), run("bob", 10, 0.7), run("cy", 12, 0.9)])
    assert list(few.layout.xaxis.tickvals) == [10, 12, 13]
    assert list(few.layout.xaxis.ticktext) == ["10", "12", "13"]
    many = [run(f"s{h}", h, 0.5) for h in range(10, 10 + v.MAX_SIZE_TICKS + 1)]
    assert v.runs_figure(many).layout.xaxis.tickvals is None


def test_the_challenge_board_takes_each_students_best_run_within_1000_iterations():
    runs = [
        run("ada", 10, 0.80),
        run("ada", 64, 0.95, its=5000),  # too long for the challenge
        run("ada", 32, 0.85),
        run("bob", 10, 0.90, its=1000),
        run("cy", 10, float("nan")),
    ]
    t = v.challenge_table(runs)
    assert t.to_dict("records") == [
        {
            "rank": 1,
            "nickname": "bob",
            "dev accuracy": "90.0%",
            "hidden": 10,
            "alpha": 0.1,
            "iterations": 1000,
        },
        {
            "rank": 2,
            "nickname": "ada",
            "dev accuracy": "85.0%",
            "hidden": 32,
            "alpha": 0.1,
            "iterations": 500,
        },
    ]


def test_the_board_on_the_page_fits_a_phone():
    """st.table hides a whole-number index and writes floats with four decimals: the page's board
    has its ranks as text, alpha as typed, and the settings in one column that wraps (six columns
    and a 24-letter nickname ran past a 390 px screen)."""
    board = v.challenge_board([run("ada", 10, 0.8, alpha=1e-5), run("bob", 12, 0.9)])
    assert list(board.index) == ["1", "2"] and board.index.name == "rank"
    assert list(board.columns) == ["nickname", "dev accuracy", "settings"]
    assert list(board["nickname"]) == ["bob", "ada"]
    assert list(board["settings"]) == [
        "hidden 12 · alpha 0.1 · 500 iterations",
        "hidden 10 · alpha 1e-05 · 500 iterations",
    ]


def test_the_csv_holds_every_answer_attempt_and_run():
    recs = [Record("ada", "l", "s", "b", None, 0), Record("ada", "l", "h", [0.1, 2], True, 0)]
    rows = list(csv.DictReader(io.StringIO(v.export_csv(recs, [run("bob", 10, 0.8)]))))
    assert [(r["kind"], r["nickname"], r["value"], r["correct"]) for r in rows] == [
        ("answer", "ada", '"b"', ""),
        ("attempt", "ada", "[0.1, 2]", "true"),
        ("run", "bob", "", ""),
    ]
    assert rows[2]["dev_accuracy"] == "0.8000" and rows[0]["at"].endswith("UTC")


def test_several_right_choices_are_all_coloured():
    bar = v.guesses_figure(["a", "b"], right=("b", "d")).data[0]
    colours = dict(zip(bar.x, bar.marker.color))
    assert colours == {"a": v.GUESS_COLOUR, "b": v.TRUTH_COLOUR, "d": v.TRUTH_COLOUR}


def test_a_step_prompt_reads_as_its_question_on_one_line():
    from views.classroom import step_prompt

    assert step_prompt("How many numbers does the network\nread for one image?") == (
        "How many numbers does the network read for one image?"
    )
    assert step_prompt("For this image (a {{y}}), how many units?") == (
        "For this image (a …), how many units?"
    )
    assert step_prompt("Here is dev image {{image}}: its label is {{y}}. What is z?") == (
        "Here is dev image …: its label is … What is z?"  # not "….": one ellipsis
    )
    long = "Some setup. " * 20 + "The weight is $W_2[6, y]$ = {{W2[6, y]:.5f}}. What is it now?"
    assert step_prompt(long) == "What is it now?"
    cut = step_prompt("Compute $x = " + "a + " * 60 + "b$ for this image.", limit=40)
    assert cut == "Compute…" and len(cut) <= 40  # never half a formula

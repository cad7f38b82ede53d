"""Issue 21's first visit: no placeholder where a value is set, no raw nan/None, no empty box
without a word (AppTest, embedded sample)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pandas as pd
import pytest

import nnmath
from tests.helpers import decode
from tests.pages.test_pages import ITER, app, metric, texts
from ui.navigation import PAGES


def shown(box) -> str | None:
    """What a select box shows: its option's label, or None for its placeholder."""
    return None if box.index is None else box.options[box.index]


def test_full_batch_reads_full_batch_not_a_placeholder():
    at = app("pages/2_train.py", iterations=ITER)
    box = at.selectbox(key="w_batch_size")
    assert shown(box) == "full batch (notebook)"
    box.select_index(2).run()  # a mini-batch, then back to the full batch
    assert at.query_params["batch"] == box.options[2].replace(",", "")
    at.selectbox(key="w_batch_size").select_index(0).run()
    assert "batch" not in at.query_params
    assert shown(at.selectbox(key="w_batch_size")) == "full batch (notebook)"


def test_mistakes_from_evaluates_link_says_any_digit():
    at = app("pages/4_mistakes.py", iterations=ITER, true="any", pred="any", min_conf="0.90")
    assert shown(at.selectbox(key="filter_true")) == "any"
    assert shown(at.selectbox(key="filter_pred")) == "any"
    at = app("pages/4_mistakes.py", iterations=ITER, true="3", pred="5")
    assert shown(at.selectbox(key="filter_true")) == "3"
    assert shown(at.selectbox(key="filter_pred")) == "5"
    at.selectbox(key="filter_true").set_value("any").run()
    assert "true" not in at.query_params and at.query_params["pred"] == "5"


# ---- item 5: one number, one meaning -------------------------------------------------------------
def test_a_run_diverged_at_iteration_1_says_it_kept_0_iterations_as_runs_does(calls):
    at = app("pages/2_train.py", alpha=50, iterations=ITER)
    said = "\n".join(e.value for e in at.error)
    assert "Diverged at iteration 1" in said
    assert "kept the last good parameters, those of iteration 0" in said
    assert "this run counts 0 iterations, as Runs shows" in said
    at.switch_page("pages/6_runs.py").run()
    row = at.dataframe[0].value.iloc[0]
    assert row["status"] == "diverged" and row["iterations"] == 0


def test_home_and_train_show_one_training_time():
    from views.format import TRAINING_TIME_HELP

    at = app(iterations=ITER)
    at.button(key="home_train").click().run()
    said = "\n".join(m.value for m in at.markdown)
    assert "trained just now" in said and " s)" not in said and "trained in" not in said
    time = next(m for m in at.metric if m.label == "Training time")
    assert time.value.endswith(" s") and time.proto.help == TRAINING_TIME_HELP
    at.switch_page("pages/2_train.py").run()
    assert metric(at, "Training time") == time.value
    assert f"(training took {time.value})" in texts(at)


def test_runs_shows_accuracies_in_percent():
    at = app("pages/2_train.py", iterations=ITER)
    dev = metric(at, "Dev accuracy")
    at.switch_page("pages/6_runs.py").run()
    frame = at.dataframe[0]
    shown = frame.value["dev_accuracy"].iloc[0]
    assert f"{shown:.1f}%" == dev  # the column holds percent, drawn with one decimal
    config = json.loads(frame.proto.columns)
    assert config["dev_accuracy"]["type_config"]["format"] == "%.1f%%"
    assert frame.proto.placeholder == "—"


# ---- item 4: no empty box without a word ----------------------------------------------------------
def chart(at, key: str) -> dict:
    for c in at.get("plotly_chart"):
        if key in c.proto.id:
            return decode(json.loads(c.proto.spec), nan_as_none=True)
    raise AssertionError(f"no chart {key!r}")


def test_weights_at_iteration_0_say_nothing_changed_yet_and_show_the_start():
    at = app("pages/5_weights.py", iterations=ITER)
    assert not any("Nothing has changed yet" in i.value for i in at.info)
    at.select_slider(key="replay").set_value(0).run()
    assert "Nothing has changed yet at iteration 0" in texts(at)
    tiles = chart(at, "w1")["data"][0]["z"]
    values = [v for row in tiles for v in row if v is not None]
    assert max(abs(v) for v in values) > 0.1  # the starting weights, not ten grey tiles of 0


def test_lab_first_view_says_what_to_do_and_an_unchanged_network_says_so():
    at = app("pages/13_lab.py", iterations=ITER)
    assert "Nothing switched off yet: pick one or more hidden units above" in texts(at)
    assert not [c for c in at.get("plotly_chart") if "lab_change" in c.proto.id]
    at.selectbox(key="lab_scale_unit").set_value(3).run()
    at.number_input(key="lab_scale_factor").set_value(1.0).run()  # scaled by 1: no change
    assert "No dev image changed its answer" in texts(at)
    at.multiselect(key="lab_off").set_value([0, 1, 2, 3, 4, 5]).run()
    assert [c for c in at.get("plotly_chart") if "lab_changed" in c.proto.id]


def test_a_run_diverged_at_once_draws_its_starting_point_and_says_so():
    from views import figures

    at = app("pages/2_train.py", alpha=50, iterations=ITER)
    curves = chart(at, "curves")
    points = [t for t in curves["data"] if t.get("mode") == "markers"]
    assert [t["x"] for t in points][0] == [0] and len(points) >= 2  # loss and accuracy at 0
    notes = " ".join(a["text"] for a in curves["layout"]["annotations"])
    assert "diverged at iteration 1" in notes and "no curve to draw" in notes
    assert curves["layout"]["xaxis2"]["range"][1] < 5  # not 60 iterations of empty axes
    # a run that finished: no extra points, the x axis to its end
    plain = figures.training_curves(nnmath.History.empty(), total=60)
    assert all(t.mode == "lines" for t in plain.data) and not plain.layout.annotations


# ---- every page, a trained run and a diverged one: no raw value where one is set ----------------
RAW = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|Choose an option")
TEXT_KINDS = (
    "title", "header", "subheader", "markdown", "caption", "success", "info", "warning",
    "error", "code", "text", "latex",
)  # fmt: skip


def rendered(at) -> list[str]:
    """Every piece of text a page shows: texts, metrics, link and tab labels, what each select
    box shows, and every table cell as drawn (a missing cell shows the table's placeholder,
    "None" when it has none)."""
    out = [str(e.value) for kind in TEXT_KINDS for e in at.get(kind)]
    for m in at.metric:
        out += [m.label, str(m.value), str(m.proto.delta or "")]
    out += [p.proto.label for p in at.get("page_link")]
    out += [t.label for t in at.tabs] + [e.label for e in at.expander]
    for box in at.selectbox:
        out.append(str(shown(box)))  # None: the placeholder "Choose an option"
    for frame in at.dataframe:
        missing = frame.proto.placeholder if frame.proto.HasField("placeholder") else "None"
        for value in frame.value.astype(object).to_numpy().ravel():
            out.append(missing if value is None or pd.isna(value) else str(value))
    for table in at.table:
        out += [str(v) for v in table.value.astype(object).to_numpy().ravel()]
    return out


def assert_no_raw_values(at, where: str) -> None:
    assert not at.exception, (where, at.exception)
    bad = [t for t in rendered(at) if RAW.search(t)]
    assert not bad, (where, bad)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The store with a trained run (ITER iterations) and one that diverged on its first update."""
    import os

    from engine.store import RunStore
    from tests.helpers import app_sample

    root = tmp_path_factory.mktemp("two-runs")
    train, dev, base = app_sample()
    store = RunStore(root)
    configs = {"trained": replace(base, hidden=12), "diverged": replace(base, alpha=50.0)}
    trained, diverged = (
        store.train(c, int(ITER), train, dev, data_key="sample") for c in configs.values()
    )
    assert trained.status == "finished" and diverged.status == "diverged"
    assert diverged.iterations == 0  # diverged at iteration 1: no update kept
    old = os.environ.get("NNMATH_RUNS_DIR")
    yield root, configs
    if old is not None:
        os.environ["NNMATH_RUNS_DIR"] = old


QUERIES = {
    "trained": {"hidden": "12", "iterations": ITER},
    "diverged": {"alpha": "50", "iterations": ITER},
}
EVALUATE_TABS = ("Results", "Confidence", "Take it with you")


@pytest.mark.parametrize("which", list(QUERIES))
@pytest.mark.parametrize("page", [None] + [p.source for p in PAGES[1:]])
def test_no_page_shows_nan_none_or_a_placeholder(two_runs, monkeypatch, calls, page, which):
    root, configs = two_runs
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(root))
    query = dict(QUERIES[which])
    if page == "pages/8_compare.py":
        query = {"a": configs["trained"].run_id, "b": configs["diverged"].run_id}
    tabs = EVALUATE_TABS if page == "pages/3_evaluate.py" else (None,)
    for tab in tabs:
        at = app(page, tab=tab, **query)
        assert_no_raw_values(at, (page, which, tab))
    if page != "pages/14_race.py":  # the race trains its own racers
        assert calls["gradient_descent"] == 0  # both runs came from the store


def test_a_launched_sweep_with_a_diverged_cell_shows_no_raw_value():
    at = app("pages/7_sweep.py")
    at.text_input(key="sweep_hidden").set_value("10").run()
    at.text_input(key="sweep_alpha").set_value("0.5, 50").run()  # 50 diverges at once
    at.text_input(key="sweep_seeds").set_value("0-1").run()
    at.number_input(key="sweep_iterations").set_value(50).run()
    at.button(key="sweep_launch").click().run()
    assert_no_raw_values(at, "sweep")
    assert "The colours span this grid's own range" not in texts(at)  # one cell: no range
    assert at.dataframe[0].proto.placeholder == "—"


def test_the_sweep_progress_table_reads_dashes_and_percent():
    from views import grid

    table = pd.DataFrame(
        {
            "hidden": [10, 32],
            "alpha": [0.1, 0.1],
            "seed": [0, 0],
            "status": ["cached", "running"],
            "progress": [1.0, 0.5],
            "iteration": [None, 250],
            "dev accuracy": [0.8512, None],
            "message": ["cached", None],
        }
    )
    shown = grid.progress_table(table)
    assert shown["iteration"].tolist() == ["—", "250"]
    assert shown["dev accuracy"].tolist() == ["85.1%", "—"]
    assert not shown.isna().any().any()


# ---- item 8: the smaller surprises ------------------------------------------------------------------
def test_the_upload_box_states_one_limit():
    at = app("pages/1_data.py")
    at.radio(key="data_source").set_value("upload").run()
    box = at.get("file_uploader")[0].proto
    assert "up to 100 MB" in box.label  # NNMATH_MAX_UPLOAD_MB's default, below maxUploadSize 200
    assert box.max_upload_size_mb == 100  # the dropzone's "Limit 100MB per file" agrees


def test_the_sample_pick_box_says_what_it_is():
    at = app("pages/1_data.py")
    box = at.number_input(key="sample_seed")
    assert box.label == "Show another pick (pick number)" and "random pick" in box.help


def test_home_says_what_compare_does():
    from ui.navigation import PAGES

    compare = next(p for p in PAGES if p.source == "pages/8_compare.py")
    at = app()
    link = next(p for p in at.get("page_link") if "Compare" in p.proto.label)
    assert compare.question in link.proto.label
    # Compare sets two runs against each other (A and B): not "two or more runs"
    assert "run B better than run A" in link.proto.label and "or more" not in link.proto.label


def test_the_parallel_coordinates_are_readable_and_in_percent():
    import pandas as pd

    from views.compare_figures import parallel_coordinates_figure

    frame = pd.DataFrame(
        {"hidden": [10, 32], "alpha": [0.1, 0.5], "seed": [0, 0], "iterations": [50, 50],
         "dev_accuracy": [0.85, float("nan")]}
    )  # fmt: skip
    trace = parallel_coordinates_figure(frame).data[0]
    assert trace.labelfont.size >= 13 and trace.tickfont.size >= 12 and trace.rangefont.size >= 11
    assert trace.dimensions[-1].tickformat == ".0%"

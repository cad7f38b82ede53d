"""The Lessons page (AppTest): every built-in lesson walked end to end — every predict answered
and revealed beside the run's number, every run served, every by-hand step answered wrong (which
entry is wrong, the worked numbers after two tries) and right — plus the course list, the URL
position and uploads."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine import lessons as el
from engine.runs import Runs
from engine.store import RunStore
from tests.pages.test_pages import APP

PAGE = "pages/0_lessons.py"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """One run store for the module: the lessons share the notebook's run, trained once."""
    return tmp_path_factory.mktemp("lesson-runs")


@pytest.fixture(autouse=True)
def _shared_store(runs_dir, monkeypatch):
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(runs_dir))


def open_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    kinds = ("markdown", "success", "info", "warning", "error", "caption")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def facts(lesson, step, runs_dir) -> dict:
    """The step's facts computed here, from the run the store holds (the page trained it)."""
    engine = Runs(RunStore(runs_dir))

    def of(name):
        run = engine.open(lesson.run_settings(name))
        assert run.result is not None, "the page should have trained this run"
        return run

    run = of(step.run)
    out = {
        **el.run_facts(run.result, run.dev.X, run.dev.labels, run.train.n),
        **el.trace_facts(
            el.params_at(run.result, step.at),
            lesson.image_of(step),
            run.dev.X,
            run.dev.labels,
            run.result.config.alpha,
        ),
    }
    for s in lesson.steps:
        if s.kind == "run" and engine.open(s.settings).result is not None:
            r = engine.open(s.settings)
            out[s.id] = el.run_facts(r.result, r.dev.X, r.dev.labels, r.train.n)
    return out


def click(at, key) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def walk(lesson, runs_dir) -> None:
    at = open_page(lesson=lesson.id, step=1)
    for number, step in enumerate(lesson.steps, start=1):
        assert at.query_params["step"] == [str(number)] or at.query_params["step"] == str(number)
        assert f"Step {number} of {len(lesson.steps)}" in at.get("progress")[0].proto.text
        k = f"lesson:{lesson.id}:{step.id}:"
        if step.kind == "predict":
            if step.choices:
                at.radio(key=k + "choice").set_value(0).run()
            else:
                at.number_input(key=k + "number").set_value(1.0).run()
            click(at, k + "lock")
            f = facts(lesson, step, runs_dir)
            shown = {m.label: m.value for m in at.metric}
            if step.choices:
                right = el.right_choices(step, f)
                assert right, f"{lesson.id}/{step.id}: no choice is right for this run"
                assert shown["The run"] == " / ".join(step.choices[i].text for i in right)
                assert shown["Your guess (locked)"] == step.choices[0].text
            else:
                truth = el.expected_numbers(step.answer, f)[0]
                assert shown["The run"] == el.format_value(truth)
            for text in step.keys.get("reveal", ()):
                assert el.render(text, f).split("\n")[0][:40] in texts(at)
        elif step.kind == "run":
            click(at, k + "train")
            assert "Run done" in texts(at)
        elif step.kind == "by-hand":
            f = facts(lesson, step, runs_dir)
            want = el.expected_numbers(step.answer, f)
            labels = el.entry_labels(step.answer, want.size)
            wrong = want.copy()
            wrong[-1] += 1 + 10 * step.tolerance.value * max(1, abs(want[-1]))
            for attempt in range(2):
                for i, v in enumerate(wrong):
                    at.number_input(key=f"{k}entry{i}").set_value(float(v))
                click(at, k + "check")
                errors = " ".join(e.value for e in at.error)
                assert labels[-1] in errors, errors
                assert ("Worked numbers" in texts(at)) == (attempt == 1)
            for i, v in enumerate(want):
                at.number_input(key=f"{k}entry{i}").set_value(float(v))
            click(at, k + "check")
            assert any("Right" in s.value for s in at.success), texts(at)
            assert el.render(step.keys["worked"][0], f)[:40] in texts(at)
        else:
            if step.text and el.placeholders(step.text):
                f = facts(lesson, step, runs_dir)
                first = el.render(step.text, f).split("\n")[0]
                assert first[:40] in texts(at)
            assert len(at.get("plotly_chart")) >= len(step.figures)
        if number < len(lesson.steps):
            click(at, "lesson_next")
        else:
            assert "Lesson complete." in texts(at)
            assert len(at.get("page_link")) == len(step.links)


@pytest.mark.parametrize("lesson", el.builtin(), ids=lambda x: x.id)
def test_each_lesson_walks_end_to_end(lesson, runs_dir):
    walk(lesson, runs_dir)

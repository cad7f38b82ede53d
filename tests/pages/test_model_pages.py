"""An uploaded model on every page (AppTest): it is the current run where only parameters are
needed, pages that replay training say it has none, nothing trains, and an upload that fails
changes nothing."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import nnmath
from engine.config import Settings
from engine.runs import Runs
from engine.store import RunStore
from tests.pages.test_pages import app, texts
from ui.navigation import PAGES


def model_file(hidden=9, seed=1, activation="relu") -> bytes:
    buffer = io.BytesIO()
    nnmath.save_model(buffer, nnmath.init_params(hidden, seed), {"activation": activation})
    return buffer.getvalue()


def uploaded(raw: bytes) -> str:
    """Keep a model in the store the app uses (this test's NNMATH_RUNS_DIR); its key."""
    runs = Runs(RunStore(os.environ["NNMATH_RUNS_DIR"]))
    return runs.keep_model(raw, max_bytes=2**24, max_hidden=256, name="m.npz")


@pytest.mark.parametrize(
    "page", [p.source for p in PAGES], ids=[p.url_path or "home" for p in PAGES]
)
def test_every_page_opens_with_an_uploaded_model_and_trains_nothing(page, calls):
    key = uploaded(model_file())
    at = app(None if page == "home" else page, model=key)
    assert not at.exception, at.exception
    assert calls["gradient_descent"] == 0
    assert at.query_params["model"] == key
    said = texts(at)
    if page in ("pages/11_math.py", "pages/12_dynamics.py"):
        assert "was not trained here, so it has no training history" in said
        assert at.button(key="drop_model").label == "Stop using the uploaded model"
    if page in ("home", "pages/5_weights.py"):
        assert f"uploaded model {key} · hidden 9 · relu" in said
    if page == "pages/2_train.py":
        assert "An uploaded model is in use" in said and "it is never trained here" in said
        assert not [b for b in at.button if b.key == "train"]  # no Train button


def test_evaluate_shows_the_model_on_the_current_dataset_without_curves():
    key = uploaded(model_file(hidden=9, seed=1, activation="tanh"))
    at = app("pages/3_evaluate.py", model=key)
    said = texts(at)
    assert "uploaded model, not trained here: no training curves" in said.lower()
    assert f"uploaded model {key} · hidden 9 · tanh" in said
    run = Runs(RunStore(os.environ["NNMATH_RUNS_DIR"])).open(Settings(model=key))
    pred = nnmath.make_predictions(run.dev.X, nnmath.init_params(9, 1), activation="tanh")
    accuracy = nnmath.get_accuracy(pred, run.dev.labels)
    assert f"dev accuracy **{accuracy:.1%}**" in said
    # the downloads and the Confidence section still work
    at.session_state["evaluate_tab"] = "Take it with you"
    assert at.run().get("download_button")
    at.session_state["evaluate_tab"] = "Confidence"
    assert "Coverage (answered)" in [m.label for m in at.run().metric]


def test_train_offers_to_drop_the_model_and_then_trains_normally(calls):
    key = uploaded(model_file())
    at = app("pages/2_train.py", model=key, hidden=10, iterations=30)
    at.button(key="drop_model").click().run()
    assert not at.exception, at.exception
    assert "model" not in at.query_params
    assert at.query_params["hidden"] == "10" and at.query_params["iterations"] == "30"
    assert "An uploaded model is in use" not in texts(at)


def test_an_unknown_model_in_a_link_says_so_and_can_be_dropped():
    at = app("pages/3_evaluate.py", model="upload-0123456789abcdef")
    assert "is not on this server any more" in "\n".join(e.value for e in at.error)
    at.button(key="drop_unknown_model").click().run()
    assert not at.exception and "model" not in at.query_params


def _upload_script():
    """What the Data page's "Use this model" button runs with the uploaded file's bytes."""
    import os
    from pathlib import Path

    import streamlit as st

    from engine.config import Settings
    from ui import session

    path = Path(os.environ["NNMATH_TEST_MODEL"])
    start = Settings(hidden=32, data="sample")
    st.session_state.setdefault("settings", start)
    key = session.use_model(path.read_bytes(), path.name, st.session_state["settings"])
    st.write(f"key: {key}")


def upload(tmp_path, monkeypatch, raw: bytes, name: str) -> AppTest:
    path = Path(tmp_path) / name
    path.write_bytes(raw)
    monkeypatch.setenv("NNMATH_TEST_MODEL", str(path))
    at = AppTest.from_function(_upload_script, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_good_upload_becomes_the_urls_model(tmp_path, monkeypatch):
    at = upload(tmp_path, monkeypatch, model_file(hidden=6), "mine.npz")
    key = at.query_params["model"]
    assert key.startswith("upload-") and not at.error
    assert at.session_state["settings"].model == key
    assert at.session_state["settings"].hidden == 32  # the training settings stay
    kept = Path(os.environ["NNMATH_RUNS_DIR"]) / "models" / f"{key.removeprefix('upload-')}.npz"
    assert nnmath.load_model(kept).params.hidden == 6


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"\x80\x04 not a model", "it is a Python pickle, which is never loaded"),
        (model_file(hidden=300), "hidden must be at most 256 on this server (NNMATH_MAX_HIDDEN)"),
    ],
    ids=["pickle", "too-wide"],
)
def test_a_bad_upload_says_why_and_changes_nothing(tmp_path, monkeypatch, raw, reason):
    at = upload(tmp_path, monkeypatch, raw, "bad.npz")
    errors = "\n".join(e.value for e in at.error)
    assert "Could not use bad.npz as a model, so nothing changed" in errors and reason in errors
    assert "model" not in at.query_params
    assert at.session_state["settings"].model is None
    assert list((Path(os.environ["NNMATH_RUNS_DIR"]) / "models").glob("*")) == []

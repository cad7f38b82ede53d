"""Evaluate's "Take it with you" downloads (AppTest): five buttons, built only when clicked.

AppTest cannot fetch a deferred file; what the files hold is tested in tests/views, and the
browser test downloads the report for real."""

from dataclasses import replace
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

import nnmath
from engine.store import RunStore
from tests.helpers import app_sample

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
LABELS = [
    "Model (.npz)",
    "Model + predict.py (.zip)",
    "Run report (.html)",
    "History (.csv)",
    "Per-digit scores (.csv)",
]


def evaluate(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in {"iterations": "60", **query}.items():
        at.query_params[k] = str(v)
    at.session_state["evaluate_tab"] = "Take it with you"  # drawn only when open
    at.switch_page("pages/3_evaluate.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_evaluate_offers_the_five_downloads_without_building_them():
    at = evaluate()
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == LABELS
    for b in buttons:
        assert b.proto.ignore_rerun  # a click does not rerun the page
        assert b.proto.deferred_file_id  # the file is built on click, not on every run
        assert not b.proto.disabled
    assert "Take it with you" in [h.value for h in at.subheader]
    assert "predict.py" in buttons[1].proto.help


def test_a_run_with_non_finite_weights_offers_no_model(tmp_path, monkeypatch):
    train, dev, base = app_sample()
    config = replace(base, hidden=11)
    store = RunStore()
    result = store.train(config, 60, train, dev)
    W1 = result.params.W1.copy()
    W1[0, 0] = np.nan
    broken = replace(result, params=nnmath.Params(W1, *list(result.params.arrays().values())[1:]))
    store.delete(config.run_id)
    store.put(config, broken, data_key="sample")
    at = evaluate(hidden=11)
    disabled = {b.proto.label: b.proto.disabled for b in at.get("download_button")}
    assert disabled == {label: label.startswith("Model") for label in LABELS}
    assert any("no model to download" in w.value for w in at.warning)

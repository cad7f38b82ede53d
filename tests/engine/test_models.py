"""Uploaded models (engine.models, Runs.open with settings.model): checked, kept under the run
store, and shown as a finished run of 0 iterations on the current dataset, never trained."""

from __future__ import annotations

import io
import json
import pickle
import re

import numpy as np
import pytest

import nnmath
from engine import models
from engine.config import SETTING_PARAMS, RunConfig, Settings
from engine.runs import Runs
from engine.store import RunStore

MB = 1024 * 1024


@pytest.fixture
def runs(tmp_path):
    return Runs(RunStore(tmp_path / "store"))


def model_bytes(params, meta=None) -> bytes:
    buffer = io.BytesIO()
    nnmath.save_model(buffer, params, meta)
    return buffer.getvalue()


def notebook_bytes(params) -> bytes:
    """The notebook's own np.savez: samples as columns, biases as column vectors."""
    buffer = io.BytesIO()
    np.savez(buffer, W1=params.W1.T, b1=params.b1[:, None], W2=params.W2.T, b2=params.b2[:, None])
    return buffer.getvalue()


def keep(runs, raw, name="model.npz", max_hidden=256):
    return runs.keep_model(raw, max_bytes=10 * MB, max_hidden=max_hidden, name=name)


def trained_params(runs, hidden=12, activation="relu"):
    run = runs.train(runs.open(Settings(hidden=hidden, iterations=40, activation=activation)))
    return run.result.params


def test_an_upload_is_kept_and_opens_with_the_same_predictions(runs):
    params = trained_params(runs)
    key = keep(runs, model_bytes(params, {"note": "from my laptop", "activation": "relu"}))
    assert key == "upload-" + models.digest(params)
    kept = runs.store.models_dir / f"{models.digest(params)}.npz"
    with np.load(kept, allow_pickle=False) as z:  # no pickle needed to read it back
        meta = json.loads(str(z["meta"]))
        np.testing.assert_array_equal(z["W1"], params.W1)
    assert meta["note"] == "from my laptop" and meta["original"]["hidden"] == 12

    run = runs.open(Settings(model=key, hidden=99, iterations=321))  # its own settings ignored
    r = run.result
    assert run.uploaded and r.iterations == 0 and len(r.history) == 0
    assert r.snapshot_iterations.tolist() == [0] and r.status == nnmath.Status.FINISHED
    assert (r.config.hidden, r.config.activation, r.config.dtype) == (12, "relu", "float32")
    np.testing.assert_array_equal(r.snapshot(0).W2, params.W2)
    dev_pred = nnmath.make_predictions(run.dev.X, params)
    np.testing.assert_array_equal(nnmath.make_predictions(run.dev.X, r.params), dev_pred)
    # the metrics are one honest forward pass on the current dataset's split
    assert r.dev_accuracy == pytest.approx(nnmath.get_accuracy(dev_pred, run.dev.labels))
    train_pred = nnmath.make_predictions(run.train.X, params)
    assert r.train_accuracy == pytest.approx(nnmath.get_accuracy(train_pred, run.train.labels))
    A2 = nnmath.predict_proba(params, run.dev.X)
    expected = -np.mean(np.log(A2[np.arange(run.dev.n), run.dev.labels]))
    assert r.dev_loss == pytest.approx(expected, rel=1e-4)
    assert "uploaded model " + key in run.label and "hidden 12" in run.label


def test_an_uploaded_model_is_never_confused_with_a_trained_run(runs):
    params = trained_params(runs, hidden=12)
    key = keep(runs, model_bytes(params))
    run = runs.open(Settings(model=key))
    trained = runs.open(Settings(hidden=12, iterations=40))
    assert run.config.model == key and trained.config.model is None
    assert run.config.run_id != trained.config.run_id
    assert "model" not in trained.config.to_dict()  # trained runs keep their ids and records
    assert [rec.run_id for rec in runs.store.records()] == [trained.config.run_id]
    with pytest.raises(ValueError, match="uploaded model: it is shown as it is, never trained"):
        runs.train(run)
    assert len(runs.store.records()) == 1


def test_a_notebook_layout_model_works_and_has_the_same_name(runs):
    params = nnmath.init_params(7, seed=3, dtype=np.float64)  # np.savez of float64 arrays
    key = keep(runs, notebook_bytes(params), name="notebook.npz")
    assert key == "upload-" + models.digest(params)
    assert keep(runs, model_bytes(params)) == key  # the same weights in nnmath's layout
    run = runs.open(Settings(model=key))
    assert (run.result.config.hidden, run.result.config.dtype) == (7, "float64")
    assert run.result.params.dtype == np.float64
    np.testing.assert_array_equal(
        nnmath.make_predictions(run.dev.X, run.result.params),
        nnmath.make_predictions(run.dev.X, params),
    )


def test_the_models_activation_is_applied(runs):
    params = trained_params(runs, hidden=8, activation="tanh")
    key = keep(runs, model_bytes(params, {"activation": "tanh"}))
    run = runs.open(Settings(model=key))
    assert run.result.config.activation == "tanh" and "tanh" in run.label
    tanh = nnmath.make_predictions(run.dev.X, params, activation="tanh")
    relu = nnmath.make_predictions(run.dev.X, params, activation="relu")
    assert (tanh != relu).any()  # else this test could not tell them apart
    assert run.result.dev_accuracy == pytest.approx(nnmath.get_accuracy(tanh, run.dev.labels))


def bad_files():
    params = nnmath.init_params(5, seed=0)
    nan = params.arrays()
    nan["b2"] = nan["b2"].copy()
    nan["b2"][3] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, **nan)
    wrong = io.BytesIO()
    np.savez(wrong, W1=params.W1, b1=params.b1, W2=params.W2[:, :9], b2=params.b2)
    return {
        "pickle": (pickle.dumps(params.arrays()), "a Python pickle"),
        "nan": (buffer.getvalue(), "array b2 must hold finite numbers"),
        "shape": (wrong.getvalue(), "array W2 must have shape (5, 10)"),
        "text": (b"label,pixel0\n", "expected an .npz file"),
        "hidden": (model_bytes(nnmath.init_params(40, seed=0)), "hidden must be at most 32"),
    }


@pytest.mark.parametrize("case", sorted(bad_files()))
def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_kept(runs, case):
    raw, reason = bad_files()[case]
    with pytest.raises(ValueError, match=re.escape(reason)):
        keep(runs, raw, name="bad.npz", max_hidden=32)
    assert list(runs.store.models_dir.iterdir()) == []


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(runs):
    raw = model_bytes(nnmath.init_params(5, seed=0))
    with pytest.raises(ValueError, match=r"bad.npz is 0.0 MB; the limit on this server is"):
        runs.keep_model(raw, max_bytes=len(raw) - 1, max_hidden=256, name="bad.npz")
    assert list(runs.store.models_dir.iterdir()) == []


@pytest.mark.parametrize(
    "key, message",
    [
        ("upload-0123456789abcdef", "is not on this server any more"),
        ("upload-../../etc", "is not an uploaded model's name"),
        ("mine", "is not an uploaded model's name"),
    ],
)
def test_an_unknown_model_says_so(runs, key, message):
    with pytest.raises(models.UnknownModel, match=message):
        runs.open(Settings(model=key))


def test_the_url_carries_the_model_only_when_set():
    assert "model" in SETTING_PARAMS
    plain = Settings(hidden=32)
    assert "model" not in plain.to_query()
    assert Settings.from_query(plain.to_query()) == (plain, [])
    used = Settings(hidden=32, model="upload-0123456789abcdef")
    assert used.to_query()["model"] == "upload-0123456789abcdef"
    assert Settings.from_query(used.to_query()) == (used, [])
    assert Settings.from_query({"hidden": "32"}, base=used)[0].model == used.model
    assert "model" not in RunConfig(data="x" * 16).to_dict()

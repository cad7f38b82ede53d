"""save_model / load_model: a plain .npz anyone can read, the notebook's layout, and every way a
handed-in file can be wrong (each a ValueError naming the array and what was expected)."""

import io
import json
import pickle
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnmath
from nnmath import Params, gradient_descent, load_model, make_predictions, save_model


@pytest.fixture(scope="module")
def trained(split5k):
    X, y, X_dev, y_dev = split5k
    return gradient_descent(X[:1000], y[:1000], iterations=30, hidden=12, X_dev=X_dev, y_dev=y_dev)


def _npz(**arrays) -> io.BytesIO:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    return buffer


def _notebook_arrays(params: Params) -> dict:
    """The notebook's layout: samples as columns, biases as (n, 1) columns, float64."""
    return {
        "W1": params.W1.T.astype(np.float64),
        "b1": params.b1[:, None].astype(np.float64),
        "W2": params.W2.T.astype(np.float64),
        "b2": params.b2[:, None].astype(np.float64),
    }


def test_round_trip_keeps_every_bit_and_the_metadata(trained, tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, trained.params, {"settings": {"hidden": 12, "alpha": 0.1}, "iterations": 30})
    model = load_model(path)
    for name, a in trained.params.arrays().items():
        back = getattr(model.params, name)
        assert back.dtype == a.dtype == np.float32
        np.testing.assert_array_equal(back, a)
    assert model.layout == "nnmath"
    assert model.meta["settings"] == {"hidden": 12, "alpha": 0.1}
    assert model.meta["iterations"] == 30
    assert model.meta["format"] == "nnmath.model"
    assert model.meta["nnmath_version"] == nnmath.__version__
    assert model.meta["numerics_version"] == nnmath.NUMERICS_VERSION
    assert model.meta["activation"] == "relu"
    assert model.meta["created"].endswith("+00:00")


def test_the_file_is_plain_numpy_and_json(trained):
    buffer = io.BytesIO()
    save_model(buffer, trained.params, {"dataset": {"name": "sample"}})
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["W1", "W2", "b1", "b2", "meta"]
        assert npz["W1"].shape == (784, 12) and npz["b2"].shape == (10,)
        assert json.loads(str(npz["meta"]))["dataset"] == {"name": "sample"}


def test_a_file_object_round_trips_and_predicts_the_same(trained, split5k):
    buffer = io.BytesIO()
    save_model(buffer, trained.params)
    model = load_model(io.BytesIO(buffer.getvalue()))
    X_dev = split5k[2]
    np.testing.assert_array_equal(
        make_predictions(X_dev, model.params), make_predictions(X_dev, trained.params)
    )


def test_the_version_is_the_projects():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert nnmath.__version__ == pyproject["project"]["version"]


def test_reads_the_notebooks_layout(trained, split5k):
    model = load_model(_npz(**_notebook_arrays(trained.params)))
    assert model.layout == "notebook" and model.meta == {}
    assert model.params.W1.shape == (784, 12) and model.params.b1.shape == (12,)
    assert model.params.W2.shape == (12, 10) and model.params.b2.shape == (10,)
    assert model.params.dtype == np.float64 and model.params.W1.flags.c_contiguous
    np.testing.assert_array_equal(model.params.W1, trained.params.W1)
    np.testing.assert_array_equal(model.params.b2, trained.params.b2)
    X_dev = split5k[2]
    np.testing.assert_array_equal(
        make_predictions(X_dev, model.params),
        make_predictions(
            X_dev, Params(*(a.astype(np.float64) for a in trained.params.arrays().values()))
        ),
    )


def test_a_784_unit_network_is_told_apart_by_its_biases():
    params = nnmath.init_params(784, seed=1)
    assert load_model(_npz(**params.arrays())).layout == "nnmath"
    model = load_model(_npz(**_notebook_arrays(params)))
    assert model.layout == "notebook"
    np.testing.assert_array_equal(model.params.W1, params.W1)


def test_other_arrays_are_ignored(trained):
    model = load_model(_npz(**trained.params.arrays(), history=np.arange(5)))
    np.testing.assert_array_equal(model.params.W2, trained.params.W2)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("b2"), "missing array b2: expected W1, b1, W2 and b2"),
        (
            lambda a: a.update(W1=np.zeros((783, 12), np.float32)),
            "array W1 must have shape (784, h)",
        ),
        (lambda a: a.update(b1=np.zeros(11, np.float32)), "array b1 must have shape (12,)"),
        (lambda a: a.update(W2=np.zeros((12, 9), np.float32)), "array W2 must have shape (12, 10)"),
        (lambda a: a.update(b2=np.zeros((10, 1), np.float32)), "array b2 must have shape (10,)"),
        (lambda a: a.update(W1=np.zeros((784, 0), np.float32)), "at least 1 hidden unit"),
        (lambda a: a.update(W2=a["W2"].astype(np.int64)), "array W2 must be float32 or float64"),
        (lambda a: a.update(b1=a["b1"].astype(np.float16)), "array b1 must be float32 or float64"),
    ],
)
def test_wrong_arrays_are_named(trained, change, message):
    arrays = dict(trained.params.arrays())
    change(arrays)
    with pytest.raises(ValueError, match="not a usable model file") as info:
        load_model(_npz(**arrays))
    assert message in str(info.value)


def test_wrong_shapes_in_the_notebooks_layout_say_so(trained):
    arrays = _notebook_arrays(trained.params)
    arrays["b1"] = arrays["b1"][:, 0]  # (12,) where the notebook has (12, 1)
    # b1 (12,) with W1 (12, 784): read as the notebook's layout, whose b1 is a column
    with pytest.raises(ValueError, match=r"array b1 must have shape \(12, 1\) \(notebook layout"):
        load_model(_npz(**arrays))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_with_their_place(trained, bad):
    arrays = dict(trained.params.arrays())
    W2 = arrays["W2"].copy()
    W2[3, 7] = bad
    arrays["W2"] = W2
    with pytest.raises(
        ValueError, match=r"array W2 must hold finite numbers, got .* at index \(3, 7\)"
    ):
        load_model(_npz(**arrays))


def test_object_arrays_are_never_unpickled(trained, monkeypatch):
    arrays = dict(trained.params.arrays())
    arrays["b1"] = np.array([object()] * 12, dtype=object)
    buffer = _npz(**arrays)  # np.savez pickles object arrays
    called = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: called.append(a))
    with pytest.raises(ValueError, match="array b1 holds Python objects"):
        load_model(buffer)
    assert called == []


def test_a_pickle_is_refused_before_anything_is_read(trained):
    with pytest.raises(ValueError, match="it is a Python pickle, which is never loaded"):
        load_model(io.BytesIO(pickle.dumps(trained.params.arrays())))


@pytest.mark.parametrize(
    "raw", [b"", b"W1,b1\n1,2\n", b"\x93NUMPY\x01\x00", b"PK\x03\x04 truncated zip"]
)
def test_not_an_npz(raw, tmp_path):
    path = tmp_path / "weights.npz"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=r"weights\.npz: not a (usable|readable) model file"):
        load_model(path)


def test_a_zip_bomb_is_refused_from_its_directory():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("W1.npy", b"\0" * (2 * 1024 * 1024))  # 2 MB of zeros, ~2 KB packed
    buffer.seek(0)
    assert len(buffer.getvalue()) < 20_000
    with pytest.raises(ValueError, match=r"would unpack to 2,097,\d+ bytes, more than the limit"):
        load_model(buffer, max_bytes=1024 * 1024)


@pytest.mark.parametrize(
    "meta, message",
    [
        (np.array("{not json"), "array meta must be JSON text"),
        (np.array("[1, 2]"), "array meta must be a JSON object"),
        (np.array(["{}", "{}"]), "array meta must be one JSON text"),
        (np.array(json.dumps({"activation": "swish"})), "meta activation must be one of"),
    ],
)
def test_bad_metadata_is_named(trained, meta, message):
    with pytest.raises(ValueError, match=message):
        load_model(_npz(**trained.params.arrays(), meta=meta))


def test_save_refuses_what_load_would_refuse(trained):
    W1 = trained.params.W1.copy()
    W1[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"array W1 must hold finite numbers"):
        save_model(io.BytesIO(), Params(W1, *list(trained.params.arrays().values())[1:]))
    with pytest.raises(ValueError, match="meta must be JSON-serialisable"):
        save_model(io.BytesIO(), trained.params, {"loss": float("nan")})
    with pytest.raises(ValueError, match=r"meta\['activation'\] must be one of"):
        save_model(io.BytesIO(), trained.params, {"activation": "swish"})


def test_the_activation_travels_with_the_model(trained):
    buffer = io.BytesIO()
    save_model(buffer, trained.params, {"activation": "tanh"})
    assert load_model(buffer).activation == "tanh"

"""views.export and views.report: the files a run gives away, built without Streamlit."""

import base64
import io
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnmath
from data import load_dataset
from engine.store import RunStore
from tests.helpers import app_sample, decode
from views import export, metrics, report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """A 60-iteration run of the app's defaults on the sample, kept in a store of its own."""
    train, dev, config = app_sample()
    store = RunStore(tmp_path_factory.mktemp("store"))
    result = store.train(config, 60, train, dev, data_name="MNIST sample", data_key="sample")
    return export.RunExport(config, result, load_dataset("sample"), dev), store


def test_model_filename_follows_the_settings(sample_run):
    run, _ = sample_run
    assert export.model_filename(run.config, 500) == "nnmath-h10-a0.1-i500-s0.npz"
    other = replace(run.config, hidden=32, alpha=0.05, seed=3, init="he", batch_size=64)
    assert export.model_filename(other, 7) == "nnmath-h32-a0.05-i7-s3-he-b64.npz"


def test_the_model_file_loads_back_with_the_runs_numbers(sample_run):
    run, _ = sample_run
    model = nnmath.load_model(io.BytesIO(export.model_bytes(run)))
    for name, a in run.result.params.arrays().items():
        np.testing.assert_array_equal(getattr(model.params, name), a)
    meta = model.meta
    assert meta["run_id"] == run.run_id and meta["iterations"] == 60
    assert meta["settings"]["hidden"] == 10 and meta["settings"]["dev_size"] == 1000
    assert meta["dataset"]["fingerprint"] == run.dataset.fingerprint
    assert meta["dataset"] == {**meta["dataset"], "train_images": 4000, "dev_images": 1000}
    assert meta["metrics"]["dev_accuracy"] == pytest.approx(run.result.dev_accuracy)
    assert meta["nnmath_version"] == nnmath.__version__


def test_the_zip_holds_model_predictor_and_readme(sample_run, tmp_path):
    run, _ = sample_run
    with zipfile.ZipFile(io.BytesIO(export.bundle_zip(run))) as z:
        assert sorted(z.namelist()) == ["README.txt", "nnmath-h10-a0.1-i60-s0.npz", "predict.py"]
        readme = z.read("README.txt").decode()
        assert z.read("predict.py") == export.PREDICT_SCRIPT.read_bytes()
        z.extractall(tmp_path)
    assert "python predict.py nnmath-h10-a0.1-i60-s0.npz test.csv -o submission.csv" in readme
    assert f"dev accuracy {run.result.dev_accuracy:.1%} on 1,000 held-out images" in readme
    # the zip's own predictor reads the zip's own model
    header = ",".join(f"pixel{j}" for j in range(784))
    X = run.dev.X[:50]
    np.savetxt(tmp_path / "test.csv", X, fmt="%d", delimiter=",", header=header, comments="")
    done = subprocess.run(
        [sys.executable, "predict.py", "nnmath-h10-a0.1-i60-s0.npz", "test.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    labels = [
        int(line.split(",")[1]) for line in (tmp_path / "submission.csv").read_text().split()[1:]
    ]
    assert labels == nnmath.make_predictions(X, run.result.params).tolist()


def test_history_csv_has_one_row_per_iteration(sample_run):
    run, _ = sample_run
    table = pd.read_csv(io.StringIO(export.history_csv(run.result.history)))
    assert list(table.columns) == ["iteration", *nnmath.History.FIELDS]
    assert table["iteration"].tolist() == list(range(60))
    np.testing.assert_allclose(table["loss"], run.result.history.loss, rtol=1e-8)
    np.testing.assert_allclose(table["dev_accuracy"], run.result.history.dev_accuracy)


def test_per_digit_csv_adds_up_to_the_dev_set(sample_run):
    run, _ = sample_run
    ev = run.evaluation()
    table = pd.read_csv(io.StringIO(export.per_digit_csv(ev)))
    assert list(table.columns) == ["digit", "precision", "recall", "f1", "support"]
    assert table["digit"].tolist() == list(range(10)) and table["support"].sum() == 1000
    # recall weighted by support is the accuracy: the same right answers counted per digit
    assert (table["recall"] * table["support"]).sum() / 1000 == pytest.approx(ev.accuracy, abs=1e-5)


def _figures(page: str) -> dict[str, dict]:
    """{div id: figure JSON} of every plotly chart in a report page."""
    decoder = json.JSONDecoder()
    out = {}
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        data, end = decoder.raw_decode(page, match.end())
        layout, _ = decoder.raw_decode(page, re.compile(r",\s*").match(page, end).end())
        out[match.group(1)] = {"data": data, "layout": layout}
    return out


def test_the_report_is_one_offline_page(sample_run):
    run, _ = sample_run
    ev = run.evaluation()
    page = report.report_html(run, ev)
    # plotly.js inlined exactly once, four charts drawn with it, nothing loaded from elsewhere
    # (the bundle itself names a CDN for optional extras; the browser test blocks the network)
    assert len(re.findall(r"\* plotly\.js v\d", page)) == 1
    assert page.count("Plotly.newPlot(") == 4
    assert not re.search(r'<script[^>]+src=|<link[^>]+href=|<img[^>]+src="http', page)
    charts = _figures(page)
    assert list(charts) == ["training-curves", "confusion-matrix", "per-digit", "hidden-units"]
    loss = decode(charts["training-curves"]["data"][0]["y"])
    np.testing.assert_allclose(loss, run.result.history.loss, rtol=1e-6)
    cm = metrics.confusion_matrix(ev.y, ev.pred)
    heat = next(t for t in charts["confusion-matrix"]["data"] if t["type"] == "heatmap")
    np.testing.assert_array_equal(decode(heat["z"]), cm)
    assert f"{ev.accuracy:.1%} ({int(ev.correct.sum()):,} of 1,000 right)" in page
    assert run.dataset.fingerprint in page and run.run_id in page
    wrong = int((~ev.correct).sum())
    assert f"{report.MISTAKES_SHOWN} mistakes the network was surest about, of {wrong:,}" in page


def test_the_mistakes_are_embedded_pngs_of_the_right_images(sample_run):
    run, _ = sample_run
    ev = run.evaluation()
    page = report.report_html(run, ev)
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(uris) == report.MISTAKES_SHOWN
    first = report.digit_data_uri(
        run.dev.images[int(np.argmax(np.where(ev.correct, -1, ev.confidence)))]
    )
    assert uris[0] == first.split(",", 1)[1]


def test_png_bytes_decode_to_the_pixels():
    image = np.arange(28 * 28, dtype=np.uint32).reshape(28, 28).astype(np.uint8)
    png = report.png_bytes(image, scale=2)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (56, 56)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    import zlib

    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(56, 57)
    assert (rows[:, 0] == 0).all()
    np.testing.assert_array_equal(rows[::2, 1::2], image)
    assert base64.b64decode(report.digit_data_uri(image).split(",")[1]) == report.png_bytes(
        255 - image
    )


def test_uniform_start_draws_the_change_and_big_networks_are_cut(sample_run):
    run, store = sample_run
    assert report.initial_W1(run.result) is not None
    assert "change since the random start" in report.report_html(run)
    he = replace(run.config, init="he", hidden=120)
    result = store.train(he, 3, *app_sample()[:2])
    page = report.report_html(export.RunExport(he, result, run.dataset, run.dev))
    assert report.initial_W1(result) is None
    assert f"(the first {report.UNITS_SHOWN} of 120 units)" in page
    assert "change since the random start" not in page


def test_command_line_writes_every_file(sample_run, tmp_path, monkeypatch, capsys):
    run, store = sample_run
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(store.root))
    assert export.main([run.run_id, "-o", str(tmp_path), "--iterations", "40"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    stem = "nnmath-h10-a0.1-i40-s0"
    assert names == sorted(
        f"{stem}{s}" for s in (".npz", ".zip", "-history.csv", "-per-digit.csv", "-report.html")
    )
    model = nnmath.load_model(tmp_path / f"{stem}.npz")
    again = store.train(run.config, 40, *app_sample()[:2])
    np.testing.assert_array_equal(model.params.W1, again.params.W1)
    assert len((tmp_path / f"{stem}-history.csv").read_text().splitlines()) == 41
    assert export.main(["--list"]) == 0
    assert run.run_id in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["0123456789abcdef"], "run '0123456789abcdef' is not in the run store"),
        (
            ["RUN", "--iterations", "61"],
            "iterations must be in 1..60 (the cached run's length), got 61",
        ),
        (["RUN", "--data", "nothing.csv"], "dataset 'nothing.csv' of run RUN: no dataset called"),
    ],
)
def test_command_line_errors(sample_run, tmp_path, monkeypatch, capsys, argv, message):
    run, store = sample_run
    monkeypatch.setenv("NNMATH_RUNS_DIR", str(store.root))
    argv = [a.replace("RUN", run.run_id) for a in argv]
    assert export.main([*argv, "-o", str(tmp_path)]) == 1
    assert message.replace("RUN", run.run_id) in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_views_do_not_import_streamlit():
    code = "import sys, views.export, views.report; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_the_report_carries_the_runs_note_and_tags(sample_run, tmp_path, monkeypatch):
    run, store = sample_run
    html_text = report.report_html(run)
    assert "<th>note</th>" not in html_text and "<th>tags</th>" not in html_text
    store.annotate(run.run_id, note="first try <b>bold</b>", tags=["baseline"])
    try:
        monkeypatch.setenv("NNMATH_RUNS_DIR", str(store.root))
        assert export.main([run.run_id, "-o", str(tmp_path)]) == 0
        (page,) = tmp_path.glob("*-report.html")
        text = page.read_text()
        assert "<th>note</th><td>first try &lt;b&gt;bold&lt;/b&gt;</td>" in text
        assert "<th>tags</th><td>baseline</td>" in text
    finally:
        store.annotate(run.run_id, note="", tags=[])

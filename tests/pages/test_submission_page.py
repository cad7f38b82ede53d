"""Evaluate's "Make a Kaggle submission" (AppTest) up to the network call: the run predicts the
competition's test.csv from data/downloads, submission.csv is offered, and the Kaggle client (a
fake with kaggle 2.2.4's competition_submit) gets it with the message; failures are explained
and the key is shown nowhere."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import requests
from streamlit.testing.v1 import AppTest

import data
import data.loading
import nnmath
from data import kaggle
from data.submission import submission_csv
from tests.data.helpers import TEST_HEADER, csv_text, digits
from tests.pages.test_pages import reference

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
KEY = "k3y-SeCrEt-0123456789abcdef"
SECRETS = {"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": KEY}
IMAGES, LABELS = digits(40)
TEST = digits(28_000 // 100, seed=5)[0]  # 280 images, tiled below to 28,000
TEST_IMAGES = np.tile(TEST, (100, 1, 1))


class FakeApi:
    submitted: list = []
    fail: BaseException | None = None

    def authenticate(self):
        pass

    def competition_submit(self, file_name, message, competition, quiet=False, sandbox=False):
        type(self).submitted.append((Path(file_name).read_text(), message, competition))
        if self.fail is not None:
            raise self.fail
        return SimpleNamespace(message="Successfully submitted to Digit Recognizer")


@pytest.fixture(scope="module")
def downloads_folder(tmp_path_factory):
    """Kaggle's layout, written once: the competition zip (train.csv and a 28,000-image
    test.csv) and a small labelled file. One folder for the module, so the app's cache of the
    parsed test set (keyed by path and mtime) reads the 28,000 rows once."""
    folder = tmp_path_factory.mktemp("downloads")
    competition = folder / "competitions" / "digit-recognizer"
    competition.mkdir(parents=True)
    block = "\n".join(",".join(map(str, row)) for row in TEST.reshape(280, -1)) + "\n"
    with zipfile.ZipFile(competition / "digit-recognizer.zip", "w") as z:
        z.writestr("train.csv", csv_text(IMAGES, LABELS))
        z.writestr("test.csv", TEST_HEADER + "\n" + block * 100)
    (folder / "other.csv").write_text(csv_text(IMAGES[:7], LABELS[:7]))
    return folder


@pytest.fixture
def downloads(monkeypatch, tmp_path, downloads_folder):
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setattr(data.loading, "DOWNLOAD_DIR", downloads_folder)
    monkeypatch.setattr(data, "DOWNLOAD_DIR", downloads_folder)

    class Api(FakeApi):
        submitted = []

    monkeypatch.setattr(kaggle, "_kaggle_api_class", lambda: Api)
    return Api


def evaluate(secrets=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (secrets or {}).items():
        at.secrets[k] = v
    at.query_params["iterations"] = "60"
    at.session_state["evaluate_tab"] = "Take it with you"  # drawn only when open
    at.switch_page("pages/3_evaluate.py")
    at.run()
    assert not at.exception, at.exception
    return at


def all_text(at) -> str:
    parts = [
        e.value
        for kind in ("markdown", "info", "error", "success", "warning", "caption")
        for e in at.get(kind)
        if isinstance(getattr(e, "value", None), str)
    ]
    return "\n".join(parts + [t.value for t in at.text_input])


def make(at) -> AppTest:
    at.button(key="make_submission").click().run()
    assert not at.exception, at.exception
    return at


def test_the_competition_file_comes_first_and_becomes_submission_csv(downloads):
    at = evaluate()
    box = at.selectbox(key="submission_source")
    assert box.options[0] == "competitions/digit-recognizer/digit-recognizer.zip"
    assert box.options[-1] == "Upload a test.csv…"
    make(at)
    assert any("submission.csv: 28,000 predictions" in s.value for s in at.success)
    assert not at.warning
    made = at.session_state["kaggle_submission"]
    result, _ = reference(60)
    expected = submission_csv(
        nnmath.make_predictions(TEST_IMAGES.reshape(28_000, -1), result.params)
    )
    assert made["text"] == expected
    assert [b.proto.label for b in at.get("download_button")][-1] == "Download submission.csv"
    # no credentials: the submit button is off and the page says how to get them
    assert at.button(key="submit_kaggle").disabled
    assert "KAGGLE_API_TOKEN" in all_text(at)


def test_a_labelled_or_short_file_is_made_but_warned_about(downloads):
    at = evaluate()
    at.selectbox(key="submission_source").set_value("other.csv").run()
    make(at)
    assert any("7 predictions" in s.value for s in at.success)
    assert any(
        "expects its test.csv: 28,000" in w.value and "labelled" in w.value for w in at.warning
    )


def test_submit_with_credentials_shows_kaggles_answer(downloads):
    at = make(evaluate(SECRETS))
    assert not at.button(key="submit_kaggle").disabled
    at.text_input(key="submission_message").set_value("my first nnmath").run()
    at.button(key="submit_kaggle").click().run()
    assert not at.exception, at.exception
    (text, message, competition) = downloads.submitted[0]
    assert message == "my first nnmath" and competition == "digit-recognizer"
    assert text == at.session_state["kaggle_submission"]["text"]
    assert "Kaggle's answer: Successfully submitted to Digit Recognizer" in all_text(at)
    assert KEY not in all_text(at)


@pytest.mark.parametrize(
    "fail, expected",
    [
        (403, "accept the competition rules"),
        (400, "as malformed (HTTP 400)"),
        (
            requests.exceptions.ConnectionError("Max retries exceeded"),
            "cannot reach Kaggle to submit",
        ),
    ],
)
def test_submission_failures_are_explained(downloads, fail, expected):
    if isinstance(fail, int):
        response = requests.Response()
        response.status_code = fail
        fail = requests.exceptions.HTTPError(f"{fail} Client Error key={KEY}", response=response)
    downloads.fail = fail
    at = make(evaluate(SECRETS))
    at.button(key="submit_kaggle").click().run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert expected in errors and KEY not in all_text(at)


def test_a_test_csv_with_a_missing_column_names_line_and_column(downloads, request):
    lines = csv_text(IMAGES[:4]).splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    broken = data.DOWNLOAD_DIR / "broken.csv"
    broken.write_text("\n".join(lines) + "\n")
    request.addfinalizer(broken.unlink)
    at = evaluate()
    at.selectbox(key="submission_source").set_value("broken.csv").run()
    make(at)
    errors = " ".join(e.value for e in at.error)
    assert (
        "no submission was made" in errors and "broken.csv, line 3: expected 784 values" in errors
    )
    assert "kaggle_submission" not in at.session_state

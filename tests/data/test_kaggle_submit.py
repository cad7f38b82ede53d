"""Kaggle submissions up to the network call: the client is a fake with kaggle 2.2.4's
competition_submit signature, answering or failing the way the real one does."""

import logging
import os
import traceback
from types import SimpleNamespace

import pytest
import requests

from data import DataError, kaggle
from data.submission import submission_csv
from tests.data.test_kaggle import KEY, SECRETS, TOKEN, USER, FakeApi, assert_no_secret, http_error

GOOD = submission_csv([i % 10 for i in range(28_000)])
ANSWER = "Successfully submitted to Digit Recognizer"


class SubmitApi(FakeApi):
    answer = ANSWER

    def competition_submit(self, file_name, message, competition, quiet=False, sandbox=False):
        with open(file_name) as f:
            content = f.read()
        type(self).calls.append(
            ("submit", os.path.basename(file_name), content, message, competition)
        )
        print("100%|██████████| 208k/208k")  # the real client prints upload progress
        if self.fail is not None:
            raise self.fail
        return SimpleNamespace(message=self.answer)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    class Api(SubmitApi):
        calls = []

    monkeypatch.setattr(kaggle, "_kaggle_api_class", lambda: Api)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    return Api


def test_submit_uploads_the_file_and_returns_kaggles_answer(fake, capsys):
    steps = []
    answer = kaggle.submit(GOOD, "nnmath h10 a0.1", secrets=SECRETS, step=steps.append)
    assert answer == ANSWER
    (call,) = [c for c in fake.calls if c[0] == "submit"]
    assert call == ("submit", "submission.csv", GOOD, "nnmath h10 a0.1", "digit-recognizer")
    assert steps == [
        "Checking the file",
        "Uploading submission.csv (28,000 rows) to 'digit-recognizer'",
    ]
    assert capsys.readouterr().out == ""  # the client's prints are contained


def test_no_credentials_submits_nothing_and_says_how(fake, monkeypatch):
    monkeypatch.setattr(kaggle, "_kaggle_api_class", lambda: pytest.fail("client imported"))
    with pytest.raises(DataError) as info:
        kaggle.submit(GOOD, "first try")
    msg = str(info.value)
    assert msg.startswith("no Kaggle credentials found, so nothing was submitted")
    assert "KAGGLE_API_TOKEN" in msg and "competitions/digit-recognizer/submit" in msg


@pytest.mark.parametrize(
    "status, expected",
    [
        (403, "accept the competition rules at https://www.kaggle.com/competitions/"),
        (400, "refused submission.csv for 'digit-recognizer' as malformed (HTTP 400)"),
        (401, "rejected the credentials"),
        (429, "daily submission limit"),
        (503, "answered HTTP 503 to the submission"),
    ],
)
def test_http_errors_each_have_their_message(fake, status, expected):
    fake.fail = http_error(status)
    with pytest.raises(DataError) as info:
        kaggle.submit(GOOD, "m", secrets=SECRETS)
    assert expected in str(info.value)
    assert_no_secret(str(info.value), "".join(traceback.format_exception(info.value)))


def test_no_network(fake):
    fake.fail = requests.exceptions.ConnectionError(f"Max retries exceeded token={TOKEN}")
    with pytest.raises(DataError) as info:
        kaggle.submit(GOOD, "m", secrets={"KAGGLE_API_TOKEN": TOKEN})
    msg = str(info.value)
    assert msg.startswith("cannot reach Kaggle to submit to 'digit-recognizer' (no network?")
    assert_no_secret(msg)


def test_a_failed_upload_is_not_reported_as_success(fake):
    fake.answer = "Could not submit to competition"
    with pytest.raises(DataError, match="did not take the upload"):
        kaggle.submit(GOOD, "m", secrets=SECRETS)


@pytest.mark.parametrize(
    "text, message",
    [
        (submission_csv([1, 2, 3]), "expected 28,000 rows, found 3"),
        ("ImageId,Label\n1,5\n3,4\n", "line 3: expected '2,<digit 0..9>'"),
        ("id,label\n", "line 1: expected the header 'ImageId,Label'"),
    ],
)
def test_a_malformed_file_is_refused_before_any_upload(fake, text, message):
    with pytest.raises(DataError, match=message):
        kaggle.submit(text, "m", secrets=SECRETS)
    assert fake.calls == []


def test_an_empty_message_or_a_dataset_is_refused(fake):
    with pytest.raises(DataError, match="message must describe the submission"):
        kaggle.submit(GOOD, "  ", secrets=SECRETS)
    with pytest.raises(DataError, match="must be a competition name"):
        kaggle.submit(GOOD, "m", competition="oddrationale/mnist-in-csv", secrets=SECRETS)


def test_secrets_never_in_answers_messages_or_logs(fake, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    fake.answer = f"Successfully submitted (user {USER}, key={KEY})"
    answer = kaggle.submit(GOOD, "m", secrets=SECRETS)
    assert "***" in answer
    fake.fail = RuntimeError(f"unexpected: token={TOKEN} key={KEY}")
    with pytest.raises(DataError) as info:
        kaggle.submit(GOOD, "m", secrets={"KAGGLE_API_TOKEN": TOKEN})
    out, err = capsys.readouterr()
    assert_no_secret(answer, str(info.value), repr(info.value), out, err, caplog.text)

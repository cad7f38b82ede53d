"""Kaggle downloads up to the network call: the client is replaced by a fake that writes files of
Kaggle's layout (or fails the way the real one does). Kaggle is unreachable from the test machine.
"""

import builtins
import io
import json
import logging
import sys
import traceback
import zipfile

import pytest
import requests
import urllib3

import data.loading
from data import DataError, kaggle, load_dataset
from tests.data.helpers import csv_text, digits, idx_bytes

IMAGES, LABELS = digits(30)
KEY = "k3y-SeCrEt-0123456789abcdef"
TOKEN = "t0ken-SeCrEt-fedcba9876543210"
USER = "some-user-name"


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


COMPETITION_ZIP = zip_bytes(
    {
        "train.csv": csv_text(IMAGES, LABELS),
        "test.csv": csv_text(IMAGES[:4]),
        "sample_submission.csv": "ImageId,Label\n1,0\n",
    }
)


def http_error(status):
    response = requests.Response()
    response.status_code = status
    response.url = "https://api.kaggle.com/v1/competitions.CompetitionApiService/DownloadDataFiles"
    return requests.exceptions.HTTPError(
        f"{status} Client Error for url: {response.url} (auth {USER}:{KEY})", response=response
    )


def _real_client():
    return kaggle._kaggle_api_class()


class BrokenStream(io.BytesIO):
    """A body whose connection breaks after ``at`` bytes, as urllib3 reports it."""

    def __init__(self, payload: bytes, at: int):
        super().__init__(payload)
        self.at = at

    def read(self, size=-1):
        if self.tell() >= self.at:
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
        return super().read(min(size, self.at - self.tell()) if size > 0 else self.at)


def kaggle_response(
    payload: bytes, *, announce: bool = True, break_at: int | None = None
) -> requests.Response:
    """What Kaggle's download endpoint answers, as kaggle 2.2.4 receives it (a streamed
    requests.Response), with or without its Content-Length; ``break_at``: the connection
    breaks after that many bytes."""
    response = requests.Response()
    response.status_code = 200
    response.raw = io.BytesIO(payload) if break_at is None else BrokenStream(payload, break_at)
    response.url = "https://storage.googleapis.com/kaggle/file.zip?X-Goog-Signature=abc"
    response.request = requests.Request("GET", response.url).prepare()
    response.headers["Last-Modified"] = "Mon, 01 Dec 2025 10:00:00 GMT"
    if announce:
        response.headers["Content-Length"] = str(len(payload))
    return response


class FakeApi(_real_client()):
    """Stands in for kaggle's KaggleApi: same method names and signatures as kaggle 2.2.4. The
    network calls are replaced by what the server answers; the download itself is the real
    client's ``download_file`` streaming that answer to disk."""

    calls: list = []
    fail: BaseException | None = None
    fail_authenticate: bool = False
    payload: bytes = COMPETITION_ZIP

    announce: bool = True
    broken: int = 0  # how many of the next answers break mid-file
    retry_payload: bytes | None = None  # what the answers after a broken one hold

    def __init__(self):  # the real one reads the user's config files
        self.config_values = {}

    def authenticate(self):
        type(self).calls.append(("authenticate",))
        if self.fail_authenticate:
            print("Authentication required to call the Kaggle API. ...")
            sys.exit(1)
        self.config_values = {"username": USER, "key": KEY}

    def _deliver(self, kind, ref, path):
        type(self).calls.append((kind, ref, dict(self.config_values)))
        print(f"Dataset URL: https://www.kaggle.com/{ref}")  # the real client prints too
        if self.fail is not None:
            raise self.fail
        name = ref.split("/")[-1] + ".zip"
        payload, break_at = self.payload, None
        if type(self).broken:
            type(self).broken -= 1
            break_at = len(self.payload) // 2
        elif self.retry_payload is not None and len(type(self).calls) > 1:
            payload = self.retry_payload
        response = kaggle_response(payload, announce=self.announce, break_at=break_at)
        self.download_file(response, f"{path}/{name}", None, True, True)  # as 2.2.4 calls it

    def competition_download_files(self, competition, path=None, force=False, quiet=True):
        self._deliver("competition", competition, path)

    def dataset_download_files(
        self, dataset, path=None, force=False, quiet=True, unzip=False, licenses=()
    ):
        self._deliver("dataset", dataset, path)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    class Api(FakeApi):
        calls = []

    monkeypatch.setattr(kaggle, "_kaggle_api_class", lambda: Api)
    monkeypatch.setattr(kaggle, "RETRY_WAIT_SECONDS", 0.0)
    monkeypatch.setattr(data.loading, "DOWNLOAD_DIR", tmp_path / "downloads")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    return Api


SECRETS = {"KAGGLE_USERNAME": USER, "KAGGLE_KEY": KEY}


def assert_no_secret(*texts):
    for text in texts:
        for secret in (KEY, TOKEN):
            assert secret not in text


# ------------------------------------------------------------------ credentials


def test_credentials_sources_in_order(fake, monkeypatch, tmp_path):
    assert not kaggle.credentials_available()
    assert kaggle.credentials_available({"KAGGLE_API_TOKEN": TOKEN})
    assert kaggle.credentials_available({"kaggle": {"username": USER, "key": KEY}})
    assert not kaggle.credentials_available({"KAGGLE_USERNAME": USER})  # key missing
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    assert kaggle.find_credentials().where == "environment variables"
    assert kaggle.find_credentials(SECRETS).where == "Streamlit secrets"
    monkeypatch.delenv("KAGGLE_API_TOKEN")
    config = tmp_path / "home" / ".kaggle"
    config.mkdir(parents=True)
    (config / "kaggle.json").write_text(json.dumps({"username": USER, "key": KEY}))
    found = kaggle.find_credentials()
    assert found.where.endswith("kaggle.json") and found.kind == "key"
    assert_no_secret(repr(found), str(found))


def test_secrets_object_that_raises_is_treated_as_empty(fake):
    class NoSecretsFile(dict):
        def get(self, key, default=None):
            raise FileNotFoundError("No secrets found")

    assert not kaggle.credentials_available(NoSecretsFile())


def test_credentials_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(kaggle.Credentials("x", token=TOKEN))


# ------------------------------------------------------------------ refs


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("digit-recognizer", "digit-recognizer"),
        ("https://www.kaggle.com/competitions/digit-recognizer/rules", "digit-recognizer"),
        ("https://www.kaggle.com/c/digit-recognizer", "digit-recognizer"),
        ("oddrationale/mnist-in-csv", "oddrationale/mnist-in-csv"),
        ("https://www.kaggle.com/datasets/hojjatk/mnist-dataset", "hojjatk/mnist-dataset"),
    ],
)
def test_normalize_ref(ref, expected):
    assert kaggle.normalize_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "a/b/c", "../etc", "x y"])
def test_bad_ref(ref):
    with pytest.raises(DataError, match="not a Kaggle competition or dataset"):
        kaggle.normalize_ref(ref)


# ------------------------------------------------------------------ success paths


def test_competition_download_then_reuse_without_network(fake, tmp_path):
    progress = []
    ds = load_dataset(
        "kaggle:digit-recognizer",
        secrets=SECRETS,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert ds.source == "kaggle:digit-recognizer" and ds.n == 30 and ds.has_labels
    assert ds.name == "digit-recognizer.zip/train.csv (30 images)"
    folder = tmp_path / "downloads" / "competitions" / "digit-recognizer"
    assert (folder / "digit-recognizer.zip").is_file()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no partials
    # secrets went straight to the client; authenticate() (env/files only) was not called
    assert fake.calls == [("competition", "digit-recognizer", {"username": USER, "key": KEY})]
    assert progress and progress[-1] == (len(COMPETITION_ZIP), len(COMPETITION_ZIP))

    test = load_dataset("kaggle:digit-recognizer", part="test")  # reused: no creds needed
    assert test.n == 4 and not test.has_labels
    assert len(fake.calls) == 1


def test_env_credentials_use_authenticate(fake, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    folder = kaggle.download("digit-recognizer")
    assert folder == tmp_path / "downloads" / "competitions" / "digit-recognizer"
    assert fake.calls[0] == ("authenticate",)
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # the client's prints are captured


@pytest.mark.parametrize(
    "ref, members",
    [
        (
            "oddrationale/mnist-in-csv",
            {
                "mnist_train.csv": csv_text(IMAGES, LABELS),
                "mnist_test.csv": csv_text(IMAGES[:3], LABELS[:3]),
            },
        ),
        (
            "hojjatk/mnist-dataset",
            {
                "train-images.idx3-ubyte": idx_bytes(IMAGES),
                "train-labels.idx1-ubyte": idx_bytes(LABELS),
                "t10k-images.idx3-ubyte": idx_bytes(IMAGES[:3]),
                "t10k-labels.idx1-ubyte": idx_bytes(LABELS[:3]),
                "train-images-idx3-ubyte/train-images-idx3-ubyte": idx_bytes(IMAGES),
                "train-labels-idx1-ubyte/train-labels-idx1-ubyte": idx_bytes(LABELS),
            },
        ),
    ],
)
def test_dataset_downloads(fake, tmp_path, ref, members):
    fake.payload = zip_bytes(members)
    train = load_dataset(f"kaggle:{ref}", secrets={"KAGGLE_API_TOKEN": TOKEN})
    test = load_dataset(f"kaggle:{ref}", part="test")
    assert (train.n, test.n) == (30, 3) and train.source == f"kaggle:{ref}"
    assert fake.calls[0][:2] == ("dataset", ref) and fake.calls[0][2] == {"token": TOKEN}
    assert (tmp_path / "downloads" / "datasets" / ref / (ref.split("/")[1] + ".zip")).is_file()


# ------------------------------------------------------------------ error paths


def test_no_credentials_says_how_to_set_them_without_importing_the_client(fake, monkeypatch):
    monkeypatch.setattr(kaggle, "_kaggle_api_class", lambda: pytest.fail("client imported"))
    with pytest.raises(DataError) as info:
        load_dataset("kaggle:digit-recognizer")
    msg = str(info.value)
    assert msg.startswith("no Kaggle credentials found")
    for hint in (
        "KAGGLE_API_TOKEN",
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "kaggle.json",
        "secrets.toml",
        "https://www.kaggle.com/settings/api",
    ):
        assert hint in msg


def test_403_points_to_the_competition_rules(fake):
    fake.fail = http_error(403)
    with pytest.raises(DataError) as info:
        kaggle.download("digit-recognizer", secrets=SECRETS)
    msg = str(info.value)
    assert "HTTP 403" in msg and "https://www.kaggle.com/competitions/digit-recognizer/rules" in msg
    assert_no_secret(msg, "".join(traceback.format_exception(info.value)))


@pytest.mark.parametrize(
    "status, expected",
    [
        (401, "rejected the credentials"),
        (404, "no competition 'digit-recognizer'"),
        (500, "HTTP 500"),
    ],
)
def test_other_http_errors(fake, status, expected):
    fake.fail = http_error(status)
    with pytest.raises(DataError, match=expected):
        kaggle.download("digit-recognizer", secrets=SECRETS)


def test_no_network(fake):
    fake.fail = requests.exceptions.ConnectionError(
        f"HTTPSConnectionPool(host='api.kaggle.com', port=443): Max retries exceeded "
        f"(Caused by NameResolutionError) key={KEY}"
    )
    with pytest.raises(DataError) as info:
        kaggle.download("oddrationale/mnist-in-csv", secrets={"KAGGLE_API_TOKEN": TOKEN})
    msg = str(info.value)
    assert msg.startswith("cannot reach Kaggle") and "works offline" in msg
    assert_no_secret(msg)
    assert len(fake.calls) == 1 + kaggle.NETWORK_RETRIES  # tried again, then gave up


def no_direct_requests(monkeypatch):
    """The client's own retry re-requests the file with ``requests.request``, past our byte
    counter: fail the test if it does."""
    module = sys.modules[_real_client().__module__]
    monkeypatch.setattr(
        module.requests, "request", lambda *a, **k: pytest.fail("the client retried by itself")
    )


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "streamed"])
def test_a_connection_broken_mid_file_is_downloaded_again_whole(fake, monkeypatch, announce):
    no_direct_requests(monkeypatch)
    fake.broken, fake.announce = kaggle.NETWORK_RETRIES, announce
    folder = kaggle.download("digit-recognizer", secrets=SECRETS)
    assert len(fake.calls) == 1 + kaggle.NETWORK_RETRIES  # the last attempt got it whole
    assert (folder / "digit-recognizer.zip").read_bytes() == COMPETITION_ZIP
    assert [p.name for p in folder.iterdir()] == ["digit-recognizer.zip"]  # no resume markers


def test_a_retry_is_held_to_the_limit_too(fake, monkeypatch):
    """The first answer breaks; the second streams a file past the limit, unannounced."""
    no_direct_requests(monkeypatch)
    pad = bytes(range(256)) * 8_000  # ~2 MB
    fake.broken, fake.announce = 1, False
    fake.retry_payload = zip_bytes({"train.csv": csv_text(IMAGES, LABELS), "pad.bin": pad})
    limit = len(COMPETITION_ZIP) + 100
    with pytest.raises(DataError, match="went past .* limit"):
        kaggle.download("digit-recognizer", secrets=SECRETS, max_bytes=limit)
    assert len(fake.calls) == 2


def test_system_exit_from_authenticate_is_contained(fake, monkeypatch, capsys):
    monkeypatch.setenv("KAGGLE_USERNAME", USER)
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    fake.fail_authenticate = True
    with pytest.raises(DataError, match="did not accept the credentials from environment"):
        kaggle.download("digit-recognizer")
    assert capsys.readouterr().out == ""


def test_system_exit_while_importing_the_client(fake, monkeypatch):
    def exits():
        raise SystemExit(1)

    monkeypatch.setattr(kaggle, "_kaggle_api_class", exits)
    with pytest.raises(DataError, match="no usable credentials"):
        kaggle.download("digit-recognizer", secrets=SECRETS)


def test_client_not_installed(fake, monkeypatch):
    def missing():
        raise ImportError("No module named 'kaggle'")

    monkeypatch.setattr(kaggle, "_kaggle_api_class", missing)
    with pytest.raises(DataError, match="pip install kaggle==2.2.4"):
        kaggle.download("digit-recognizer", secrets=SECRETS)


def test_secrets_never_in_messages_logs_or_output(fake, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    fake.fail = RuntimeError(f"unexpected: token={TOKEN} key={KEY} user={USER}")
    for secrets in (SECRETS, {"KAGGLE_API_TOKEN": TOKEN}):
        with pytest.raises(DataError) as info:
            load_dataset("kaggle:digit-recognizer", secrets=secrets)
        assert "***" in str(info.value)
        assert_no_secret(
            str(info.value), repr(info.value), "".join(traceback.format_exception(info.value))
        )
    out, err = capsys.readouterr()
    assert_no_secret(out, err, caplog.text)


def test_failed_download_keeps_what_was_there(fake, tmp_path):
    folder = tmp_path / "downloads" / "competitions" / "digit-recognizer"
    kaggle.download("digit-recognizer", secrets=SECRETS)
    before = (folder / "digit-recognizer.zip").read_bytes()
    fake.fail = http_error(403)
    with pytest.raises(DataError):
        kaggle.download("digit-recognizer", secrets=SECRETS, force=True)
    assert (folder / "digit-recognizer.zip").read_bytes() == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["digit-recognizer"]


def test_download_without_mnist_files(fake):
    fake.payload = zip_bytes({"readme.md": "nothing here"})
    with pytest.raises(DataError, match="holds no MNIST file"):
        kaggle.download("someone/not-mnist", secrets=SECRETS)


def test_real_client_import_is_silent_without_credentials(tmp_path, monkeypatch, capfd):
    """The real kaggle package prints a help text at import without credentials."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle"))
    api_class = kaggle._kaggle_api_class()
    assert api_class.__name__ == "KaggleApi"
    for name in ("competition_download_files", "dataset_download_files", "authenticate"):
        assert callable(getattr(api_class, name))
    out, _ = capfd.readouterr()
    assert "Authentication required" not in out


def test_scrub_masks_patterns_but_keeps_instructions():
    text = f"url?token={TOKEN} headers={{'Authorization': 'Bearer {TOKEN}'}} key: {KEY}"
    assert_no_secret(kaggle.scrub(text))
    assert kaggle.scrub(kaggle.HOW_TO_SET) == kaggle.HOW_TO_SET


def test_401_message_is_intact_and_clean(fake):
    fake.fail = http_error(401)
    with pytest.raises(DataError) as info:
        kaggle.download("digit-recognizer", secrets=SECRETS)
    assert "KAGGLE_USERNAME and KAGGLE_KEY" in str(info.value)
    assert_no_secret(str(info.value))


# ------------------------------------------------------------------ size limit while downloading


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "streamed"])
def test_a_download_over_the_limit_is_stopped_and_nothing_is_kept(
    fake, tmp_path, monkeypatch, announce
):
    pad = bytes(range(256)) * 40_000  # ~10 MB: several of the client's 1 MB chunks
    fake.payload = zip_bytes({"train.csv": csv_text(IMAGES, LABELS), "pad.bin": pad})
    fake.announce = announce
    limit = len(fake.payload) - 1
    written = []
    real_open = builtins.open

    def spying_open(path, mode="r", *args, **kwargs):  # counts the bytes written to files
        f = real_open(path, mode, *args, **kwargs)
        if "b" in mode and ("w" in mode or "a" in mode):
            write = f.write
            f.write = lambda b: written.append(len(b)) or write(b)
        return f

    monkeypatch.setattr(builtins, "open", spying_open)
    with pytest.raises(DataError) as e:
        kaggle.download("digit-recognizer", secrets=SECRETS, max_bytes=limit)
    monkeypatch.setattr(builtins, "open", real_open)
    verb = "is" if announce else "went past"
    assert str(e.value).startswith(f"the Kaggle download of 'digit-recognizer' {verb} ")
    assert (
        f"more than this server's limit of {limit / 2**20:,.1f} MB (NNMATH_MAX_UPLOAD_MB)"
        in str(e.value)
    )
    if announce:
        assert sum(written) == 0  # refused by its Content-Length, before a byte was written
    else:
        assert sum(written) <= limit  # cut off at the first chunk past the limit
    downloads = tmp_path / "downloads"
    assert not [p for p in downloads.rglob("*") if p.is_file()]  # nothing kept, no partials
    # within the limit the same file downloads
    assert kaggle.download("digit-recognizer", secrets=SECRETS, max_bytes=len(fake.payload))


def test_the_data_page_limit_reaches_the_download(fake):
    fake.payload = COMPETITION_ZIP
    with pytest.raises(DataError, match="more than this server's limit of 0.0 MB"):
        load_dataset("kaggle:digit-recognizer", secrets=SECRETS, max_bytes=10)

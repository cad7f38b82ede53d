"""The Data page's Kaggle download, through the router, up to the network call: missing
credentials give a message that says how to set them and lose nothing; with credentials in
Streamlit secrets the download (a fake client writing Kaggle's layout) becomes the dataset, and
the key is shown nowhere."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import data
import data.loading
from data import kaggle
from tests.data.helpers import csv_text, digits
from tests.data.test_kaggle import kaggle_response

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
KEY = "k3y-SeCrEt-0123456789abcdef"
IMAGES, LABELS = digits(40)


def competition_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("train.csv", csv_text(IMAGES, LABELS))
        z.writestr("test.csv", csv_text(IMAGES[:5]))
    return buf.getvalue()


class FakeApi(kaggle._kaggle_api_class()):
    """kaggle 2.2.4's KaggleApi with its network calls replaced: the competition zip arrives
    through the real client's download_file."""

    downloads: list = []
    payload: bytes | None = None

    def __init__(self):  # the real one reads the user's config files
        self.config_values = {}

    def authenticate(self):
        pass

    def competition_download_files(self, competition, path=None, force=False, quiet=True):
        type(self).downloads.append(competition)
        payload = self.payload or competition_zip()
        outfile = str(Path(path, f"{competition}.zip"))
        self.download_file(kaggle_response(payload), outfile, None, quiet, not force)


@pytest.fixture
def no_credentials_anywhere(monkeypatch, tmp_path):
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    downloads = tmp_path / "downloads"
    monkeypatch.setattr(data.loading, "DOWNLOAD_DIR", downloads)
    monkeypatch.setattr(data, "DOWNLOAD_DIR", downloads)
    FakeApi.downloads, FakeApi.payload = [], None
    monkeypatch.setattr(kaggle, "_kaggle_api_class", lambda: FakeApi)
    return downloads


def data_page(secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (secrets or {}).items():
        at.secrets[k] = v
    at.switch_page("pages/1_data.py").run()
    at.radio(key="data_source").set_value("kaggle").run()
    assert not at.exception, at.exception
    return at


def all_text(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "info", "error", "success", "warning", "caption")
        for e in at.get(kind)
        if isinstance(getattr(e, "value", None), str)
    ]
    parts += [s.value for s in at.subheader] + [str(at.query_params)]
    return "\n".join(parts)


def test_download_without_credentials_is_disabled_with_one_plain_line_and_no_path(
    no_credentials_anywhere,
):
    at = data_page()
    said = " ".join(i.value for i in at.info)
    assert "Kaggle downloads are not set up on this server" in said
    assert "~/" not in said and ".streamlit" not in said and "secrets.toml" not in said
    assert at.button(key="kaggle_download").disabled  # nothing a student can do with it
    assert FakeApi.downloads == []  # never got to the network
    assert at.query_params["data"] == "sample"
    assert at.subheader[0].value.startswith("MNIST sample")


def test_download_with_secrets_becomes_the_dataset_and_never_shows_the_key(no_credentials_anywhere):
    at = data_page({"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": KEY})
    assert not any("not set up on this server" in i.value for i in at.info)
    assert not at.button(key="kaggle_download").disabled
    at.button(key="kaggle_download").click().run()
    assert not at.exception, at.exception
    assert FakeApi.downloads == ["digit-recognizer"]
    assert at.query_params["data"] == "competitions/digit-recognizer/digit-recognizer.zip"
    assert "train.csv (40 images)" in at.subheader[0].value, at.subheader[0].value
    assert (no_credentials_anywhere / "competitions" / "digit-recognizer").is_dir()
    assert KEY not in all_text(at)


def test_a_download_larger_than_the_upload_limit_is_refused_and_the_dataset_kept(
    no_credentials_anywhere, monkeypatch
):
    monkeypatch.setenv("NNMATH_MAX_UPLOAD_MB", "1")
    FakeApi.payload = competition_zip() + bytes(2 * 1024 * 1024)  # a zip with 2 MB of junk after
    at = data_page({"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": KEY})
    before = at.subheader[0].value
    at.button(key="kaggle_download").click().run()
    assert not at.exception, at.exception
    assert FakeApi.downloads == ["digit-recognizer"]
    (error,) = [e.value for e in at.error]
    assert error.startswith(
        "Kaggle download failed, so the previous dataset stays selected. The Kaggle download of "
        f"'digit-recognizer' is {len(FakeApi.payload) / 2**20:.1f} MB, more than this server's "
        "limit of 1.0 MB "
        "(NNMATH_MAX_UPLOAD_MB), so nothing was kept"
    ), error
    assert at.subheader[0].value == before and at.query_params["data"] == "sample"
    assert not [p for p in no_credentials_anywhere.rglob("*") if p.is_file()]

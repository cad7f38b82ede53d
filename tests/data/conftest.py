"""Data tests write every file they load into tmp_path; the compact cache goes there too."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NNMATH_DATA_CACHE", str(tmp_path_factory.mktemp("data-cache")))
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    yield

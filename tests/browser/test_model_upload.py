"""A model file uploaded through the Data page's real file uploader becomes the current run:
the URL names it, Evaluate shows it without training curves, a bad file changes nothing."""

from __future__ import annotations

import io

import pytest

import nnmath
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def model_file(path, hidden=9, seed=1):
    buffer = io.BytesIO()
    nnmath.save_model(buffer, nnmath.init_params(hidden, seed))
    path.write_bytes(buffer.getvalue())
    return path


def upload(page, app_url, path):
    page.goto(f"{app_url}/data")
    page.get_by_text("A model trained elsewhere").first.wait_for()
    wait_for_app(page)
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Upload a model")
    uploader.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_role("button", name="Use this model").click()


def test_an_uploaded_model_is_shown_on_evaluate_without_curves(page, app_url, tmp_path):
    good = model_file(tmp_path / "mine.npz")
    upload(page, app_url, good)
    page.get_by_text("In use: uploaded model upload-").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    assert "model=upload-" in page.url
    page.goto(page.url.replace("/data?", "/evaluate?"))
    page.get_by_text("no training curves").first.wait_for()
    wait_for_app(page)
    page.get_by_role("tab", name="Confidence").click()  # drawn only when opened
    page.get_by_text("Can you trust the percentages?").first.wait_for()
    wait_for_app(page)
    assert_no_exception(page)
    page.get_by_text("hidden 9 · relu").first.wait_for()
    screenshot(page, "evaluate-uploaded-model")


def test_a_bad_model_file_says_why_and_changes_nothing(page, app_url, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x80\x04 a pickle, not a model")
    upload(page, app_url, bad)
    page.get_by_text("Could not use bad.npz as a model, so nothing changed").first.wait_for()
    page.get_by_text("never loaded (it could run code)").first.wait_for()
    assert "model=" not in page.url

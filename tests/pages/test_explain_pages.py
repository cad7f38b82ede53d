"""Draw and Why through the router (AppTest): the pad's image read by the current run, the drawn
digit kept for other pages, Why's exact explanation of a dev image with its permalink, and the
Mistakes page's link to it. The drawing pad (a browser component) is replaced by a stand-in that
returns what the real one does: an RGBA picture of the pad; tests/browser/ draws on the real one."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import nnmath
from data import from_drawing
from tests.helpers import app_sample_run, decode
from views import explain as views

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
ITER = "60"


def charts(at) -> list[dict]:
    return [decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def texts(at) -> str:
    kinds = ("markdown", "success", "info", "warning", "error", "caption")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def app(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in {"iterations": ITER, **query}.items():
        at.query_params[k] = str(v)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return app_sample_run(tmp_path_factory.mktemp("runs"), int(ITER))


def pad_picture(digit: np.ndarray) -> np.ndarray:
    """What the pad returns for a digit drawn large: RGBA 280x280, white ink on opaque black."""
    big = np.kron(digit, np.ones((8, 8))).astype(np.uint8)
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[30:254, 40:264, :3] = big[..., None]
    return rgba


@pytest.fixture
def fake_pad(monkeypatch):
    """A stand-in for streamlit_drawable_canvas: st_canvas returns ``picture['image']``."""
    picture = {"image": None, "calls": []}

    class Result:
        def __init__(self, image):
            self.image_data = image
            self.image_bytes = None if image is None else image.tobytes()

    def st_canvas(**kwargs):
        picture["calls"].append(kwargs)
        return Result(picture["image"])

    module = types.ModuleType("streamlit_drawable_canvas")
    module.st_canvas = st_canvas
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", module)
    return picture


def test_draw_page_shows_an_empty_pad_and_asks_for_a_digit(fake_pad):
    at = app("pages/9_draw.py")
    assert at.title[0].value == "Draw"
    assert "Draw a digit on the pad" in texts(at)
    kwargs = fake_pad["calls"][-1]
    assert kwargs["return_image_data"] is True and kwargs["width"] == kwargs["height"] == 280
    assert kwargs["stroke_color"] == "#FFFFFF" and kwargs["background_color"] == "#000000"
    assert at.button(key="clear_pad").label == "Clear"


def test_a_drawing_is_read_by_the_current_run_and_kept_for_other_pages(fake_pad, run):
    result, dev = run
    digit = dev.images[7]
    fake_pad["image"] = pad_picture(digit)
    at = app("pages/9_draw.py")
    seen = from_drawing(fake_pad["image"]).image
    np.testing.assert_array_equal(at.session_state["drawn_digit"], seen)
    specs = charts(at)
    np.testing.assert_array_equal(np.array(specs[0]["data"][0]["z"]), seen)  # the 28x28 view
    probs = nnmath.predict_proba(result.params, seen[None])[0]
    pred = int(np.argmax(probs))
    assert f"It reads **{pred}** ({probs[pred]:.0%})" in texts(at)
    np.testing.assert_allclose(specs[1]["data"][0]["y"], probs, rtol=1e-6)
    hidden = views.look(result.params, seen).hidden
    np.testing.assert_allclose(specs[2]["data"][0]["y"], hidden, rtol=1e-6)
    link = at.get("page_link")[-1].proto
    assert link.page == "why" and "image=drawn" in link.query_string


def test_take_a_dev_image_instead_then_clear(fake_pad, run):
    result, dev = run
    at = app("pages/9_draw.py")
    at.button(key="take_dev").click().run()
    assert not at.exception
    source = at.session_state["draw_source"]
    assert isinstance(source, int)
    assert f"dev image {source} (true digit {int(dev.labels[source])})" in json.dumps(charts(at)[0])
    at.button(key="clear_pad").click().run()
    assert not at.exception and at.session_state["draw_source"] == "pad"
    assert "Draw a digit on the pad" in texts(at)


def test_why_explains_a_mistake_exactly_and_its_url_is_a_permalink(run):
    result, dev = run
    ev = nnmath.predict_proba(result.params, dev.images)
    wrong = int(np.flatnonzero(ev.argmax(axis=1) != dev.labels)[0])
    pred, true = int(ev[wrong].argmax()), int(dev.labels[wrong])
    at = app("pages/10_why.py", image=wrong)
    assert at.title[0].value == "Why?"
    # a mistake: the prediction versus the true digit, written back to the URL
    assert (at.query_params["target"], at.query_params["versus"]) == (str(pred), str(true))
    assert at.query_params["image"] == str(wrong) and at.query_params["iterations"] == ITER
    e = nnmath.explain(result.params, dev.images[wrong], pred, true)
    success = at.success[0].value
    assert success == "Completeness: " + views.completeness_sentence(e)
    assert float(re.search(r"difference (\d[-+.e\d]*)", success).group(1)) < 1e-9
    specs = charts(at)
    np.testing.assert_allclose(np.array(specs[1]["data"][0]["z"]), e.pixels.reshape(28, 28))
    np.testing.assert_allclose(specs[2]["data"][0]["y"], e.hidden)
    cf = nnmath.counterfactual(result.params, dev.images[wrong], true)
    assert f"What would make it answer {true}?" in [s.value for s in at.subheader]
    switched = views.switched_units(result.params, dev.images[wrong], cf.x)
    assert views.counterfactual_sentence(cf, switched) in texts(at)
    np.testing.assert_allclose(np.array(specs[-2]["data"][0]["z"]), cf.change.reshape(28, 28))


def test_why_follows_a_link_with_a_pair_and_the_widgets_change_the_url(run):
    result, dev = run
    at = app("pages/10_why.py", image=3, target=2, versus=5)
    assert at.selectbox(key="why_target").value == 2 and at.selectbox(key="why_versus").value == 5
    e = nnmath.explain(result.params, dev.images[3], 2, 5)
    assert views.completeness_sentence(e) in at.success[0].value
    at.selectbox(key="why_versus").set_value(8).run()
    assert not at.exception and at.query_params["versus"] == "8"
    # another image: its own default pair
    at.selectbox(key="why_image").set_value(4).run()
    probs = nnmath.predict_proba(result.params, dev.images[4:5])[0]
    target, versus = views.default_pair(probs, int(dev.labels[4]))
    assert at.query_params["image"] == "4"
    assert (at.query_params["target"], at.query_params["versus"]) == (str(target), str(versus))


def test_why_without_a_drawing_falls_back_to_a_dev_image_and_says_so():
    at = app("pages/10_why.py", image="drawn")
    assert "No digit drawn in this session yet" in texts(at)
    assert at.query_params["image"] == "0"


def test_why_explains_the_drawn_digit(fake_pad, run):
    result, dev = run
    fake_pad["image"] = pad_picture(dev.images[11])
    at = app("pages/9_draw.py")
    at.switch_page("pages/10_why.py").run()
    assert not at.exception
    assert at.selectbox(key="why_image").value == "drawn" and at.query_params["image"] == "drawn"
    drawn = at.session_state["drawn_digit"]
    target, versus = views.default_pair(views.look(result.params, drawn).probs)
    e = nnmath.explain(result.params, drawn, target, versus)
    assert views.completeness_sentence(e) in at.success[0].value


def test_mistakes_links_the_picked_image_to_why():
    at = app("pages/4_mistakes.py")
    link = [p.proto for p in at.get("page_link") if p.proto.page == "why"][0]
    picked = at.selectbox(key="picked").value
    assert f"image={picked}" in link.query_string and link.label.startswith("Why ")


def test_why_on_a_sigmoid_run_says_in_plain_words_why_it_cannot_explain():
    at = app("pages/10_why.py", iterations="20", activation="sigmoid")
    said = "\n".join(e.value for e in at.info)
    assert "sigmoid activation, which is curved" in said and "with ReLU" in said
    assert "one of [" not in said and "piecewise" not in said and "'sigmoid'" not in said
    assert views.cannot_explain("relu") is None and views.cannot_explain("identity") is None

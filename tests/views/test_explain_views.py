"""Why-page figures and sentences, built from real explanations, without Streamlit."""

import re
from decimal import Decimal

import numpy as np
import pytest

import nnmath
from tests.helpers import decode
from views import explain as views


@pytest.fixture(scope="module")
def params():
    p = nnmath.init_params(12, 5, init="he", dtype="float32")
    return nnmath.Params(p.W1, p.b1 + 0.2, p.W2, p.b2)


@pytest.fixture(scope="module")
def image():
    img = np.zeros((28, 28), np.uint8)
    img[5:23, 12:16] = 255  # a bar, roughly a 1
    img[5:8, 9:13] = 180
    return img


@pytest.fixture(scope="module")
def w(params, image):
    return views.why(params, image)


def test_default_pair_is_prediction_vs_runner_up_or_vs_the_true_digit():
    probs = np.array([0.05, 0.6, 0.02, 0.03, 0.2, 0.02, 0.02, 0.02, 0.02, 0.02])
    assert views.default_pair(probs) == (1, 4)
    assert views.default_pair(probs, true=1) == (1, 4)  # right: runner-up
    assert views.default_pair(probs, true=7) == (1, 7)  # a mistake: vs the truth
    # ties (a network whose units all died answers 10% for every digit): the prediction is the
    # first of them, as argmax and the page's "It answers" say, not the last
    tied = np.full(10, 0.1, dtype=np.float32)
    assert views.default_pair(tied) == (0, 1)
    assert views.default_pair(tied, true=4) == (int(tied.argmax()), 4)


def test_why_explains_the_pair_and_flips_toward_the_alternative(w, params, image):
    probs = nnmath.predict_proba(params, image[None])[0]
    assert (w.target, w.versus) == views.default_pair(probs)
    assert (w.explanation.target, w.explanation.versus) == (w.target, w.versus)
    assert w.counterfactual.target == w.versus and w.counterfactual.flipped
    same = views.why(params, image, target=3, versus=3)  # a link naming one digit twice
    assert same.target == 3 and same.versus != 3


def test_completeness_sentences_show_every_number(w):
    e = w.explanation
    s = views.completeness_sentence(e)
    pixels = e.pixels.sum()
    # plain words first, then the numbers; the tiny difference is called rounding
    assert s.startswith("the pixels' shares and the bias add up to the score difference exactly: ")
    assert f"pixels + bias = {pixels:.3f} " in s
    assert f"= {pixels + e.bias:.3f} = z{e.target} − z{e.versus} = {e.total:.3f} (difference " in s
    diff = pixels + e.bias - e.total
    if diff:
        assert s.endswith(f"(difference {abs(diff):.0e}, i.e. rounding)")
        assert abs(diff) < 1e-9
    h = views.hidden_sentence(e)
    assert h.startswith("The hidden units' shares and the output bias add up exactly too: ")
    assert f"hidden units + output bias = {e.hidden.sum():.3f} " in h


def test_pixel_heatmap_is_the_shares_on_a_centred_scale_labelled_by_digit(w):
    e = w.explanation
    fig = views.pixel_heatmap(e)
    hm = decode(fig.to_plotly_json()["data"][0])
    np.testing.assert_allclose(np.array(hm["z"]), e.pixels.reshape(28, 28))
    assert hm["zmin"] == -hm["zmax"] and hm["zmid"] == 0 and hm["zmax"] == np.abs(e.pixels).max()
    assert hm["colorbar"]["ticktext"] == [f"→ {e.versus}", "0", f"→ {e.target}"]
    assert fig.layout.yaxis.autorange == "reversed"  # upright digit
    assert f"toward {e.target} (red) vs {e.versus} (blue)" in fig.layout.title.text


def test_hidden_bars_and_the_waterfall_add_up(w):
    e = w.explanation
    bars = views.hidden_bars(e)
    np.testing.assert_allclose(decode(bars.to_plotly_json()["data"][0])["y"], e.hidden)
    off = [t for t, a in zip(bars.data[0].text, e.active) if a == 0]
    assert all(t == "off" for t in off)
    fall = views.parts_waterfall(e).data[0]
    y = list(fall.y)
    assert y[0] + y[1] + y[2] == pytest.approx(y[3], abs=1e-9) and y[3] == e.total
    assert list(fall.measure) == ["relative", "relative", "relative", "total"]


def test_counterfactual_figures_and_sentence(w):
    cf = w.counterfactual
    change = decode(views.change_heatmap(cf).to_plotly_json()["data"][0])
    np.testing.assert_allclose(np.array(change["z"]), cf.change.reshape(28, 28))
    assert change["colorbar"]["ticktext"] == ["ink removed", "0", "ink added"]
    img = decode(views.changed_image(cf).to_plotly_json()["data"][0])
    np.testing.assert_allclose(np.array(img["z"]), cf.x.reshape(28, 28) * 255)
    bars = views.before_after_bars(w.probs, cf.probs, cf.target)
    data = [decode(t, nan_as_none=True) for t in bars.to_plotly_json()["data"]]
    after = [a if a is not None else t for a, t in zip(data[1]["y"], data[2]["y"])]
    np.testing.assert_allclose(after, cf.probs)
    # the target's bar is red and has its own legend entry; the other "after" bars are blue
    assert (
        data[2]["name"] == f"after, digit {cf.target}"
        and data[2]["marker"]["color"] == views.TOWARD
    )
    assert [y is not None for y in data[2]["y"]] == [d == cf.target for d in range(10)]
    assert data[1]["offsetgroup"] == data[2]["offsetgroup"]  # side by side with "before"
    assert bars.layout.uniformtext.minsize >= 11 and bars.layout.uniformtext.mode == "show"
    s = views.counterfactual_sentence(cf)
    assert f"and it answers {cf.target} (" in s and f"distance {cf.distance:.3f}" in s
    bound = re.search(r"beats every other digit's by (\S+) or more", s).group(1)
    assert float(bound) <= min(cf.lead, cf.lead_run_dtype) and cf.lead >= cf.margin


def test_look_and_activation_bars(params, image):
    seen = views.look(params, image)
    X = nnmath.scale_pixels(image.reshape(1, 784), params.dtype)
    np.testing.assert_allclose(seen.hidden, nnmath.forward_propagation(params, X).A1[0])
    fig = views.activation_bars(seen.hidden)
    assert f"{int((seen.hidden > 0).sum())} of 12 on" in fig.layout.title.text


def test_look_and_why_use_the_runs_activation(params, image):
    X = nnmath.scale_pixels(image.reshape(1, 784), params.dtype)
    for act in ("tanh", "identity"):
        seen = views.look(params, image, activation=act)
        cache = nnmath.forward_propagation(params, X, activation=act)
        np.testing.assert_array_equal(seen.probs, cache.A2[0])
        np.testing.assert_array_equal(seen.hidden, cache.A1[0])
    assert not np.array_equal(
        views.look(params, image, activation="tanh").probs, views.look(params, image).probs
    )
    e = views.why(params, image, activation="identity").explanation
    z = nnmath.forward_propagation(params, X.astype(np.float64), activation="identity").Z2[0]
    assert e.total == pytest.approx(z[e.target] - z[e.versus], rel=1e-5)
    relu = nnmath.forward_propagation(params, X.astype(np.float64)).Z2[0]
    assert e.total != pytest.approx(relu[e.target] - relu[e.versus], rel=1e-3)
    with pytest.raises(ValueError, match="piecewise linear"):
        views.why(params, image, activation="tanh")


def _number(text: str) -> Decimal:
    return Decimal(text.replace("−", "-").replace("+", ""))


@pytest.fixture(scope="module")
def many(params):
    """Explanations of several images and pairs: at 3 decimals for all, about one in four of
    them had a sum whose written parts missed its written total by 0.001."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(8, 28, 28)).astype(np.uint8) * (
        rng.random((8, 28, 28)) < 0.3
    )
    return [
        nnmath.explain(params, image.astype(np.uint8), target, versus)
        for image in images
        for target, versus in ((0, 1), (2, 7), (5, 3))
    ]


def test_every_sum_on_the_why_page_adds_up_as_written(many):
    """Each sum the page writes holds for the digits it writes (with the fewest decimals from 3
    to 5 that make all of them hold), or, where none does, the sentence says what its written
    parts add up to."""
    sums = re.compile(r"= (\S+) ([+−]) (\S+) = (\S+) = z\d − z\d = (\S+) \(")
    remark = re.compile(r"as written, rounded to (\d) decimals, the two add up to (\S+?)\)")
    remarks = 0
    for e in many:
        d = views.decimals(e)
        assert 3 <= d <= views.MOST_DECIMALS
        for sentence in (views.completeness_sentence(e), views.hidden_sentence(e)):
            a, sign, b, middle, total = sums.search(sentence).groups()
            written = _number(a) + (_number(b) if sign == "+" else -_number(b))
            assert _number(middle) == _number(total), sentence
            said = remark.search(sentence)
            if said is None:
                assert written == _number(total), sentence
            else:
                remarks += 1
                assert int(said.group(1)) == d and _number(said.group(2)) == written != _number(
                    total
                )
        bias_sentence = views.bias_sentence(e)
        bias, hidden_bias, output_bias = re.findall(r"[+-]\d+\.\d+", bias_sentence)[:3]
        said = remark.search(bias_sentence)
        parts = _number(hidden_bias) + _number(output_bias)
        assert parts == (_number(said.group(2)) if said else _number(bias)), bias_sentence
        fall = views.parts_waterfall(e)
        labels = [_number(t) for t in fall.data[0].text]
        subtitle = fall.layout.title.subtitle.text
        if subtitle is None:
            assert sum(labels[:3]) == labels[3], labels
        else:
            assert subtitle.endswith(f"add up to {sum(labels[:3])}") and d == 3
        answer = re.search(r"= \*\*(\S+)\*\*", views.answer_sentence(e, np.full(10, 0.1), None))
        assert _number(answer.group(1)) == labels[3]  # the same total everywhere on the page
    # the fewest decimals that add up: 3 for most, more only where 3 would not
    assert min(views.decimals(e) for e in many) == 3 < max(views.decimals(e) for e in many)
    assert remarks < len(many)  # the exception


def test_counterfactual_counts_every_changed_pixel_and_writes_the_answer_above_the_rest(w):
    cf = w.counterfactual
    s = views.counterfactual_sentence(cf)
    found = re.search(r"Change (\d+) pixels by more than 0\.01(?: \((\d+) more by less\))?", s)
    assert found, s
    moved, slight = int(found.group(1)), int(found.group(2) or 0)
    assert moved == int((np.abs(cf.change) > 0.01).sum())
    assert moved + slight == int((cf.change != 0).sum())  # every pixel the change map colours
    # just past the boundary the two best are close: written apart, the answer above
    answer, other = re.search(rf"answers {cf.target} \((\S+)%, ahead of \d at (\S+)%", s).groups()
    assert Decimal(answer) > Decimal(other)
    bars = views.before_after_bars(w.probs, cf.probs, cf.target)
    shown = [t for trace in bars.data[1:] for t in trace.text if t]
    assert f"{answer}%" in shown
    assert all(Decimal(t.rstrip("%")) < Decimal(answer) for t in bars.data[1].text if t)


def test_where_no_decimals_up_to_5_add_up_the_page_says_what_the_written_parts_make(w):
    """pixels = bias = 0.444444449, total 0.888888898: at 3, 4 and 5 decimals the two parts are
    written 0.444 + 0.444 under 0.889 (and so on). The page then keeps 3 decimals and says what
    the written parts add up to, in the sentence and on the waterfall."""
    import dataclasses

    a = 0.444444449
    pixels = np.zeros(784)
    pixels[0] = a
    hidden = np.zeros_like(w.explanation.hidden)
    hidden[0] = 2 * a
    e = dataclasses.replace(
        w.explanation, pixels=pixels, bias=a, output_bias=0.0, total=2 * a, hidden=hidden
    )
    assert views.decimals(e) == 3
    s = views.completeness_sentence(e)
    assert "pixels + bias = 0.444 + 0.444 = 0.889 = " in s
    assert s.endswith("; as written, rounded to 3 decimals, the two add up to 0.888)")
    assert "as written" not in views.hidden_sentence(e)  # 0.889 + 0.000 = 0.889 holds
    assert "as written" not in views.bias_sentence(e)
    fall = views.parts_waterfall(e)
    assert list(fall.data[0].text) == ["+0.444", "+0.444", "+0.000", "0.889"]
    assert fall.layout.title.subtitle.text == "the three labels, rounded, add up to 0.888"


def test_the_counterfactuals_lead_is_a_lower_bound_rounded_down(w):
    """A lead of 0.0010071 logits was written 'by 0.00101 or more', more than it is."""
    import dataclasses

    cf = dataclasses.replace(w.counterfactual, lead=0.0010071, lead_run_dtype=0.0012)
    assert "beats every other digit's by 0.001 or more" in views.counterfactual_sentence(cf)
    assert views._at_least(0.0010071) == "0.001" and views._at_least(2.3459) == "2.34"
    assert views._at_least(0.5) == "0.5" and views._at_least(1234.9) == "1.23e+03"
    # a lead a hair under the aim (the float's exact value): not written as the aim itself
    assert views._at_least(0.001009999999998179) == "0.001"
    assert views._at_least(0.1) == "0.1" and views._at_least(2.0) == "2"


def test_the_counterfactual_says_which_hidden_units_it_switches(params, image, w):
    """The search may settle in another on/off pattern than the image's; then 'the nearest among
    those that switch the same hidden units on' was not true of the original's pattern."""
    x = image.reshape(-1) / 255.0
    cf = w.counterfactual
    on = lambda v: (v @ params.W1.astype(float) + params.b1) > 0  # noqa: E731
    assert w.switched == tuple(np.flatnonzero(on(x) != on(cf.x)))
    one = views.counterfactual_sentence(cf, (20,))
    assert "(it switches hidden unit 20 on or off, unlike the original)" in one
    two = views.counterfactual_sentence(cf, (3, 8))
    assert "(it switches hidden units 3, 8 on or off, unlike the original)" in two
    same = views.counterfactual_sentence(cf, ())
    assert "(the same hidden units on as the original)" in same
    assert "original" not in views.counterfactual_sentence(cf)  # not known: nothing claimed

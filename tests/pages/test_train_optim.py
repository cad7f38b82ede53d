"""The Train page's advanced settings beyond plain gradient descent: widgets -> URL -> run."""

from __future__ import annotations

from tests.pages.test_pages import ITER, app, metric, reference
from views.format import pct


def test_choosing_adam_puts_it_in_the_url_and_trains_that_run(calls):
    at = app("pages/2_train.py", iterations=ITER)
    assert "optimizer" not in at.query_params
    at.selectbox(key="w_optimizer").set_value("adam").run()
    assert at.query_params["optimizer"] == "adam"
    assert at.number_input(key="w_beta1").value == 0.9  # Adam's own settings appear
    at.select_slider(key="w_alpha").set_value(0.01).run()
    at.button(key="train").click().run()
    assert not at.exception, at.exception
    result, _ = reference(int(ITER), optimizer="adam", alpha=0.01)
    assert result.config.optimizer == "adam"
    assert metric(at, "Dev accuracy") == pct(result.dev_accuracy)


def test_a_link_with_weight_decay_and_dropout_says_what_the_loss_is():
    at = app(
        "pages/2_train.py", iterations=ITER, optimizer="momentum", weight_decay="0.001",
        dropout="0.2",
    )  # fmt: skip
    at.button(key="train").click().run()
    assert not at.exception, at.exception
    loss = next(m for m in at.metric if m.label == "Loss")
    assert "without the L2 penalty" in loss.help and "dropout" in loss.help
    assert at.select_slider(key="w_dropout").value == 0.2


def test_an_out_of_range_setting_in_a_link_is_a_clear_warning(calls):
    at = app("pages/2_train.py", iterations=ITER, dropout="1.5")
    assert any(
        "dropout='1.5' is not used: dropout must be in [0, 1)" in w.value for w in at.warning
    )
    assert calls["gradient_descent"] == 0
    # values each in bounds but not together (shift moves at most 14 pixels)
    at = app("pages/2_train.py", iterations=ITER, augment="shift", augment_level="20")
    assert any("augment_level must be in [0, 14]" in w.value for w in at.warning)
    assert "augment" not in at.query_params


def test_the_math_page_shows_one_weights_adam_update_with_the_runs_state():
    at = app("pages/11_math.py", iterations=ITER, optimizer="adam", alpha="0.01", at="50")
    assert not at.exception, at.exception
    latex = "\n".join(e.value for e in at.latex)
    assert r"\hat m" in latex and r"m_{\text{before}}" in latex
    assert any("m and v are the run's own running means" in m.value for m in at.markdown)

"""Issue 21's first visit: no placeholder where a value is set, no raw nan/None, no empty box
without a word (AppTest, embedded sample)."""

from __future__ import annotations

from tests.pages.test_pages import ITER, app


def shown(box) -> str | None:
    """What a select box shows: its option's label, or None for its placeholder."""
    return None if box.index is None else box.options[box.index]


def test_full_batch_reads_full_batch_not_a_placeholder():
    at = app("pages/2_train.py", iterations=ITER)
    box = at.selectbox(key="w_batch_size")
    assert shown(box) == "full batch (notebook)"
    box.select_index(2).run()  # a mini-batch, then back to the full batch
    assert at.query_params["batch"] == box.options[2].replace(",", "")
    at.selectbox(key="w_batch_size").select_index(0).run()
    assert "batch" not in at.query_params
    assert shown(at.selectbox(key="w_batch_size")) == "full batch (notebook)"


def test_mistakes_from_evaluates_link_says_any_digit():
    at = app("pages/4_mistakes.py", iterations=ITER, true="any", pred="any", min_conf="0.90")
    assert shown(at.selectbox(key="filter_true")) == "any"
    assert shown(at.selectbox(key="filter_pred")) == "any"
    at = app("pages/4_mistakes.py", iterations=ITER, true="3", pred="5")
    assert shown(at.selectbox(key="filter_true")) == "3"
    assert shown(at.selectbox(key="filter_pred")) == "5"
    at.selectbox(key="filter_true").set_value("any").run()
    assert "true" not in at.query_params and at.query_params["pred"] == "5"

"""The Glossary page (AppTest): every term under its own anchor with its formula; the search box."""

from __future__ import annotations

from tests.pages.test_pages import app
from views.glossary import NO_FORMULA, TERMS


def test_every_term_is_shown_under_its_anchor_with_its_formula():
    at = app("pages/20_glossary.py")
    headings = {h.proto.anchor: h.value for h in at.subheader}
    assert headings == {k: t.name for k, t in TERMS.items()}
    shown = {e.value.removeprefix("$$\n").removesuffix("\n$$") for e in at.latex}
    assert shown == {t.formula for t in TERMS.values() if t.formula != NO_FORMULA}


def test_the_search_box_keeps_the_matching_terms():
    at = app("pages/20_glossary.py")
    at.text_input(key="glossary_find").input("calibration").run()
    anchors = [h.proto.anchor for h in at.subheader]
    assert "calibration" in anchors and "ece" in anchors and "relu" not in anchors
    at.text_input(key="glossary_find").input("zzz").run()
    assert not at.subheader and "No term mentions" in at.info[0].value


def test_home_and_train_metrics_carry_the_glossary_tooltip():
    from views import glossary

    at = app(None, iterations="60")
    at.button(key="home_train").click().run()
    helps = {m.label: m.proto.help for m in at.metric}
    assert helps["Dev accuracy"] == glossary.help("dev-accuracy")
    assert helps["Loss"] == glossary.help("loss")

"""The glossary: every term has plain words and a formula (or says it has none), every term a
page asks for exists, and the Glossary page shows each under its own anchor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from views import glossary
from views.glossary import NO_FORMULA, TERMS

ROOT = Path(__file__).resolve().parents[2]
# The terms issue 21 names, by key: the glossary must keep them.
REQUIRED = [
    "dev-set",
    "train-set",
    "logit",
    "softmax",
    "loss",
    "cross-entropy",
    "relu",
    "hidden-unit",
    "alpha",
    "iteration",
    "epoch",
    "gradient",
    "ece",
    "mce",
    "nll",
    "brier",
    "temperature",
    "calibration",
    "reliability-diagram",
    "completeness",
    "attribution",
    "counterfactual",
    "dead-unit",
    "confusion-matrix",
    "precision",
    "recall",
    "f1",
    "seed",
    "batch",
    "divergence",
]


def test_the_issues_terms_are_all_there():
    assert not [k for k in REQUIRED if k not in TERMS]


@pytest.mark.parametrize("key", list(TERMS))
def test_each_term_has_plain_words_and_a_formula_or_says_it_has_none(key):
    t = TERMS[key]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key), "keys are anchors: lowercase-with-dashes"
    assert t.name and t.plain.endswith(".") and len(t.plain.split()) >= 6, t.plain
    assert t.formula == NO_FORMULA or ("$" not in t.formula and t.formula.strip()), t.formula
    if t.formula != NO_FORMULA:  # braces of the LaTeX balanced
        depth = 0
        for ch in t.formula.replace(r"\{", "").replace(r"\}", ""):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, t.formula
        assert depth == 0, t.formula
    assert all(s in TERMS and s != key for s in t.see), t.see


def test_names_are_unique():
    names = [t.name.lower() for t in TERMS.values()]
    assert len(names) == len(set(names))


def test_help_gives_words_formula_and_the_link_to_its_entry():
    text = glossary.help("ece")
    assert text.startswith(TERMS["ece"].plain)
    assert f"${TERMS['ece'].formula}$" in text
    assert text.endswith("(glossary#ece)")
    assert "$" not in glossary.help("seed")  # no formula, no empty math
    with pytest.raises(KeyError, match="'nope' is not in the glossary"):
        glossary.help("nope")


# glossary.help("key") / glossary.term("key") calls, and links to glossary#key
ASKED = (
    r"glossary\.(?:help|term|link)\(\s*[\"']([^\"']+)[\"']",
    r"\(glossary#([^)\s]+)\)",
)


def test_every_term_a_page_asks_for_exists():
    asked = {}
    code = ["streamlit_app.py", "pages/*.py", "ui/*.py", "views/*.py"]
    for path in (p for pattern in code for p in ROOT.glob(pattern) if p.name != "glossary.py"):
        for pattern in ASKED:
            for key in re.findall(pattern, path.read_text()):
                asked.setdefault(key, path.name)
    assert {"dev-accuracy", "loss", "precision"} <= set(asked)  # the scan finds the pages' calls
    missing = {k: f for k, f in asked.items() if k not in TERMS}
    assert not missing, f"not in views/glossary.py: {missing}"


def test_search_finds_by_name_or_words():
    assert glossary.search("ECE") == ["ece"]
    assert "dead-unit" in glossary.search("never learns")
    assert glossary.search("zzz") == []


def test_see_also_links_within_the_page():
    assert glossary.see_also("ece") == "See also: [Reliability diagram](#reliability-diagram)."
    assert glossary.see_also("seed") == ""


def test_link_ends_a_tooltip_of_its_own_and_help_ends_with_it():
    assert glossary.link("alpha") == "[Alpha (learning rate) in the glossary](glossary#alpha)"
    assert glossary.help("alpha").endswith(glossary.link("alpha"))

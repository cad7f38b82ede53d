"""Glossary: every term the app uses, in plain words with its formula (views/glossary.py).

Each term sits under the anchor of its key, so a tooltip's link glossary#ece opens it.
"""

import streamlit as st

from ui.navigation import ensure_routed
from views import glossary

# Not init_state(): it would write the settings into the URL, and that drops the #term the link
# came with. The glossary shows no run; the settings stay in the session for the other pages.
ensure_routed()
st.title("Glossary")
st.caption(
    "Every word these pages use, in plain words and with its formula. The notation is the "
    "notebook's: X the images (one per row, pixels from 0 to 1), Z1 = X W1 + b1, A1 = g(Z1), "
    "Z2 = A1 W2 + b2 (the logits), A2 = softmax(Z2), Y the one-hot labels, m the number of images."
)
found = st.text_input("Find a term", key="glossary_find", placeholder="e.g. loss, ECE, dead unit")
keys = glossary.search(found) if found else list(glossary.TERMS)
if not keys:
    st.info(f"No term mentions “{found}”: clear the box to see all {len(glossary.TERMS)}.")
for key in keys:
    term = glossary.term(key)
    st.subheader(term.name, anchor=key)
    st.markdown(term.plain)
    if term.formula != glossary.NO_FORMULA:
        st.latex(term.formula)
    if term.see:
        st.markdown(glossary.see_also(key))

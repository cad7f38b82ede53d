"""Streamlit glue for the Draw and Why pages: the drawn digit in the session, and Why's URL
parameters (``image``, ``target``, ``versus``) seeded into widgets and written back."""

from __future__ import annotations

import streamlit as st

from ui.state import settings, sync_url

DRAWN_KEY = "drawn_digit"  # (28, 28) uint8: the last digit drawn on the Draw page (read by Math)
DRAWN = "drawn"  # the value of ?image= for the drawn digit


def drawn_digit():
    """The digit drawn on the Draw page, or None."""
    return st.session_state.get(DRAWN_KEY)


def set_drawn_digit(image) -> None:
    st.session_state[DRAWN_KEY] = image


def parse_image(value, n: int) -> str | int | None:
    """?image=: 'drawn', or a dev index 0..n-1; None when absent or unreadable."""
    if value is None:
        return None
    value = str(value).strip()
    if value == DRAWN:
        return DRAWN
    try:
        i = int(value)
    except ValueError:
        return None
    return i if 0 <= i < n else None


def parse_digit(value) -> int | None:
    try:
        d = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return d if 0 <= d <= 9 else None


def param_from_url(name: str, parse) -> str:
    """Key of the Why widget for URL parameter ``name``, seeded from the URL when the URL's value
    came from outside (a link, a "why?" link) rather than from our own last write. Call before
    the widget."""
    ss, qp = st.session_state, st.query_params
    key, last = f"why_{name}", f"_url_why_{name}"
    ss[f"_why_linked_{name}"] = False
    if name in qp and ss.get(last, "<unset>") != qp[name]:
        parsed = parse(qp[name])
        if parsed is not None:
            ss[key] = parsed
            ss[f"_why_linked_{name}"] = True
        else:
            st.warning(f"URL parameter {name}={qp[name]!r} is not understood; ignored")
        ss[last] = qp[name]
    return key


def remember_why(**values) -> None:
    """Write Why's parameters into the URL (with the settings) and remember what was written."""
    sync_url(settings(), **values)
    for name, v in values.items():
        st.session_state[f"_url_why_{name}"] = None if v is None else str(v)


def linked(name: str) -> bool:
    """Whether this script run took ``name``'s value from a link (see param_from_url)."""
    return bool(st.session_state.get(f"_why_linked_{name}"))


def image_changed(picked) -> bool:
    """Whether the Why page's image differs from the one it showed last (and remember it)."""
    ss = st.session_state
    changed = ss.get("_why_last_image", picked) != picked
    ss["_why_last_image"] = picked
    return changed

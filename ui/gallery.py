"""A gallery of digits to pick from with one click or one tap: tiles in a wrapping row, each a
picture and a button with its caption.

Why not a plotly mosaic (as the Data page's samples are): a mosaic has a fixed number of columns,
so on a 390-px phone ten 33-px tiles ran their captions together, and a plotly point on a touch
screen takes a first tap to show its hover label and a second to select. Here Streamlit wraps the
row to the screen (at most ``cols`` tiles a row on a desktop, 4 on a phone), a button takes one
tap, and every tile has a name and alt text for screen readers.
"""

from __future__ import annotations

import streamlit as st

from views import figures

TILE_PX = 76  # 4 tiles and 3 gaps fit in a 390-px phone's main column (358 px), 5 do not
GAP_PX = 8


def _pick(state_key: str, value) -> None:
    st.session_state[state_key] = value


def digit_gallery(
    images, captions, values, *, state_key: str, key: str, alt=None, cols: int = 10
) -> None:
    """Tiles of ``images`` (k, 28, 28) with ``captions``; clicking tile i sets
    ``st.session_state[state_key] = values[i]`` before the next run (so a widget keyed
    ``state_key``, e.g. a selectbox of the same values, follows). The tile whose value is the
    current one is the highlighted (primary) button. ``alt``: a sentence per tile for screen
    readers and the button's tooltip."""
    current = st.session_state.get(state_key)
    alt = list(alt) if alt is not None else list(captions)
    width = cols * TILE_PX + (cols - 1) * GAP_PX
    with st.container(horizontal=True, gap=GAP_PX, width=width, key=key):
        for image, caption, value, text in zip(images, captions, values, alt):
            with st.container(width=TILE_PX, gap="xxsmall", key=f"{key}_tile_{value}"):
                st.image(figures.paper(image), width="stretch", alt=text)
                st.button(
                    caption,
                    key=f"{key}_pick_{value}",
                    help=text,
                    type="primary" if value == current else "secondary",
                    width="stretch",
                    on_click=_pick,
                    args=(state_key, value),
                )

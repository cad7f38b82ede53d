"""What the user clicked in a plotly chart: one reading of ``st.plotly_chart`` selection events
(the return value, or the widget's value in ``st.session_state``; both shapes occur), and the
shim that lets one tap select on a touch screen."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st


def points(event: Any) -> list[dict]:
    """The selected points of a plotly chart event, [] when nothing is selected."""
    try:
        found = event.selection.points
    except AttributeError:
        try:
            found = event["selection"]["points"]
        except (KeyError, TypeError):
            return []
    return list(found or [])


def selected_cell(event: Any) -> tuple[int, int] | None:
    """(true, predicted) of the confusion-matrix cell clicked (customdata, else the x/y grid)."""
    for p in points(event):
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)) and len(cd) >= 2:
            return int(cd[0]), int(cd[1])
        if p.get("x") is not None and p.get("y") is not None:
            return int(round(float(p["y"]))), int(round(float(p["x"])))
    return None


def selected_key(event: Any, keys) -> Any:
    """The first clicked point's customdata that is one of ``keys`` (e.g. a heatmap cell's run id)."""
    for p in points(event):
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd in keys:
            return cd
    return None


# Plotly selects a point on click only if a hover already found it (its selectOnClick reads the
# hover data, and the click then computes a fresh hover): a mouse hovers before it clicks, a finger
# does not, so on a touch screen the first tap only shows the hover label and a second one selects
# (plotly.js issue 1858 lists the touch gaps). This hover-on-touch shim sends the chart the mouse
# move a mouse would have made, at the finger, when a touch starts on the plot area of a chart
# under ``.st-key-<key>``; the tap's click then selects at once. Constant code, no input in it.
_TOUCH_HOVER = """<script>
(() => {
  if (window.__nnmathTouchHover) { window.__nnmathTouchHover.add(%(key)s); return; }
  const keys = new Set([%(key)s]);
  window.__nnmathTouchHover = keys;
  document.addEventListener("touchstart", (e) => {
    const drag = e.target.closest && e.target.closest(".nsewdrag");
    if (!drag || e.touches.length !== 1) return;
    if (![...keys].some((k) => drag.closest(".st-key-" + k))) return;
    const t = e.touches[0];
    drag.dispatchEvent(new MouseEvent("mousemove", {
      clientX: t.clientX, clientY: t.clientY, bubbles: true, cancelable: true, view: window,
    }));
  }, { capture: true, passive: true });
})();
</script>"""


def one_tap_select(key: str) -> None:
    """Make one tap select a point of the selectable plotly chart keyed ``key`` on touch screens
    (see _TOUCH_HOVER); call it once per run, after or before the chart."""
    st.html(_TOUCH_HOVER % {"key": json.dumps(str(key))}, unsafe_allow_javascript=True)

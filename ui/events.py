"""What the user clicked in a plotly chart: one reading of ``st.plotly_chart`` selection events
(the return value, or the widget's value in ``st.session_state``; both shapes occur)."""

from __future__ import annotations

from typing import Any

from views import figures


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


def selected_tile(event: Any, cols: int, k: int) -> int | None:
    """Index of the image clicked in a gallery of ``k`` tiles laid out ``cols`` per row."""
    for point in points(event):
        return figures.tile_index(point, cols, k)
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

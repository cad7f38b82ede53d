"""The settings a page shows, kept in ``st.session_state`` and mirrored in the URL.

The URL carries the dataset and every setting (``data, hidden, alpha, iterations, seed`` always;
the other training settings only when not default) and, on Mistakes, the filter (``true, pred``).
The page itself is the URL path (st.navigation). Rules, applied by :func:`init_state` at the top
of every page:

1. Query parameters present in the URL win (a permalink, or ``st.switch_page(..., query_params=)``);
   absent ones keep the session's value (navigation clears the URL), defaulting on a fresh session.
   A value that is not a number, or outside the bounds of its setting on this server
   (engine.config.bounds), is not used: a warning states the rule and the value kept, so the
   session's settings can always be trained and every page can show them.
2. The canonical parameters of the resulting settings are written back to the URL, so the address
   bar is always a permalink of what the page shows.

Parsing and formatting are pure (:class:`engine.config.Settings`); this module is the Streamlit side.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import streamlit as st

from engine.config import SETTING_PARAMS, Settings, parse_filter

from . import host
from .navigation import ensure_routed

SETTINGS_KEY = "settings"
FROM_LINK_KEY = "opened_from_link"
WIDGET_PREFIX = "w_"
FILTER_PARAMS = ("true", "pred", "min_conf")


def init_state() -> Settings:
    """Call first on every page: reconcile URL and session (see module docstring); returns the
    current settings. Problems reading the URL are shown as a warning."""
    ensure_routed()
    ss = st.session_state
    params = st.query_params.to_dict()
    current: Settings | None = ss.get(SETTINGS_KEY)
    settings, problems = Settings.from_query(params, base=current, **host.bounds())
    if FROM_LINK_KEY not in ss:
        # First run of this session: remember whether it came from a link with settings, so a
        # page opened by permalink trains its run instead of waiting for a click. Not a link
        # with values we could not use: its run is not the one the link meant.
        ss[FROM_LINK_KEY] = not problems and any(k in params for k in SETTING_PARAMS)
    if settings != current:
        set_settings(settings)
    for p in problems:
        st.warning(p)
    sync_url(settings)
    from ui.teacher import keep_exercise  # a teacher's link: locks kept across pages

    keep_exercise()
    from ui.classroom import keep_membership  # a student's place in a class, kept across pages

    keep_membership()
    return settings


def settings() -> Settings:
    return st.session_state.get(SETTINGS_KEY) or Settings()


def set_settings(new: Settings, *, from_widgets: bool = False) -> None:
    """Replace the session's settings; widgets re-read their value from them (unless the change
    comes from the widgets themselves)."""
    ss = st.session_state
    old = ss.get(SETTINGS_KEY)
    ss[SETTINGS_KEY] = new
    if from_widgets:
        return
    for f in fields(Settings):
        key = WIDGET_PREFIX + f.name
        if key in ss and (old is None or getattr(old, f.name) != getattr(new, f.name)):
            del ss[key]


def sync_url(settings: Settings, **extra: Any) -> None:
    """Write the settings (and extra parameters, None = remove) into the URL, touching only the
    keys that differ (each write is a message to the browser)."""
    qp = st.query_params
    wanted = settings.to_query()
    for k in SETTING_PARAMS:
        if k in wanted:
            if qp.get(k) != wanted[k]:
                qp[k] = wanted[k]
        elif k in qp:
            del qp[k]
    for k, v in extra.items():
        if v is None:
            if k in qp:
                del qp[k]
        elif qp.get(k) != str(v):
            qp[k] = str(v)


def widget_key(name: str, settings: Settings, shown: Any = None) -> str:
    """Key of the widget editing setting ``name``, seeded from the settings when absent (widget
    state is dropped by Streamlit on pages that do not render the widget). ``shown``: what the
    widget holds for a setting of None (a select box holding None shows its placeholder,
    "Choose an option", as if nothing were chosen)."""
    key = WIDGET_PREFIX + name
    if key not in st.session_state:
        value = getattr(settings, name)
        st.session_state[key] = shown if value is None else value
    return key


def opened_from_link() -> bool:
    return bool(st.session_state.get(FROM_LINK_KEY))


def consume_link() -> None:
    """The permalink's run has been shown: later visits wait for a click again."""
    st.session_state[FROM_LINK_KEY] = False


def filter_from_url(name: str, parse=parse_filter, none_as: Any = None) -> str:
    """Key of the widget for the Mistakes filter ``name`` ("true"/"pred" read by
    ``parse_filter``, "min_conf" by ``engine.config.parse_min_conf``), seeded from the URL
    when the URL value came from outside (a link, a confusion-matrix click) rather than from our
    own last write, and restored after navigation cleared the URL. Call before the widget.
    ``none_as``: what the widget holds for no filter (a select box holding None shows its
    placeholder, "Choose an option")."""
    ss, qp = st.session_state, st.query_params
    key, last = f"filter_{name}", f"_url_{name}"
    value = ...
    if name in qp:
        if ss.get(last, "<unset>") != qp[name]:
            value = parse(qp.to_dict(), name)
    elif key not in ss and ss.get(last) is not None:
        value = parse({name: ss[last]}, name)
    if value is not ...:
        ss[key] = none_as if value is None else value
    return key


def metric_from_url(choices: list[str], name: str = "metric") -> str:
    """Key of a selectbox choosing among ``choices`` (Sweep's heatmap metric), seeded from the
    URL parameter ``name`` when it is one of them and came from outside (a link), and restored
    after navigation cleared the URL. Call before the widget; then :func:`remember_metric`."""
    ss, qp = st.session_state, st.query_params
    key, last = f"choice_{name}", f"_url_{name}"
    if name in qp and ss.get(last, "<unset>") != qp[name] and qp[name] in choices:
        ss[key] = qp[name]
    elif key not in ss and ss.get(last) in choices:
        ss[key] = ss[last]
    return key


def remember_metric(value: str, name: str = "metric") -> None:
    """Put the chosen metric in the URL and remember it (see metric_from_url)."""
    sync_url(settings(), **{name: value})
    st.session_state[f"_url_{name}"] = value


def remember_filters(**values: int | str | None) -> None:
    """Put the Mistakes filter in the URL and remember what was written (see filter_from_url)."""
    sync_url(settings(), **values)
    for name, v in values.items():
        st.session_state[f"_url_{name}"] = None if v is None else str(v)

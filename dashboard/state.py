"""The settings a page shows, kept in ``st.session_state`` and mirrored in the URL.

The URL carries the dataset and every setting (``data, hidden, alpha, iterations, seed`` always;
``init, dtype, batch`` only when not default) and, on Mistakes, the filter (``true, pred`` and
``min_conf``, the least confidence of the mistakes shown). The page
itself is the URL path (st.navigation). Rules, applied by :func:`init_state` at the top of every page:

1. Query parameters present in the URL win (a permalink, or ``st.switch_page(..., query_params=)``);
   absent ones keep the session's value (navigation clears the URL), defaulting on a fresh session.
2. The canonical parameters of the resulting settings are written back to the URL, so the address
   bar is always a permalink of what the page shows.

Parsing and formatting are pure functions (:meth:`Settings.from_query`, :meth:`Settings.to_query`)
that tests call without Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

SETTINGS_KEY = "settings"
FROM_LINK_KEY = "opened_from_link"
WIDGET_PREFIX = "w_"

# Query parameter names. The page is the URL path, not a parameter.
SETTING_PARAMS = ("data", "hidden", "alpha", "iterations", "seed", "init", "dtype", "batch")
FILTER_PARAMS = ("true", "pred", "min_conf")
ADVANCED = ("init", "dtype", "batch")

ALPHAS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
INITS = ("uniform", "he")
DTYPES = ("float32", "float64")
BATCH_SIZES = (None, 32, 64, 128, 256, 512, 1000)
MAX_HIDDEN = 512
MAX_ITERATIONS = 20_000


@dataclass(frozen=True)
class Settings:
    """What the user chose: dataset key + training settings + how far to train."""

    data: str = "sample"
    hidden: int = 10
    alpha: float = 0.1
    iterations: int = 500
    seed: int = 0
    init: str = "uniform"
    dtype: str = "float32"
    batch_size: int | None = None

    # ---- URL --------------------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        q = {
            "data": self.data,
            "hidden": str(self.hidden),
            "alpha": format_alpha(self.alpha),
            "iterations": str(self.iterations),
            "seed": str(self.seed),
        }
        d = Settings()
        if self.init != d.init:
            q["init"] = self.init
        if self.dtype != d.dtype:
            q["dtype"] = self.dtype
        if self.batch_size != d.batch_size:
            q["batch"] = str(self.batch_size)
        return q

    @classmethod
    def from_query(
        cls, params: Mapping[str, Any], base: Settings | None = None
    ) -> tuple[Settings, list[str]]:
        """Settings from query parameters over ``base`` (default: the notebook's settings).
        Returns the settings and a list of messages for values that could not be read (those
        keep the base value). Values that parse but are out of range are kept: training then
        says what is wrong with them (see :meth:`problems`)."""
        s = base or cls()
        problems: list[str] = []
        changes: dict[str, Any] = {}

        def get(name):
            v = params.get(name)
            if isinstance(v, (list, tuple)):
                v = v[-1] if v else None
            return None if v is None else str(v).strip()

        def number(name, attr, conv):
            raw = get(name)
            if raw is None or raw == "":
                return
            try:
                value = conv(raw)
            except (TypeError, ValueError, OverflowError):
                problems.append(
                    f"URL parameter {name}={raw!r} is not a number; kept {getattr(s, attr)}"
                )
                return
            changes[attr] = value

        raw = get("data")
        if raw:
            changes["data"] = raw
        number("hidden", "hidden", _int)
        number("alpha", "alpha", float)
        number("iterations", "iterations", _int)
        number("seed", "seed", _int)
        raw = get("init")
        if raw:
            changes["init"] = raw
        raw = get("dtype")
        if raw:
            changes["dtype"] = raw
        raw = get("batch")
        if raw is not None and raw != "":
            if raw.lower() in ("none", "full", "0"):
                changes["batch_size"] = None
            else:
                number("batch", "batch_size", _int)
        return replace(s, **changes), problems

    # ---- validation -------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What is wrong with these settings, in words (empty when they can be trained)."""
        out = []
        if not 1 <= self.hidden <= MAX_HIDDEN:
            out.append(f"hidden must be between 1 and {MAX_HIDDEN}, got {self.hidden}")
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            out.append(f"alpha must be > 0, got {self.alpha:g}")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            out.append(f"iterations must be between 1 and {MAX_ITERATIONS}, got {self.iterations}")
        if self.seed < 0:
            out.append(f"seed must be >= 0, got {self.seed}")
        if self.init not in INITS:
            out.append(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.dtype not in DTYPES:
            out.append(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.batch_size is not None and self.batch_size < 1:
            out.append(f"batch size must be >= 1 (or full batch), got {self.batch_size}")
        return out

    def is_notebook(self) -> bool:
        return replace(self, data="sample") == NOTEBOOK

    def notebook(self) -> Settings:
        """The notebook's settings on the same dataset."""
        return replace(NOTEBOOK, data=self.data)


NOTEBOOK = Settings()


def _int(raw: str) -> int:
    value = float(raw)
    if not value.is_integer():
        raise ValueError(raw)
    return int(value)


def format_alpha(alpha: float) -> str:
    """Shortest text that reads back as the same float (0.1 -> '0.1', 1e-05 -> '1e-05')."""
    return repr(float(alpha)) if not float(alpha).is_integer() else f"{alpha:g}"


def parse_filter(params: Mapping[str, Any], name: str) -> int | None:
    """A digit 0..9 from the query parameter ``name`` (Mistakes' true/pred), or None."""
    v = params.get(name)
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else None
    if v is None:
        return None
    try:
        d = int(str(v).strip())
    except ValueError:
        return None
    return d if 0 <= d <= 9 else None


def parse_min_conf(params: Mapping[str, Any], name: str = "min_conf") -> float:
    """A confidence in [0, 1], rounded to 0.01, from the query parameter ``name`` (Mistakes'
    ``min_conf``: only mistakes at least this confident); 0.0 (no filter) when absent or not a
    number in [0, 1]."""
    v = params.get(name)
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else None
    try:
        x = float(str(v).strip())
    except (TypeError, ValueError):
        return 0.0
    return round(x, 2) if 0 <= x <= 1 else 0.0


def format_min_conf(value: float) -> str | None:
    """``min_conf`` for the URL: None (left out) for 0, no filter; else two decimals."""
    return None if not value else f"{value:.2f}"


def query_string(settings: Settings, **extra: Any) -> str:
    """``?data=...&hidden=...`` for a permalink (extra parameters appended, None skipped)."""
    from urllib.parse import urlencode

    q = settings.to_query()
    q.update({k: str(v) for k, v in extra.items() if v is not None})
    return "?" + urlencode(q)


# ---- Streamlit side -----------------------------------------------------------------------------
def init_state() -> Settings:
    """Call first on every page: reconcile URL and session (see module docstring); returns the
    current settings. Problems reading the URL are shown as a warning."""
    import streamlit as st

    _leave_legacy_pages_mode()
    ss = st.session_state
    params = st.query_params.to_dict()
    current: Settings | None = ss.get(SETTINGS_KEY)
    if FROM_LINK_KEY not in ss:
        # First run of this session: remember whether it came from a link with settings, so a
        # page opened by permalink trains its run instead of waiting for a click.
        ss[FROM_LINK_KEY] = any(k in params for k in SETTING_PARAMS)
    settings, problems = Settings.from_query(params, base=current)
    if settings != current:
        set_settings(settings)
    for p in problems:
        st.warning(p)
    sync_url(settings)
    return settings


def _leave_legacy_pages_mode() -> None:
    """Run a page that Streamlit started without our router through the router instead.

    Until some script run has called st.navigation, Streamlit treats an app with a pages/ folder
    the legacy way: the first run of a fresh server (and every AppTest run) opened on a page URL
    such as /evaluate?... runs that page file on its own, with a sidebar of file names (or, had
    the file name not matched the URL, shows a "Page not found" dialog). Page files are named
    after their URL path so the legacy lookup finds them; here, before the page has drawn
    anything, we switch the legacy mode off and run the router (streamlit_app.py), which builds
    the navigation and runs this same page, in this same script run (so a click is not lost),
    then stop the outer run. Uses a Streamlit internal of the pinned version; a browser test
    opens a permalink on a cold server to catch a change.
    """
    import runpy

    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    ctx = get_script_run_ctx()
    if ctx is None:  # bare mode (not under streamlit run / AppTest): nothing to hand over
        return
    runpy.run_path(str(ctx.pages_manager.main_script_path), run_name="__main__")
    st.stop()


def settings() -> Settings:
    import streamlit as st

    return st.session_state.get(SETTINGS_KEY) or Settings()


def set_settings(new: Settings, *, from_widgets: bool = False) -> None:
    """Replace the session's settings; widgets re-read their value from them (unless the change
    comes from the widgets themselves)."""
    import streamlit as st

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
    import streamlit as st

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


def widget_key(name: str, settings: Settings) -> str:
    """Key of the widget editing setting ``name``, seeded from the settings when absent (widget
    state is dropped by Streamlit on pages that do not render the widget)."""
    import streamlit as st

    key = WIDGET_PREFIX + name
    if key not in st.session_state:
        st.session_state[key] = getattr(settings, name)
    return key


def opened_from_link() -> bool:
    import streamlit as st

    return bool(st.session_state.get(FROM_LINK_KEY))


def consume_link() -> None:
    """The permalink's run has been shown: later visits wait for a click again."""
    import streamlit as st

    st.session_state[FROM_LINK_KEY] = False


def filter_from_url(name: str, parse=parse_filter) -> str:
    """Key of the widget for the Mistakes filter ``name`` ("true"/"pred" read by
    :func:`parse_filter`, "min_conf" by :func:`parse_min_conf`), seeded from the URL
    when the URL value came from outside (a link, a confusion-matrix click) rather than from our
    own last write, and restored after navigation cleared the URL. Call before the widget."""
    import streamlit as st

    ss, qp = st.session_state, st.query_params
    key, last = f"filter_{name}", f"_url_{name}"
    if name in qp:
        if ss.get(last, "<unset>") != qp[name]:
            ss[key] = parse(qp.to_dict(), name)
    elif key not in ss and ss.get(last) is not None:
        ss[key] = parse({name: ss[last]}, name)
    return key


def metric_from_url(choices: list[str], name: str = "metric") -> str:
    """Key of a selectbox choosing among ``choices`` (Sweep's heatmap metric), seeded from the
    URL parameter ``name`` when it is one of them and came from outside (a link), and restored
    after navigation cleared the URL. Call before the widget; then :func:`remember_metric`."""
    import streamlit as st

    ss, qp = st.session_state, st.query_params
    key, last = f"choice_{name}", f"_url_{name}"
    if name in qp and ss.get(last, "<unset>") != qp[name] and qp[name] in choices:
        ss[key] = qp[name]
    elif key not in ss and ss.get(last) in choices:
        ss[key] = ss[last]
    return key


def remember_metric(value: str, name: str = "metric") -> None:
    """Put the chosen metric in the URL and remember it (see metric_from_url)."""
    import streamlit as st

    sync_url(settings(), **{name: value})
    st.session_state[f"_url_{name}"] = value


def remember_filters(**values: int | str | None) -> None:
    """Put the Mistakes filter in the URL and remember what was written (see filter_from_url)."""
    import streamlit as st

    sync_url(settings(), **values)
    for name, v in values.items():
        st.session_state[f"_url_{name}"] = None if v is None else str(v)

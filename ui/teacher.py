"""A teacher's link: settings preset in the URL as usual, plus which controls are locked or
hidden, so a class opens exactly the exercise. E.g. on the Train page

    ?data=sample&hidden=32&iterations=500&seed=0&lock=hidden,seed,iterations&hide=advanced

lets students change alpha only, with the Advanced corner gone. ``lock`` takes setting names
(``data`` locks the Data page's dataset choice) or ``all``; ``hide`` takes the four main
settings, ``advanced`` and ``links`` (the permalink boxes). The exercise is kept in the session,
so it survives navigation (which clears the URL), and written back to the URL so the address bar
stays the teacher's link. It is a way to focus a class, not a security boundary: the URL can be
edited.

Embedded (``?embed=true``, st.context.is_embedded), pages use a compact layout: no sidebar,
captions and link boxes left out.

Parsing and formatting are pure (:meth:`Exercise.from_query`, :meth:`Exercise.to_query`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.config import SETTING_PARAMS, URL_NAMES
from nnmath import Bounds

EXERCISE_KEY = "exercise"
#: Every query parameter of the settings (engine.config: data, hidden, alpha, iterations, seed,
#: init, dtype, batch, activation) can be locked.
LOCKABLE = SETTING_PARAMS
HIDEABLE = ("hidden", "alpha", "iterations", "seed", "advanced", "links")
# a Settings field name -> its URL name (the widgets are keyed by field name)
FIELD_PARAM = URL_NAMES


@dataclass(frozen=True)
class Exercise:
    locked: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.locked or self.hidden)

    def is_locked(self, name: str) -> bool:
        """Is the setting ``name`` (a Settings field or URL name) locked?"""
        return FIELD_PARAM.get(name, name) in self.locked

    def is_hidden(self, name: str) -> bool:
        return name in self.hidden

    def to_query(self) -> dict[str, str]:
        q = {}
        if self.locked:
            q["lock"] = ",".join(n for n in LOCKABLE if n in self.locked)
        if self.hidden:
            q["hide"] = ",".join(n for n in HIDEABLE if n in self.hidden)
        return q

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> tuple[Exercise | None, list[str]]:
        """The exercise in ``lock``/``hide`` (None when neither is there) and a message for
        every name that is not known (left out)."""
        problems: list[str] = []

        def names(param: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
            raw = params.get(param)
            if isinstance(raw, (list, tuple)):
                raw = raw[-1] if raw else None
            if raw is None:
                return None
            out, unknown = set(), {}  # a dict: ordered, and no quadratic dedupe
            for name in (n.strip().lower() for n in str(raw).split(",")):
                if not name:
                    continue
                if name == "all" and param == "lock":
                    out.update(allowed)
                elif name in allowed:
                    out.add(name)
                else:
                    unknown[name] = None
            if unknown:  # one message however many names a link holds
                more = f" and {len(unknown) - 3:,} more" if len(unknown) > 3 else ""
                first = list(unknown)[:3]
                problems.append(
                    f"URL parameter {param}: {', '.join(Bounds.shown(n) for n in first)}"
                    f"{more} {'is' if len(unknown) == 1 else 'are'} not one of "
                    f"{', '.join(allowed)}{', all' if param == 'lock' else ''}; left out"
                )
            return frozenset(out)

        locked = names("lock", LOCKABLE)
        hidden = names("hide", HIDEABLE)
        if locked is None and hidden is None:
            return None, problems
        return cls(locked or frozenset(), hidden or frozenset()), problems


def set_for_exercise(settings, exercise: Exercise) -> str:
    """One line that says what the teacher set, e.g. 'Set for this exercise: hidden units 32,
    iterations 500, seed 0.'"""
    labels = {
        "data": ("dataset", settings.data),
        "hidden": ("hidden units", settings.hidden),
        "alpha": ("alpha", f"{settings.alpha:g}"),
        "iterations": ("iterations", f"{settings.iterations:,}"),
        "seed": ("seed", settings.seed),
        "init": ("initialisation", settings.init),
        "dtype": ("precision", settings.dtype),
        "batch": ("batch size", settings.batch_size or "full batch"),
    }
    for n in LOCKABLE:  # the others (activation, optimizer, ...) by their own names
        labels.setdefault(n, (n.replace("_", " "), getattr(settings, n, "")))
    parts = [f"{labels[n][0]} {labels[n][1]}" for n in LOCKABLE if exercise.is_locked(n)]
    return "Set for this exercise: " + ", ".join(parts) + "."


# ---- Streamlit side -----------------------------------------------------------------------------
def keep_exercise() -> Exercise:
    """Call from init_state: the session's exercise, from the URL when it has lock/hide (a
    teacher's link), else the one remembered (and written back into the URL)."""
    import streamlit as st

    found, problems = Exercise.from_query(st.query_params.to_dict())
    for p in problems:
        st.warning(p)
    if found is not None:
        st.session_state[EXERCISE_KEY] = found
    current = st.session_state.get(EXERCISE_KEY) or Exercise()
    for k, v in current.to_query().items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v
    return current


def exercise() -> Exercise:
    import streamlit as st

    return st.session_state.get(EXERCISE_KEY) or Exercise()


def embedded() -> bool:
    """Is the app shown inside another page (``?embed=true``)? Then pages stay compact."""
    import streamlit as st

    try:
        return bool(st.context.is_embedded)
    except Exception:  # no browser session (bare mode)
        return False


def link(base_url: str, settings_query: Mapping[str, str], locked, hidden) -> str:
    """A teacher's link to ``base_url`` with these settings, locks and hidden controls."""
    from urllib.parse import urlencode

    q = dict(settings_query)
    q.update(Exercise(frozenset(locked), frozenset(hidden)).to_query())
    return base_url + "?" + urlencode(q, safe=",")

"""The coach after a run (views/coach.py) on Train and Home: what happened and a link to the
next step, in one call."""

from __future__ import annotations

import streamlit as st

from ui import host, session, teacher
from ui.state import set_settings, sync_url
from views import coach


def _dead_units(run) -> int | None:
    """Dead hidden units of the run (one forward pass over its training images), kept in the
    engine's cache per run id and length, as the dev evaluation is."""
    r = run.result
    key = ("dead units", run.config.run_id, r.iterations, str(r.status))
    return session.runs().cache.get(
        key, lambda: coach.dead_units(r.params, run.train.X, activation=r.config.activation)
    )


def show(run, *, here: bool = False) -> None:
    """Say what the run's history shows and link the next step; nothing when nothing stands
    out, for an uploaded model (no history) or a run that is not there. ``here``: this is the
    Train page, so the step is a button that sets the settings (and the address bar) in place:
    a page link to the page it is on would leave the old settings in the address bar."""
    if run is None or run.result is None or run.uploaded:
        return
    advice = coach.advise(
        run.result,
        run.settings,
        dead=_dead_units(run),
        max_iterations=host.bounds()["max_iterations"],
    )
    if advice is None:
        return
    exercise = teacher.exercise()
    with st.container(border=True, key="coach"):
        st.markdown(f":material/lightbulb: **What happened:** {advice.said}")
        if any(exercise.is_locked(name) for name in advice.changes):
            st.caption("This exercise keeps that setting fixed: ask your teacher.")
        elif here:
            st.button(
                advice.step,
                key="coach_step",
                icon=":material/arrow_forward:",
                on_click=_set_up,
                args=(advice.next,),
            )
        else:
            st.page_link(
                "pages/2_train.py",
                label=advice.step,
                icon=":material/arrow_forward:",
                query_params=advice.next.to_query(),
            )


def _set_up(settings) -> None:
    """The step's button: its settings become the session's and the URL's before the rerun."""
    set_settings(settings)
    sync_url(settings)

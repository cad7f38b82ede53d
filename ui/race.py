"""Streamlit side of a race (views.race): the racers' runs, served from the store or trained one
after another through the server's training queue, with the overlaid curves drawn live."""

from __future__ import annotations

import streamlit as st

from engine import models
from engine.config import Settings
from engine.runs import Run
from ui import host, session
from views import race


def open_race(settings: Settings, names) -> dict[str, Run]:
    """Each racer's run as the store has it (``result`` None when not trained that far yet).
    A ``model=`` this server does not have: an error with the button that drops it, and the
    page stops (as session.current_run does)."""
    try:
        return {name: session.lookup(s) for name, s in race.racers(settings, names).items()}
    except models.UnknownModel as e:
        st.error(f"Cannot use model {settings.model!r}: {e}")
        session.drop_model_button(settings, key="drop_unknown_model")
        st.stop()


def labels(runs: dict[str, Run]) -> dict[str, str]:
    return {name: race.label(name, run.settings) for name, run in runs.items()}


def refusal(runs: dict[str, Run]) -> str | None:
    """Why this server will not train the race now (settings beyond its bounds, or the session's
    trainings per minute used up), or None."""
    lim = host.limits()
    for run in runs.values():
        problems = run.settings.problems(**host.bounds(lim))
        if problems:
            return "These settings cannot be raced: " + "; ".join(problems) + "."
    missing = sum(r.result is None for r in runs.values())
    wait = host.seconds_until_allowed(lim)
    if missing and wait > 0:
        return (
            f"You started {lim.runs_per_minute} trainings in the last minute, the most a session "
            f"may start per minute on this server: try again in {wait:.0f} s."
        )
    return None


def run_race(runs: dict[str, Run]) -> dict[str, Run]:
    """Train the racers that the store cannot answer, in order, each through the training queue
    (session.train: progress bar, Stop, checkpoints), the live chart overlaying the racers done so
    far. Returns every racer's run with its result."""
    names = labels(runs)
    done = {n: r.result.history for n, r in runs.items() if r.result is not None}
    out = dict(runs)
    for name, run in runs.items():
        if run.result is not None:
            continue

        def figure(history, total, _name=name):
            return race.race_figure({**done, _name: history}, names, total)

        host.note_start()  # each racer counts against the session's trainings per minute
        out[name] = session.train(run, figure=figure, label=f"Race: training {names[name]}")
        done[name] = out[name].result.history
    return out

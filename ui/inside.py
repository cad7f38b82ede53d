"""Streamlit glue of the "Inside the network" pages (Math, Learning dynamics, Lab): results cached
by run id, and page parameters kept in the URL.

Cached with st.cache_resource by (run id, iterations, the run file's mtime), like the dashboard's
evaluations: the dynamics of a run (one set of forward passes over its snapshots), the PCA map,
the robustness curves.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine.runs import Run
from nnmath import Status
from views import dynamics as dv
from views import lab

NO_UNIT = -1  # the Lab's "scale one unit" select box: no unit scaled


def _activation(run: Run) -> str:
    return run.result.config.activation


@st.cache_resource(max_entries=8, show_spinner="Replaying every snapshot on the dev set…")
def _dynamics(run_id: str, iterations: int, status: str, key: str, _run: Run):
    return dv.dynamics(
        _run.result, _run.train.X, _run.dev.X, _run.dev.labels, activation=_activation(_run)
    )


def dynamics(run: Run) -> dv.Dynamics:
    """Per-snapshot dev answers and hidden-unit activity of the run (computed once per run)."""
    return _dynamics(
        run.config.run_id, run.result.iterations, str(run.result.status), run.settings.data, run
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _hidden_map(run_id: str, iterations: int, status: str, at: int, _run: Run):
    return dv.hidden_map(
        _run.result.snapshot(at), _run.dev.X, _run.dev.labels, activation=_activation(_run)
    )


def hidden_map(run: Run, at: int):
    """(coordinates, variance shares) of the PCA map of the dev set's A1 at snapshot ``at``."""
    return _hidden_map(
        run.config.run_id, run.result.iterations, str(run.result.status), int(at), run
    )


@st.cache_resource(max_entries=8, show_spinner="Corrupting the dev images…")
def _robustness(run_id: str, iterations: int, status: str, _run: Run):
    r = _run.result
    return lab.robustness(r.params, _run.dev.images, _run.dev.labels, activation=_activation(_run))


def robustness(run: Run):
    return _robustness(run.config.run_id, run.result.iterations, str(run.result.status), run)


@st.cache_resource(max_entries=8, show_spinner=False)
def _next_loss(run_id: str, iterations: int, status: str, _run: Run) -> float | None:
    import nnmath

    r = _run.result
    if r.status == Status.DIVERGED:
        return None
    return nnmath.continue_training(r, _run.train.X, _run.train.labels, iterations=1).loss


def next_loss(run: Run) -> float | None:
    """The whole training loss after one more update than the run has (one iteration of
    nnmath.continue_training, the same numbers as a longer run); None for a diverged run."""
    return _next_loss(run.config.run_id, run.result.iterations, str(run.result.status), run)


def ablation(run: Run, scale):
    return lab.ablation(
        run.result.params, run.dev.X, run.dev.labels, scale, activation=_activation(run)
    )


def url_value(name: str, key: str, parse, default: Any) -> str:
    """Seed the widget ``key`` from the URL parameter ``name`` when the URL holds a value this
    session did not write (a link), else keep the widget's value (navigation clears the URL).
    ``parse(text)`` returns the widget value or raises ValueError (then a warning, and
    ``default``). Returns the key, for the widget. Call :func:`remember` after the widget."""
    ss, qp = st.session_state, st.query_params
    last = f"_url_{name}"
    if name in qp and ss.get(last, "<unset>") != qp[name]:
        try:
            ss[key] = parse(qp[name])
        except ValueError as e:
            st.warning(f"URL parameter {name}={qp[name]!r}: {e}")
            ss[key] = default
        ss[last] = qp[name]
    elif key not in ss:
        ss[key] = default
    return key


def remember(**values: Any) -> None:
    """Write page parameters to the URL (None removes one) and remember them as ours."""
    qp = st.query_params
    for name, v in values.items():
        text = None if v is None else str(v)
        if text is None:
            if name in qp:
                del qp[name]
        elif qp.get(name) != text:
            qp[name] = text
        st.session_state[f"_url_{name}"] = text


def scale_from_url(hidden: int, unit_key: str, factor_key: str) -> None:
    """Seed the Lab's "scale one unit" widgets from ``scale=unit:factor`` in a link."""
    from views.lab import parse_scales

    ss, qp = st.session_state, st.query_params
    if "scale" in qp and ss.get("_url_scale", "<unset>") != qp["scale"]:
        try:
            scales = parse_scales(qp["scale"], hidden)
        except ValueError as e:
            st.warning(f"URL parameter scale={qp['scale']!r}: {e}")
            scales = {}
        unit, factor = next(iter(scales.items()), (NO_UNIT, 0.5))
        ss[unit_key], ss[factor_key] = unit, factor
        ss["_url_scale"] = qp["scale"]
    ss.setdefault(unit_key, NO_UNIT)
    ss.setdefault(factor_key, 0.5)

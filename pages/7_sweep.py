"""Sweep: train a grid of settings in parallel (local cores or a Dask cluster), then read the
dev accuracy of every combination off a heatmap and open any cell's run."""

import os
from dataclasses import replace

import streamlit as st

from engine import search, sweep
from engine.config import run_label
from ui import events, host, session
from ui.state import init_state, metric_from_url, remember_metric
from views import compare, grid, significance
from views.compare_figures import heatmap_figure, search_figure
from views.format import MISSING, PERCENT_COLUMN, percent_column

settings = init_state()
st.title("Sweep")
st.caption(
    "Choose values for the settings, launch, and every combination trains in parallel. "
    "Combinations already in the run cache are not retrained, and a longer cached run "
    "answers any shorter sweep (a run to 1,000 iterations answers 500)."
)

OUTCOMES_KEY = "sweep_outcomes"  # run_id -> final RunState of the last sweep of this session
NOTICE_KEY = "sweep_notice"


def _close(connection) -> None:
    connection.close()


@st.cache_resource(
    show_spinner="Connecting to the Dask scheduler…",
    max_entries=4,
    validate=lambda connection: connection.alive,
    on_release=_close,
)
def dask_connection(address: str):
    """One client per scheduler address for the whole server (never a module global); a client
    whose scheduler went away is replaced, a released one is closed."""
    return sweep.connect_dask(address)


def _stopped() -> None:
    # Runs first in the rerun that the click starts (that rerun interrupts the sweep's script).
    st.session_state[NOTICE_KEY] = (
        "Sweep stopped. Finished runs are saved; the runs in flight "
        "stopped within a few iterations."
    )


def prefill_from_url(settings) -> None:
    """A link from Train or Compare ("repeat with N seeds": ``seeds=0-4`` with the run's
    settings) or a random search's link fills the boxes once; typing takes over after that."""
    q = st.query_params
    link = (q.get("seeds"), q.get("search"), q.get("n"), q.get("alpha_range"))
    if st.session_state.get("sweep_prefilled") == link or not any(link):
        return
    st.session_state["sweep_prefilled"] = link
    if q.get("seeds"):
        st.session_state["sweep_seeds"] = q["seeds"][: sweep.MAX_TEXT_CHARS]
    if q.get("search") == "random":
        st.session_state["sweep_mode"] = "random"
        for key, param in (
            ("sweep_n", "n"),
            ("sweep_alpha_range", "alpha_range"),
            ("sweep_hidden_range", "hidden_range"),
            ("sweep_search_seed", "search_seed"),
        ):
            if q.get(param):
                st.session_state[key] = q[param][:40]
    else:  # repeat one run's settings
        st.session_state["sweep_mode"] = "grid"
        st.session_state["sweep_hidden"] = str(settings.hidden)
        st.session_state["sweep_alpha"] = f"{settings.alpha:g}"
    if q.get("iterations"):  # read (and bounded) into the settings by init_state
        lim = max(50, host.limits().max_iterations)
        st.session_state["sweep_iterations"] = min(lim, max(50, settings.iterations))


def show_importance(table) -> None:
    finished = table[~table["status"].isin([sweep.RunStatus.DIVERGED, sweep.RunStatus.NOT_RUN])]
    effects = significance.main_effects(finished.to_dict("records"))
    if not effects.shares:
        return
    st.subheader("Which setting mattered?")
    st.markdown(effects.reading)
    st.dataframe(
        {
            "setting": list(effects.shares),
            "values tried": [effects.levels[k] for k in effects.shares],
            "share of the variance of dev accuracy": [
                effects.percent(v) for v in effects.shares.values()
            ],
        },
        hide_index=True,
        placeholder=MISSING,
    )
    st.caption(
        "[Share of the variance](glossary#main-effect): how much of the spread of dev accuracy "
        "over these runs lines up with each setting on its own (settings with many values, as "
        "in a random search, in 4 groups by size). Diverged runs are left out."
    )


def every_run(table) -> None:
    with st.expander("Every run of this sweep"):
        st.dataframe(
            table.drop(
                columns=["init", "dtype", "batch_size", "activation"], errors="ignore"
            ).assign(
                dev_accuracy=lambda t: percent_column(t["dev_accuracy"]),
                train_accuracy=lambda t: percent_column(t["train_accuracy"]),
            ),
            hide_index=True,
            placeholder=MISSING,
            width="stretch",
            column_config={
                "alpha": st.column_config.NumberColumn(format="%g"),
                "dev_accuracy": st.column_config.NumberColumn(
                    "dev accuracy", format=PERCENT_COLUMN
                ),
                "train_accuracy": st.column_config.NumberColumn(
                    "train accuracy", format=PERCENT_COLUMN
                ),
                "loss": st.column_config.NumberColumn(format="%.4f"),
            },
        )


def search_configs(base, drawn, seeds) -> list:
    """Every drawn setting with every seed, duplicates dropped (two draws may coincide)."""
    out = [
        replace(base, hidden=d["hidden"], alpha=d["alpha"], seed=seed)
        for d in drawn.draws()
        for seed in seeds
    ]
    return list(dict.fromkeys(out))


ds, train, dev = session.split_or_stop(settings.data)
if train is None:
    st.error(f"{ds.name} has no labels: pick a labelled dataset on the Data page to sweep.")
    st.stop()
store = session.store()
st.markdown(f"**Dataset:** {ds.name} — {train.n:,} training and {dev.n:,} dev images.")

# ---- what to sweep ------------------------------------------------------------------------------
prefill_from_url(settings)
st.session_state.setdefault("sweep_mode", "grid")  # drawn selected: the mode in use is visible
mode = st.segmented_control(
    "How to choose the settings",
    ["grid", "random"],
    format_func={"grid": "A grid of values", "random": "Random search"}.get,
    key="sweep_mode",
    required=True,  # a second click on the selected mode keeps it (no mode is no mode)
    help="A grid tries every combination of the values you type; random search draws N "
    "settings from ranges (alpha log-uniformly) and is reproducible from its seed.",
)
c1, c2, c3, c4 = st.columns([3, 3, 2, 2])
# Small sweeps prefilled (4 runs): on a class server one click must not start dozens of runs.
if mode == "grid":
    hidden_text = c1.text_input(
        "hidden units", "10, 32", key="sweep_hidden", help="Comma-separated values."
    )
    alpha_text = c2.text_input(
        "alpha (learning rate)",
        "0.1, 0.5",
        key="sweep_alpha",
        help="Comma-separated values.",
    )
else:
    r1, r2 = c1.columns(2)
    n_text = r1.text_input("settings to draw", "4", key="sweep_n", help="1 to 64.")
    search_seed = r2.text_input(
        "search seed", "0", key="sweep_search_seed", help="The same seed draws the same settings."
    )
    alpha_range = c2.text_input(
        "alpha range", "0.01-1", key="sweep_alpha_range", help="low-high, drawn log-uniformly."
    )
    hidden_range = c2.text_input(
        "hidden units range", "10-128", key="sweep_hidden_range", help="low-high, whole numbers."
    )
seed_text = c3.text_input(
    "seeds",
    "0",
    key="sweep_seeds",
    help="Values or an inclusive range such as 0-2: every setting is trained with each seed, "
    "and the results show the mean, sample standard deviation and number of seeds.",
)
iterations = int(
    c4.number_input(
        "iterations",
        min_value=50,
        max_value=max(50, host.limits().max_iterations),  # NNMATH_MAX_ITERATIONS
        value=min(500, max(50, host.limits().max_iterations)),  # a limit under 500: no crash
        step=50,
        key="sweep_iterations",
        help="A multiple of 50, so longer cached runs answer exactly.",
    )
)

with st.expander("Where the sweep runs"):
    cores = os.cpu_count() or 1
    workers = int(
        st.number_input(
            "local worker processes",
            1,
            max(1, cores),
            min(2, cores),
            key="sweep_workers",
            help="Each worker trains one run with one BLAS thread.",
        )
    )
    # The scheduler is the host's setting only (engine.sweep.resolve_scheduler): an address
    # typed by a visitor would choose what this server connects to and reads from.
    address = sweep.resolve_scheduler(host.secrets_mapping())
    if address:
        st.caption(
            "Runs go to the Dask cluster this server's host configured (each worker must have "
            "this project installed); results are checked and saved here, in this server's "
            "run cache."
        )
    else:
        st.caption(
            f"Runs use {workers} local process(es) on this machine ({cores} cores). A Dask "
            f"cluster is the host's setting ({sweep.DASK_ENV} or st.secrets['dask_scheduler']); "
            "none is configured."
        )

base = settings.run_config(ds.fingerprint, dev.n)
max_runs = host.limits().max_sweep_runs  # NNMATH_MAX_SWEEP_RUNS
try:  # counted from the text first: a grid over the server's limit is never expanded
    if mode == "grid":
        axes = sweep.parse_grid(
            {"hidden": hidden_text, "alpha": alpha_text, "seed": seed_text}, max_runs=max_runs
        )
        configs = None
    else:
        drawn = search.parse_search(n_text, alpha_range, hidden_range, search_seed)
        axes = sweep.parse_grid({"seed": seed_text}, max_runs=max(1, max_runs // drawn.n))
        configs = search_configs(base, drawn, axes["seed"])
        axes = {"alpha": (), "hidden": (), **axes}
        st.query_params.update({**drawn.to_query(), "seeds": seed_text})
        st.caption(
            f"This search as a link: add `?{'&'.join(f'{k}={v}' for k, v in drawn.to_query().items())}"
            f"&seeds={seed_text}` to this page's address (it is in the address bar now)."
        )
except ValueError as e:
    st.error(str(e))
    st.stop()
configs = configs or sweep.expand_grid(base, axes)
largest = max(c.hidden for c in configs)
if largest > host.limits().max_hidden:
    st.error(
        f"hidden must be at most {host.limits().max_hidden} on this server "
        f"(NNMATH_MAX_HIDDEN), got {largest}"
    )
    st.stop()
plan = sweep.plan_sweep(store, configs, iterations)
sizes = (
    " × ".join(str(len(v)) for v in axes.values())
    if mode == "grid"
    else f"{len(configs) // len(axes['seed'])} settings × {len(axes['seed'])} seeds"
)
st.markdown(
    f"**{len(configs)} runs** ({sizes}): "
    f"{len(plan.cached)} already cached, **{len(plan.tasks)} to train**."
)

notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    (st.warning if "failed" in notice or "stopped" in notice else st.success)(notice)

launch = st.button(
    "Launch sweep",
    icon=":material/play_arrow:",
    type="primary",
    disabled=not plan.tasks,
    key="sweep_launch",
)
if launch:
    st.button(
        "Stop",
        icon=":material/stop:",
        key="sweep_stop",
        on_click=_stopped,
        help="Stops the runs in flight; finished runs are already saved.",
    )
    # A sweep's runs are trainings like Train's: the session's rate limit counts each of them,
    # and on this machine each waits for a slot of the server's training queue.
    lim = host.limits()
    wait = host.seconds_until_allowed(lim)
    if wait > 0:
        st.error(
            f"This session started {lim.runs_per_minute} trainings in the last minute, the most "
            f"a session may start per minute on this server (NNMATH_RUNS_PER_MINUTE): try "
            f"again in {wait:.0f} s."
        )
        st.stop()
    host.note_start(count=len(plan.tasks))
    overall = st.progress(0.0, text="Starting…")
    per_run = st.empty()
    client = None
    if address:
        try:
            client = dask_connection(address).client
        except Exception as e:
            st.error(
                f"Cannot reach the Dask cluster configured on this server ({type(e).__name__})."
            )
            st.stop()
    execution = sweep.SweepExecution(
        store,
        plan,
        train,
        dev,
        n_jobs=workers,
        backend="dask" if client is not None else "loky",
        client=client,
        data_key=settings.data,
        slots=host.slots(store.root, lim),
    )
    # Leaving the `with` block — normally, or because a click (Stop or any widget) makes Streamlit
    # interrupt this script run — tells the workers to stop. Finished runs are already saved, and
    # nothing below relies on code running after an interruption.
    with execution:
        for progress in execution.updates(interval=0.5):
            st.session_state[OUTCOMES_KEY] = {r.config.run_id: r for r in progress.runs}
            overall.progress(
                progress.fraction, text=f"{progress.done} of {progress.total} runs done"
            )
            per_run.dataframe(
                grid.progress_table(progress.table()),
                hide_index=True,
                placeholder=MISSING,
                width="stretch",
                column_config={
                    "progress": st.column_config.ProgressColumn(
                        "progress", min_value=0.0, max_value=1.0
                    ),
                    "alpha": st.column_config.NumberColumn(format="%g"),
                },
            )
    st.session_state[OUTCOMES_KEY] = execution.outcomes()
    st.session_state[NOTICE_KEY] = grid.outcome_text(execution.progress(), execution.error)
    st.rerun()  # draw the page again from the store: every new run is cached now

# ---- results ------------------------------------------------------------------------------------
table = grid.sweep_table(
    store, configs, iterations, st.session_state.get(OUTCOMES_KEY), dev_set=dev
)
if (table["status"] == "not run").all():
    st.info("No results for this grid yet: launch the sweep.")
    st.stop()

if mode == "random":
    st.subheader("The search at a glance")
    st.plotly_chart(
        search_figure(table),
        key="sweep_search_chart",
        width="stretch",
        config={"displayModeBar": False},
    )
    show_importance(table)
    every_run(table)
    st.stop()

luck = grid.seeds_only(table)  # one setting, several seeds: a one-cell grid would say nothing
if luck:
    st.subheader("Is this result luck?")
    st.markdown(luck)
    every_run(table)
    st.stop()

st.subheader("The grid at a glance")
choices = [n for n in ("alpha", "hidden", "seed") if n in axes]
a0, a1, a2 = st.columns(3)
metric = a0.selectbox(
    "metric",
    list(grid.HEATMAP_METRICS),
    format_func=lambda m: grid.HEATMAP_METRICS[m][0],
    key=metric_from_url(list(grid.HEATMAP_METRICS)),
    help="Dev accuracy (higher is better); training loss, dev ECE (calibration error) and dev "
    "NLL (lower is better). Kept in the URL as metric=.",
)
remember_metric(metric)
x_axis = a1.selectbox("x axis", choices, index=0, key="sweep_x")
y_axis = a2.selectbox("y axis", [n for n in choices if n != x_axis], index=0, key="sweep_y")
data = grid.heatmap_data(table, x=x_axis, y=y_axis, metric=metric)
by_id = {c.run_id: c for c in configs}
links = grid.cell_run_ids(data, configs, prefer_seed=settings.seed)
event = st.plotly_chart(
    heatmap_figure(data, links),
    key="sweep_heatmap",
    on_select="rerun",
    selection_mode="points",
    width="stretch",
    config={"displayModeBar": False},
)
events.one_tap_select("sweep_heatmap")  # one tap on a phone opens a cell, not hover-then-tap
st.caption(
    f"Cell text: the mean of {data.label} over the cell's runs (usually its seeds) ± their "
    "sample standard deviation, and how many runs: “85.0% ± 0.4 (3 seeds)”; “(1 of 3 seeds)”: "
    "only 1 of the cell's 3 runs has a result so far (launch the sweep to train the others). "
    + grid.colour_range(data)
    + " ★ = best cell (highest accuracy, or lowest loss, ECE or NLL). "
    "Dark red = diverged (loss not finite or over 10× its start — lower alpha). "
    "Grey = not run yet. Click a cell to open its run on Evaluate."
)

chosen = events.selected_key(event, by_id)
if chosen:
    st.switch_page(
        "pages/3_evaluate.py",
        query_params=compare.permalink_params(by_id[chosen], iterations, settings.data),
    )

if data.best is not None:
    best_id = links[data.best]
    best = by_id[best_id]
    st.page_link(
        "pages/3_evaluate.py",
        icon=":material/star:",
        label=f"Open the best run on Evaluate: {run_label(best)}",
        query_params=compare.permalink_params(best, iterations, settings.data),
    )

show_importance(table)
every_run(table)

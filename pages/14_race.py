"""Race: the same network trained with two to four optimizers at their usual rates, one click,
curves overlaid; the link replays the race."""

import streamlit as st

from engine.config import run_label
from ui import race as glue
from ui import session
from ui.state import consume_link, init_state, opened_from_link, sync_url
from views import race
from views.format import MISSING, PERCENT_COLUMN

settings = init_state()
st.title("Race of optimizers")
st.caption(
    "The current settings (network, data, seed, iterations) trained with each update rule at its "
    "usual learning rate, one after another through the server's training queue. Runs already "
    "cached come back at once; the link replays the race."
)
try:
    chosen = race.parse_race(st.query_params.get("race") or race.format_race(race.DEFAULT_RACE))
except ValueError as e:
    st.warning(f"{e}; showing the default race.")
    chosen = race.DEFAULT_RACE
names = st.multiselect(
    "Racers",
    list(race.RACERS),
    default=list(chosen),
    max_selections=race.MAX_RACERS,
    format_func=lambda n: f"{race.NAMES[n]} (alpha {race.RACERS[n]['alpha']:g})",
    key="race_racers",
)
if len(names) < race.MIN_RACERS:
    st.info(f"Pick {race.MIN_RACERS} to {race.MAX_RACERS} racers.")
    st.stop()
sync_url(settings, race=race.format_race(names))
st.caption(f"Base: {run_label(settings, settings.iterations)}.")

session.split_or_stop(settings.data)  # a dataset this server cannot use: say so, stop here
runs = glue.open_race(settings, names)
refused = glue.refusal(runs)
if refused:
    st.error(refused + " Nothing was lost: cached runs stay as they are.")
    st.stop()
clicked = st.button("Race", type="primary", key="race", icon=":material/sports_score:")
if any(r.result is None for r in runs.values()) and (clicked or opened_from_link()):
    consume_link()
    runs = glue.run_race(runs)
consume_link()
if any(r.result is None for r in runs.values()):
    missing = [race.NAMES[n] for n, r in runs.items() if r.result is None]
    st.info(f"Not raced yet ({', '.join(missing)} to train): press Race.")
    st.stop()

labels = glue.labels(runs)
results = {n: r.result for n, r in runs.items()}
best = race.winner(results)
st.success(race.winner_text(results, labels))
st.plotly_chart(
    race.race_figure(
        {n: r.history for n, r in results.items()}, labels, settings.iterations, finals=results
    ),
    width="stretch",
    key="race_curves",
    config={"displayModeBar": False},  # its toolbar would cover the legend
)
st.space("medium")  # room for the table's toolbar, drawn above it (it covered the curves)
st.dataframe(
    race.race_table(results, labels),
    hide_index=True,
    width="stretch",
    placeholder=MISSING,  # a racer that never reached the mark: "—", not "None"
    column_config={
        "dev accuracy": st.column_config.NumberColumn(format=PERCENT_COLUMN),
        "train accuracy": st.column_config.NumberColumn(format=PERCENT_COLUMN),
        "loss": st.column_config.NumberColumn(format="%.3f"),
    },
)
first = next(iter(runs))
other = best if best != first else next(n for n in runs if n != first)
st.page_link(
    "pages/8_compare.py",
    label=f"Compare {race.NAMES[first]} (A) with {race.NAMES[other]} (B), image by image",
    icon=":material/compare_arrows:",
    query_params={"a": runs[first].config.run_id, "b": runs[other].config.run_id},
)
st.markdown("**Link to this race** (replays it; runs already cached come back at once):")
st.code(session.permalink(settings, race=race.format_race(names)), language=None)

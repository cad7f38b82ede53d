"""Train: choose the settings, train with live curves (stoppable), read the outcome."""

from dataclasses import replace

import streamlit as st

from engine.config import (
    ALPHAS,
    BATCH_SIZES,
    CHOICES,
    DROPOUTS,
    EPSILONS,
    OPTIMIZER_NAMES,
    WEIGHT_DECAYS,
    Settings,
    bounds,
    loss_help,
)
from engine.slots import stopped_by_limit
from nnmath import AUGMENTATIONS, OPTIMIZERS, SCHEDULES, History, Status
from nnmath.corrupt import LEVELS, UNITS
from ui import classroom, coach, host, session, teacher
from ui.state import (
    consume_link,
    init_state,
    opened_from_link,
    set_settings,
    sync_url,
    widget_key,
)
from views import compare, figures, glossary
from views.format import TRAINING_TIME_HELP, number, pct, seconds, span

settings = init_state()
exercise = teacher.exercise()  # a teacher's link: locked and hidden controls
compact = teacher.embedded()
st.title("Train")
if not compact:
    st.caption(
        "Pick the settings, press Train, and watch loss and accuracy evolve. Every run is kept: "
        "the same settings later (by anyone on this server) come back instantly, fewer "
        "iterations are cut from the cached run and more iterations continue it."
    )
if exercise.locked:
    st.caption(teacher.set_for_exercise(settings, exercise))
if settings.model is not None:
    st.info(
        f"An uploaded model is in use ({settings.model}): it was not trained here, and it is "
        "never trained here — Evaluate, Mistakes, Weights, Draw, Why and Lab show it on the "
        "current dataset. Stop using it to pick settings and train a run."
    )
    session.drop_model_button(settings)
    st.stop()


def shown(name: str) -> bool:
    return not exercise.is_hidden(name)


within = bounds(**host.bounds())  # every number box bounded on both sides, as the URL is
c1, c2, c3, c4 = st.columns(4)
hidden = settings.hidden
if shown("hidden"):
    hidden = c1.number_input(
        "Hidden units",
        step=1,
        min_value=int(within["hidden"].low),
        max_value=int(within["hidden"].high),
        key=widget_key("hidden", settings),
        disabled=exercise.is_locked("hidden"),
        help="Size of the hidden layer (the notebook uses 10 ReLU units). "
        + glossary.link("hidden-unit"),
    )
alpha = settings.alpha
if shown("alpha"):
    alpha = c2.select_slider(
        "Learning rate alpha (log scale)",
        options=sorted(set(ALPHAS) | {settings.alpha}),
        key=widget_key("alpha", settings),
        disabled=exercise.is_locked("alpha"),
        format_func=lambda a: f"{a:g}",
        help="Step size of gradient descent (the notebook uses 0.1). Too large and the loss "
        "blows up. " + glossary.link("alpha"),
    )
iterations = settings.iterations
if shown("iterations"):
    iterations = c3.number_input(
        "Iterations",
        step=50,
        min_value=int(within["iterations"].low),
        max_value=int(within["iterations"].high),
        key=widget_key("iterations", settings),
        disabled=exercise.is_locked("iterations"),
        help="Gradient-descent updates (the notebook uses 500). " + glossary.link("iteration"),
    )
seed = settings.seed
if shown("seed"):
    seed = c4.number_input(
        "Seed",
        step=1,
        min_value=int(within["seed"].low),
        max_value=int(within["seed"].high),
        key=widget_key("seed", settings),
        disabled=exercise.is_locked("seed"),
        help="Seed of the initial weights: same seed, same numbers. " + glossary.link("seed"),
    )
init, dtype, batch = settings.init, settings.dtype, settings.batch_size
activation = settings.activation
if shown("advanced"):
    with st.expander("Advanced: initialisation, precision, mini-batches, activation"):
        a1, a2, a3, a4 = st.columns(4)
        init = a1.selectbox(
            "Initialisation",
            list(dict.fromkeys([*CHOICES["init"], settings.init])),
            key=widget_key("init", settings),
            disabled=exercise.is_locked("init"),
            help="uniform: every weight U[-0.5, 0.5] as in the notebook; "
            "he: Gaussian scaled by sqrt(2 / fan-in). " + glossary.link("initialisation"),
        )
        dtype = a2.selectbox(
            "Precision",
            list(dict.fromkeys([*CHOICES["dtype"], settings.dtype])),
            key=widget_key("dtype", settings),
            disabled=exercise.is_locked("dtype"),
        )
        # 0 stands for None (full batch) in the box: a select box holding None shows its
        # placeholder "Choose an option", as if nothing were chosen
        batch = (
            a3.selectbox(
                "Batch size",
                list(dict.fromkeys([0, *filter(None, BATCH_SIZES), settings.batch_size or 0])),
                key=widget_key("batch_size", settings, shown=0),
                disabled=exercise.is_locked("batch"),
                format_func=lambda b: "full batch (notebook)" if not b else f"{b:,}",
                help="Images per gradient step: full batch uses every training image in each step, "
                "as the notebook does. " + glossary.link("batch"),
            )
            or None
        )
        activation = a4.selectbox(
            "Hidden activation",
            list(dict.fromkeys([*CHOICES["activation"], settings.activation])),
            key=widget_key("activation", settings),
            disabled=exercise.is_locked("activation"),
            help="g in A1 = g(Z1): ReLU in the notebook. Every page evaluates the run with its "
            "own. " + glossary.link("activation"),
        )

extra = {}  # the settings beyond plain gradient descent, when changed here
if shown("advanced"):
    with st.expander("Advanced: optimizer, weight decay, schedule, dropout, augmentation"):
        if not compact:
            st.caption(
                "Beyond the notebook's plain gradient descent; the updates are torch.optim's "
                "(see the Math page for the equations with real numbers)."
            )
        o1, o2, o3, o4 = st.columns(4)
        extra["optimizer"] = o1.selectbox(
            "Optimizer",
            OPTIMIZERS,
            key=widget_key("optimizer", settings),
            disabled=exercise.is_locked("optimizer"),
            format_func=lambda o: OPTIMIZER_NAMES[o],
            help="gd: W <- W - alpha dW (the notebook). momentum/Nesterov keep a velocity "
            "(torch's SGD, mu below); Adam keeps running means of dW and dW² (usual alpha "
            "0.001-0.01). " + glossary.link("optimizer"),
        )
        if extra["optimizer"] in ("momentum", "nesterov"):
            extra["momentum"] = o2.number_input(
                "Momentum mu", step=0.05, key=widget_key("momentum", settings)
            )
        if extra["optimizer"] == "adam":
            extra["beta1"] = o2.number_input("beta1", step=0.01, key=widget_key("beta1", settings))
            extra["beta2"] = o3.number_input(
                "beta2", step=0.001, format="%.4f", key=widget_key("beta2", settings)
            )
            extra["eps"] = o4.select_slider(
                "eps", EPSILONS, key=widget_key("eps", settings), format_func=lambda e: f"{e:g}"
            )
        s1, s2, s3, s4 = st.columns(4)
        extra["weight_decay"] = s1.select_slider(
            "Weight decay (L2)",
            sorted(set(WEIGHT_DECAYS) | {settings.weight_decay}),
            key=widget_key("weight_decay", settings),
            disabled=exercise.is_locked("weight_decay"),
            format_func=lambda w: f"{w:g}",
            help="lambda * W added to the gradient of W1 and W2 (not the biases), as torch's "
            "weight_decay. The loss shown stays the cross-entropy, without the penalty. "
            + glossary.link("weight-decay"),
        )
        extra["schedule"] = s2.selectbox(
            "Learning-rate schedule",
            SCHEDULES,
            key=widget_key("schedule", settings),
            disabled=exercise.is_locked("schedule"),
            help="constant (notebook); step: alpha × gamma every N updates; cosine: alpha to 0 "
            "over a horizon of updates. Never tied to the run's length, so longer runs "
            "continue shorter ones. " + glossary.link("schedule"),
        )
        if extra["schedule"] == "step":
            extra["step_every"] = s3.number_input(
                "Every N updates", step=50, key=widget_key("step_every", settings)
            )
            extra["gamma"] = s4.number_input("gamma", step=0.05, key=widget_key("gamma", settings))
        if extra["schedule"] == "cosine":
            extra["horizon"] = s3.number_input(
                "Horizon (updates)", step=100, key=widget_key("horizon", settings)
            )
        d1, d2, d3, _ = st.columns(4)
        extra["dropout"] = d1.select_slider(
            "Dropout (hidden layer)",
            sorted(set(DROPOUTS) | {settings.dropout}),
            format_func=lambda p: f"{p:g}",
            key=widget_key("dropout", settings),
            disabled=exercise.is_locked("dropout"),
            help="Share of hidden units switched off per image in training (inverted dropout); "
            "none when evaluating. " + glossary.link("dropout"),
        )
        extra["augment"] = d2.selectbox(
            "Augmentation",
            AUGMENTATIONS,
            key=widget_key("augment", settings),
            disabled=exercise.is_locked("augment"),
            help="Each training image corrupted anew every iteration (random level up to the "
            "one chosen), as the Lab's robustness curves corrupt the dev images. "
            + glossary.link("augmentation"),
        )
        if extra["augment"] == "none":
            extra["augment_level"] = 0.0  # unused: kept out of the URL
        else:
            levels = [lv for lv in LEVELS[extra["augment"]] if lv > 0]
            if settings.augment_level not in levels:
                st.session_state[widget_key("augment_level", settings)] = levels[len(levels) // 2]
            extra["augment_level"] = d3.select_slider(
                f"Up to ({UNITS[extra['augment']]})",
                levels,
                key=widget_key("augment_level", settings),
                format_func=lambda v: f"{v:g}",
            )


def teacher_link_maker(settings: Settings) -> None:
    """The link a teacher sends a class: these settings, some controls locked or hidden."""
    if exercise:
        return  # students of an exercise get no way to make another one here
    with st.expander("Make a teacher's link: these settings, with controls locked or hidden"):
        t1, t2 = st.columns(2)
        locked = t1.multiselect(
            "Lock (shown, cannot be changed)",
            teacher.LOCKABLE,
            default=["hidden", "iterations", "seed"],
            key="teacher_lock",
        )
        hidden = t2.multiselect("Hide", teacher.HIDEABLE, default=["advanced"], key="teacher_hide")
        st.code(
            teacher.link(session.page_url(), settings.to_query(), locked, hidden),
            language=None,
        )
        st.caption(
            "Students who open it get these settings, can change only what is neither locked "
            "nor hidden, and keep the exercise as they move between pages. Add &embed=true to "
            "embed the page in another site (compact layout)."
        )


new = replace(
    settings,
    hidden=int(hidden),
    alpha=float(alpha),
    iterations=int(iterations),
    seed=int(seed),
    init=init,
    dtype=dtype,
    batch_size=batch,
    activation=activation,
    **extra,
)
if new != settings:
    settings = new
    set_settings(new, from_widgets=True)
    sync_url(new)

b1, b2, _ = st.columns([1, 1, 4])
clicked = b1.button("Train", type="primary", key="train", icon=":material/play_arrow:")
problems = settings.problems(**host.bounds())
if problems:
    st.error(
        "Cannot train with these settings: "
        + "; ".join(problems)
        + ". Nothing was lost: cached runs stay as they are."
    )
    st.stop()

run = session.current_run(settings, train_if_missing=False)
if run is None:
    st.stop()
if run.result is None and (clicked or opened_from_link()):
    consume_link()  # started: Stop (which reruns the page) must not start the link's run again
    stop = b2.empty()  # shown while training only
    stop.button(
        "Stop",
        key="stop",
        icon=":material/stop:",
        help="Stop training; what was computed so far is kept.",
    )
    run = session.current_run(settings, train_if_missing=True)
    stop.empty()
consume_link()
if run is None:
    st.stop()
classroom.note_run(run)  # a student's run shown here is recorded for their class (once)

result = run.result
if result is None:
    latest = run.latest
    if latest is not None and latest.iterations < settings.iterations:
        st.warning(
            (
                f"A run with these settings was interrupted at iteration {latest.iterations:,} "
                f"of {settings.iterations:,} (its last checkpoint: the server restarted, or "
                "another session is training it right now)."
                if latest.status == Status.PARTIAL
                else f"A run with these settings was {latest.status} at iteration "
                f"{latest.iterations:,} of {settings.iterations:,}."
            )
            + " Press Train to continue from there (it is not trained again from scratch)."
        )
        st.plotly_chart(
            figures.training_curves(latest.history, total=settings.iterations),
            width="stretch",
            key="curves",
            config={"displayModeBar": False},  # its toolbar would cover the legend
        )
    else:
        st.info("Not trained yet with these settings: press Train.")
        # What training fills in, drawn empty now: the progress bar, the metrics and the curves'
        # axes. The browser then loads their code (the chart library alone is 4.7 MB) with the
        # page, not while the first Train click trains on the same cores.
        st.progress(0.0, text=f"0 of {settings.iterations:,} iterations")
        empty = st.columns(4)
        for column, name in zip(empty, ("Dev accuracy", "Train accuracy", "Loss", "Training time")):
            column.metric(name, "—")
        st.plotly_chart(
            figures.training_curves(History.empty(), total=settings.iterations),
            width="stretch",
            key="curves",
            config={"displayModeBar": False},  # its toolbar would cover the legend
        )
    if not (compact or exercise.is_hidden("links")):
        st.markdown(
            "**Link to these settings** (whoever opens it on this server sees this run, "
            "trained for them if it is not cached yet):"
        )
        st.code(session.permalink(settings), language=None)
        teacher_link_maker(settings)
    st.stop()

if result.status == Status.DIVERGED:
    st.error(
        f"**Diverged at iteration {result.diverged_at}**: the loss after "
        f"{result.diverged_at:,} update{'s' if result.diverged_at != 1 else ''} blew up (not "
        "finite, or over 10× its starting value), so training stopped and kept the last good "
        f"parameters, those of iteration {result.iterations:,} (this run counts "
        f"{result.iterations:,} iterations, as Runs shows). Try a smaller learning rate (alpha "
        f"{settings.alpha / 4:g} or {settings.alpha / 10:g}), or the 'he' initialisation under "
        "Advanced."
    )
elif result.status == Status.STOPPED:
    st.warning(
        f"Stopped at iteration {result.iterations:,} of {settings.iterations:,}"
        + (
            f", at this server's limit of {span(host.limits().max_train_seconds)} of "
            "training at a time, so that everyone's runs get their turn"
            if stopped_by_limit(result.message)
            else ""
        )
        + ". What was computed is kept: press Train to continue from there."
    )
elif run.trained_now or run.waited:
    st.success(run.outcome())  # as "Training time" counts it; waiting said apart
else:
    st.success(
        f"{result.iterations:,} iterations, served from the run cache "
        f"(training took {seconds(result.elapsed)})."
    )

m1, m2, m3, m4 = st.columns(4)
m1.metric("Dev accuracy", pct(result.dev_accuracy), help=glossary.help("dev-accuracy"))
m2.metric("Train accuracy", pct(result.train_accuracy), help=glossary.help("train-accuracy"))
m3.metric(
    "Loss", number(result.loss, ".3f"), help=f"{loss_help(settings)}\n\n{glossary.help('loss')}"
)
m4.metric("Training time", seconds(result.elapsed), help=TRAINING_TIME_HELP)
coach.show(run, here=True)
st.plotly_chart(
    figures.training_curves(
        result.history, total=settings.iterations, diverged_at=result.diverged_at, final=result
    ),
    width="stretch",
    key="curves",
    config={"displayModeBar": False},  # its toolbar would cover the legend
)
if not (compact or exercise.is_hidden("links")):
    if not run.uploaded:  # a model file has no settings to train again
        s1, s2 = st.columns([1, 3], vertical_alignment="bottom")
        n_seeds = s1.number_input(
            "repeats", 2, compare.MAX_REPEAT, 5, key="train_repeat_seeds", help="How many seeds."
        )
        s2.page_link(
            "pages/7_sweep.py",
            label=f"Is this result luck? Repeat these settings with {n_seeds} seeds",
            icon=":material/repeat:",
            query_params=compare.repeat_params(
                run.config, result.iterations, settings.data, n_seeds
            ),
        )
    st.markdown("**Link to this run** (opens the same numbers in any browser on this server):")
    st.code(session.permalink(settings), language=None)
    teacher_link_maker(settings)

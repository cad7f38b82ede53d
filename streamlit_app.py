"""Router and Home page: `streamlit run streamlit_app.py`.

The page list and the router live in ui/navigation.py (one table, checked by tests against pages/).
"""

import streamlit as st

from ui import teacher
from ui.navigation import FAVICON, PAGES, route

# The icon is a file served by this server: a material icon (":material/…") would make every
# browser fetch it from fonts.gstatic.com.
st.set_page_config(page_title="nnmath · MNIST from scratch", page_icon=str(FAVICON), layout="wide")


def home() -> None:
    from nnmath import Status
    from ui import coach, session, teacher
    from ui.state import init_state, set_settings, sync_url
    from views import glossary
    from views.format import TRAINING_TIME_HELP, number, pct, seconds

    settings = init_state()
    st.title("nnmath — watch a neural network learn handwritten digits")
    st.markdown(
        "This is the classic two-layer network of the *neural network from scratch* notebooks "
        "(784 pixels → hidden ReLU units → 10-way softmax, trained by gradient descent) written in "
        "NumPy. Train it here, then look at how it learned, which digits it confuses, which images "
        "it gets wrong and what its hidden units look for — and share a link to any run."
    )

    st.page_link(
        "pages/0_lessons.py", label="**New here? Start with the lessons**", icon=":material/school:"
    )
    ds, train, dev = session.split_or_stop(settings.data)
    sizes = (
        f"{train.n:,} to train on, {dev.n:,} held out (dev)"
        if train is not None
        else "no labels: cannot be trained on"
    )
    st.markdown(f"**Dataset:** {ds.name} — {ds.n:,} images, {sizes}.")

    nb = settings.notebook()
    clicked = st.button(
        "Train with the notebook's settings (hidden 10, alpha 0.1, 500 iterations)",
        type="primary",
        key="home_train",
        icon=":material/play_arrow:",
        disabled=bool(teacher.exercise().locked),  # a teacher's link set the settings
    )
    if clicked:
        settings = nb
        set_settings(nb)
        sync_url(nb)
    run = session.current_run(settings, train_if_missing=clicked)
    if run is not None and run.result is not None:
        r = run.result
        how = (
            session.NO_HISTORY
            if run.uploaded
            else "trained just now"
            if run.trained_now
            else "served from the run cache (trained earlier)"
        )
        st.markdown(f"**Current run:** {run.label} — {how}.")
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Dev accuracy", pct(r.dev_accuracy), help=glossary.help("dev-accuracy"))
        c2.metric("Train accuracy", pct(r.train_accuracy), help=glossary.help("train-accuracy"))
        c3.metric("Loss", number(r.loss, ".3f"), help=glossary.help("loss"))
        c4.metric(
            "Training time",
            "not trained here" if run.uploaded else seconds(r.elapsed),
            help=TRAINING_TIME_HELP,
        )
        if r.status == Status.DIVERGED:
            st.error(f"This run diverged: {r.message}")
        coach.show(run)
    elif run is not None:
        st.info("No run for the current settings yet: train one above or on the Train page.")

    st.subheader("Where to go")
    for p in PAGES[1:]:
        st.page_link(p.source, label=f"**{p.title}** — {p.question}", icon=p.icon)


route(home, position="hidden" if teacher.embedded() else "sidebar")

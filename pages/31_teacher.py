"""Teacher: a class opened with its code and teacher key — the roster and each student's
progress, the class's guesses at every predict step, who got each by-hand step right in how many
tries, the runs (click one to open it), the challenge board, a CSV export, and deleting the class.
The only page that shows students' nicknames."""

import streamlit as st

from ui import classroom
from ui.state import init_state
from views import classroom as view

init_state()
st.title("Teacher")
room = classroom.classroom_or_stop()
opened = classroom.teacher_login()

if opened is None:
    st.caption("Open your class with its code and the teacher key you got when you created it.")
    with st.form("teacher_open"):
        code = st.text_input("Class code", value=st.query_params.get("class", ""), key="t_code")
        key = st.text_input("Teacher key", type="password", key="t_key")
        go = st.form_submit_button("Open", type="primary", icon=":material/lock_open:")
    if go:
        opened = classroom.teacher_open(code, key)
    if opened is None:
        st.page_link("pages/30_class.py", label="Create a class", icon=":material/group_add:")
        st.stop()

code, key = opened
try:
    name = room.name(code, key)
    members = room.roster(code, key)
    records = room.records(code, key)
    runs = room.runs(code, key)
except PermissionError as e:
    classroom.teacher_close()
    st.error(f"{e}.")
    st.stop()

st.markdown(f"**{name}** · code **{code}** · {len(members)} student(s) · {len(runs)} run(s)")
st.code(classroom.join_link(code), language=None, wrap_lines=True)  # whole on a phone
if st.button("Refresh", icon=":material/refresh:", key="t_refresh"):
    st.rerun()

st.subheader("Students")
if not members:
    st.info("No student has joined yet: give them the join link above.")
else:
    answered = {lesson for m in members for lesson in m.steps}
    lessons = [c for c in classroom.lesson_columns() if c[0] in answered]
    st.table(view.progress_table(members, lessons).set_index("nickname"))

predicts = list(dict.fromkeys((r.lesson, r.step) for r in records if r.correct is None))
if predicts:
    st.subheader("Guesses")
    from engine.classroom import first_answers

    for lesson, step in predicts:
        first = first_answers(records, lesson, step)
        shown = classroom.predict_view(lesson, step, list(first.values()))
        real = (
            f" · the run: **{shown.truth:.4g}**"
            if shown.truth is not None
            else f" · the run: **{' / '.join(shown.right)}**"
            if shown.right
            else " · the run's result appears once its run is trained"
        )
        st.markdown(f"**{shown.title}** — {len(first)} answer(s){real}")
        left, right = st.columns([3, 2])
        left.plotly_chart(
            view.guesses_figure(shown.values, truth=shown.truth, right=shown.right),
            width="stretch",
            config={"displayModeBar": False},
            key=f"t_guesses_{lesson}_{step}",
        )
        right.table(
            {"nickname": list(first), "answer": [view.answer_text(v) for v in shown.values]},
        )

by_hand = list(dict.fromkeys((r.lesson, r.step) for r in records if r.correct is not None))
if by_hand:
    st.subheader("By hand")
    for lesson, step in by_hand:
        st.markdown(f"**{classroom.step_title(lesson, step)}**")
        # a table, as above: a dataframe's toolbar covered the end of the step's title on a phone
        st.table(view.tries_table(records, lesson, step).set_index("nickname"))

st.subheader("Runs")
if not runs:
    st.info("No run yet: students' runs appear here once they train one on Train.")
else:
    event = st.plotly_chart(
        view.runs_figure(runs),
        key="t_runs",
        on_select="rerun",
        selection_mode="points",
        width="stretch",
        config={"displayModeBar": False},
    )
    st.caption("One point per student run. Click a point to open that run on Train.")
    chosen = classroom.clicked_run(event, runs)
    if chosen is not None:
        st.switch_page("pages/2_train.py", query_params=chosen)
    st.markdown(
        f"**Challenge board** — best dev accuracy in at most "
        f"{view.CHALLENGE_ITERATIONS:,} iterations"
    )
    # a table that wraps to the screen: six columns of a dataframe ran past a phone's edge
    st.table(view.challenge_board(runs))

st.subheader("Export and delete")
st.download_button(
    "Download everything as CSV",
    view.export_csv(records, runs),
    file_name=f"class-{code}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="t_csv",
)
with st.expander("Delete this class"):
    st.caption(
        "Removes the class, its students' nicknames, their answers and their run records from "
        "the database, at once and for good (the runs themselves stay in the run cache, "
        "without names)."
    )
    sure = st.checkbox(f"Yes, delete {name} and everything recorded in it", key="t_sure")
    if st.button("Delete the class", disabled=not sure, icon=":material/delete:", key="t_delete"):
        room.delete(code, key)
        classroom.teacher_close()
        st.success(f"{name} is deleted.")
        st.stop()

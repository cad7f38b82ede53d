"""Class: a student joins with the class code and a nickname (a join link fills the code in) and
sees their own answers and, for each question they answered, the class's answers without names;
a teacher creates a class here and gets its code and key."""

import streamlit as st

from ui import classroom
from ui.state import init_state

init_state()
st.title("Class")
room = classroom.classroom_or_stop()
me = classroom.member()
wanted = classroom.normal_join_code()

if me is None or (wanted and wanted != me.code):
    st.subheader("Join a class")
    st.caption(
        "Your teacher gives you a class code or a join link. Pick a nickname the teacher will "
        "recognise — no real name or e-mail needed. Your lesson answers and the runs you train "
        "are then recorded for your teacher."
    )
    with st.form("class_join"):
        code = st.text_input("Class code", value=wanted, max_chars=16, key="class_code")
        nick = st.text_input("Nickname", max_chars=24, key="class_nickname")
        joined = st.form_submit_button("Join", type="primary", icon=":material/login:")
    if joined:
        try:
            classroom.enter(room.join(code, nick))
        except (ValueError, LookupError) as e:
            st.error(f"Could not join: {e}.")
        else:
            classroom.clear_join_code()
            st.rerun()
else:
    st.success(f"You are in class **{me.name}** as **{me.nickname}**.")
    st.caption(
        "This tab's address keeps you in the class: bookmark it to come back. Do not share it "
        "— whoever opens it records as you."
    )
    try:
        mine = room.own(classroom.student_id())
    except LookupError:  # the teacher deleted the class since this tab joined it
        classroom.leave()
        st.warning("Your class no longer exists (the teacher deleted it).")
        st.stop()
    if not mine:
        st.info("Nothing recorded yet: answer a lesson's questions, or train a run on Train.")
    answered = list(dict.fromkeys((r.lesson, r.step) for r in mine if r.correct is None))
    for lesson, step in answered:
        own = next(r.value for r in mine if (r.lesson, r.step) == (lesson, step))
        shown = classroom.predict_view(lesson, step, [own])
        st.markdown(f"**{shown.title}** — your answer: **{shown.values[0]}**")
        classroom.class_guesses(lesson, step)
    tried = list(dict.fromkeys((r.lesson, r.step) for r in mine if r.correct is not None))
    for lesson, step in tried:
        results = [r.correct for r in mine if (r.lesson, r.step) == (lesson, step)]
        verdict = f"right at try {results.index(True) + 1}" if True in results else "not yet"
        title = classroom.step_title(lesson, step)
        st.markdown(f"**{title}** (by hand): {len(results)} tries, {verdict}.")
    if st.button("Leave the class", icon=":material/logout:", key="class_leave"):
        classroom.leave()
        st.rerun()

st.divider()
st.subheader("Teach a class")
created = classroom.created()
if created is None:
    st.caption(
        "Create a class to follow your students: you get a join code for them and a teacher "
        "key for you. The key is shown once and stored only as a salted hash."
    )
    with st.form("class_create"):
        name = st.text_input("Class name", max_chars=80, key="class_name")
        make = st.form_submit_button("Create a class", icon=":material/group_add:")
    if make:
        try:
            created = classroom.create(name)
        except ValueError as e:
            st.error(f"Could not create the class: {e}.")
if created is not None:
    code, key, name = created
    st.success(f"Class **{name}** created. Its code: **{code}**.")
    st.markdown("**Join link** for your students:")
    st.code(classroom.join_link(code), language=None)
    st.markdown("**Teacher key** — write it down now, it is not shown again:")
    st.code(key, language=None)
    st.page_link(
        "pages/31_teacher.py",
        label="Open the teacher's page",
        icon=":material/co_present:",
        query_params={"class": code},
    )

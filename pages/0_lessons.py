"""Lessons: the notebook taught step by step — read, predict, run, and backprop done by hand."""

import streamlit as st

from ui import lessons as ul
from ui.state import init_state

init_state()
lesson_id, number = ul.position()
lesson = ul.find(lesson_id) if lesson_id else None

if lesson is None:
    st.title("Lessons")
    st.markdown(
        "The notebook's network, one idea at a time. Each lesson takes 5–10 minutes: you read, "
        "**guess before the machine answers**, run the real network, and compute some of its "
        "numbers **by hand**, checked against the network's own."
    )
    if lesson_id:
        st.error(f"There is no lesson {lesson_id!r} on this server: pick one below.")
    left = ul.last()
    if left is not None and st.button(
        f"Continue “{left[0].title}” at step {left[1]}",
        key="lesson_continue",
        type="primary",
        icon=":material/play_arrow:",
    ):
        ul.go(left[0].id, left[1])
        st.rerun()
    for i, item in enumerate(ul.course(), start=1):
        with st.container(border=True):
            st.markdown(
                f"**{i}. {item.title}** · {item.minutes} min{ul.progress_text(item)}  \n"
                f"{item.summary}"
            )
            if st.button("Start", key=f"start_{item.id}", icon=":material/school:"):
                ul.go(item.id, 1)
                st.rerun()
    with st.expander("Teachers: use your own lesson file"):
        st.markdown(
            "Write a lesson as a text file (the format: docs/lessons.md), upload it here and "
            "share the link it gets. A file with problems is refused with the line of each."
        )
        uploaded = st.file_uploader(
            "Lesson file (.md)", type=["md", "txt"], key="lesson_upload", max_upload_size=1
        )
        if uploaded is not None:
            kept = ul.upload(uploaded)
            if kept is not None:
                st.success(f"{kept.title}: {len(kept.steps)} steps, checked and kept.")
                st.code(ul.link(kept), language=None)
                st.page_link(
                    "pages/0_lessons.py",
                    label="Open it",
                    icon=":material/link:",
                    query_params={"lesson": kept.id, "step": "1"},
                )
    st.stop()

count = len(lesson.steps)
if not 1 <= number <= count:  # a link with a step this lesson does not have
    number = min(max(number, 1), count)
    ul.go(lesson.id, number)
step = lesson.steps[number - 1]
st.title(lesson.title)
st.progress(number / count, text=f"Step {number} of {count} · {step.kind}")
ul.draw(lesson, step)

# one row that wraps only when it must: three columns stacked on a phone, Next last, below the fold
back = course = forward = st.container(
    horizontal=True, horizontal_alignment="distribute", key="lesson_nav"
)
if back.button("Back", key="lesson_back", disabled=number == 1, icon=":material/arrow_back:"):
    ul.go(lesson.id, number - 1)
    st.rerun()
if course.button("All lessons", key="lesson_list", icon=":material/list:"):
    ul.go(None)
    st.rerun()
if number < count:
    if forward.button(
        "Next",
        key="lesson_next",
        type="primary",
        disabled=not ul.done(lesson, step),
        icon=":material/arrow_forward:",
    ):
        ul.go(lesson.id, number + 1)
        st.rerun()
else:
    forward.success("Lesson complete.")
    after = ul.following(lesson)  # a finished lesson leads on, not into a dead end
    if after is None:
        st.caption(
            "That was the last lesson here: the pages in the sidebar are yours to explore, "
            "or pick any lesson again from All lessons."
        )
    elif st.button(
        f"Next lesson: {after.title}",
        key="lesson_following",
        type="primary",
        icon=":material/arrow_forward:",
    ):
        ul.go(after.id, 1)
        st.rerun()

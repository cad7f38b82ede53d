"""Streamlit glue: the only Streamlit code outside ``pages/`` and ``streamlit_app.py``.

- ``navigation``: the page table and the router (``st.navigation``).
- ``state``: the session's settings, mirrored in the URL.
- ``session``: cached datasets and results, the current run, live training with Stop.
- ``events``: what was clicked in a plotly chart.
- ``host`` / ``teacher``: a hosted class's limits and queue messages; teacher links.
- ``explain``, ``inside``, ``downloads``, ``submission``: glue of the pages that use them.
"""

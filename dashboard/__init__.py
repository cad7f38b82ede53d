"""Glue between the pages and the libraries below them.

- ``runs``: a run's identity (:class:`~dashboard.runs.RunConfig`) and the on-disk run store shared by
  every session of the server (file-locked, bounded in size).
- ``state``: the settings a page shows, kept in ``st.session_state`` and mirrored in the URL.
- ``datasets``: the ``data`` URL value ("sample", a file under data/downloads, "upload-<fp>").
- ``session``: Streamlit-side helpers (cached datasets, training with progress, cached evaluation).
- ``metrics`` and ``figures``: pure functions (arrays -> tables, results -> plotly figures).
"""

"""The run engine: everything about runs that is not drawing them. No Streamlit, no plotly.

- ``config``: :class:`~engine.config.RunConfig` (a run's identity: nnmath.TrainConfig + the
  dataset) and :class:`~engine.config.Settings` (what a page shows: TrainConfig + data key +
  iterations, and its URL form); the run label.
- ``store``: the on-disk run store shared by every session (file-locked, bounded in bytes) and
  :func:`~engine.store.plan`, the one rule that decides serve / resume / extend / train.
- ``datasets``: the ``data`` URL value -> a data.Dataset (embedded sample, downloads, uploads).
- ``sweep``: grids of settings trained in parallel (joblib: local processes or a Dask cluster).
- ``values``: NaN-aware number conversion for records and tables.
"""

"""The run engine: everything about runs that is not drawing them. No Streamlit, no plotly.

- ``config``: :class:`~engine.config.RunConfig` (a run's identity: nnmath.TrainConfig + the
  dataset) and :class:`~engine.config.Settings` (what a page shows: TrainConfig + data key +
  iterations, and its URL form); the run label.
- ``runs``: :class:`~engine.runs.Runs`, the app's one way in: settings -> dataset, split,
  RunConfig, the store's plan -> a run (served, replayed, or trained with a callback).
- ``store``: the on-disk run store shared by every session (file-locked, bounded in bytes,
  checkpoints of runs in training) and :func:`~engine.store.plan`, the one rule that decides
  serve / resume / extend / train.
- ``cache``: the byte-bounded memory cache shared by every session.
- ``limits`` / ``slots``: limits for a hosted class, and the cross-process training queue.
- ``datasets``: the ``data`` URL value -> a data.Dataset (embedded sample, downloads, uploads).
- ``models``: the ``model`` URL value -> an uploaded nnmath.Model, checked and kept in the store
  (``Runs.open`` shows it as a finished run of 0 iterations, never trained).
- ``sweep``: grids of settings planned and trained in parallel (joblib: local processes or Dask).
- ``values``: NaN-aware number conversion for records and tables.
"""

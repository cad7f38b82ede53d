"""Views: what the pages show, as plain functions of results (tested without a browser).

No Streamlit here: tables and metrics are pandas/numpy, figures are plotly ``go.Figure``s.

- ``metrics``: evaluations, confusion matrices, per-digit scores, the Mistakes gallery's rows.
- ``figures``: training curves, digit mosaics, confusion heatmap, weights.
- ``compare`` / ``compare_figures``: the run ledger, two runs side by side, sweep heatmaps.
- ``grid``: a sweep's results as a table and heatmap data.
- ``calibration``, ``explain``, ``math_step``, ``dynamics``, ``lab``: the Evaluate confidence
  section and the "Inside the network" pages.
- ``export`` / ``report``: model files, CSVs and the offline HTML report of a run.
- ``explore``: dataset summaries for the Data page.
- ``format``: how numbers read on screen ('—' for a missing value).
"""

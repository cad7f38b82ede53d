"""Views: what the pages show, as plain functions of results (tested without a browser).

No Streamlit here: tables and metrics are pandas/numpy, figures are plotly ``go.Figure``s.

- ``metrics``: evaluations, confusion matrices, per-digit scores, the Mistakes gallery's rows.
- ``figures``: training curves, digit mosaics, confusion heatmap, weights.
- ``compare`` / ``compare_figures``: the run ledger, two runs side by side, sweep heatmaps.
- ``explore``: dataset summaries for the Data page.
- ``format``: how numbers read on screen ('—' for a missing value).
"""

"""Views: tables, metrics, labels and plotly figures, as plain functions of results. No Streamlit."""

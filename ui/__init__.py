"""Streamlit glue: caching, session and URL state, live training with Stop, events."""

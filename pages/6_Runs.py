"""Runs (placeholder until dashboard.state exists)."""
import streamlit as st

try:
    from dashboard.state import init_state
except ImportError:  # dashboard.state is being written; the page still renders
    init_state = None
if init_state is not None:
    init_state()

st.title("Runs")

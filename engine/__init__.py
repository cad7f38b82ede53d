"""The run engine: run identity, the run store, serve/resume/extend planning, sweeps, exports. No Streamlit."""

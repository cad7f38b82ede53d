"""The package version, written into every model file (kept equal to pyproject.toml)."""

__version__ = "0.1.0"

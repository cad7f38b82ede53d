"""ui.classroom's pure parts: which run a click on the teacher's runs chart opens."""

from engine.classroom import StudentRun
from ui.classroom import clicked_run


def run(nick, hidden, acc, query=None):
    details = {"hidden": hidden, "dev_accuracy": acc, "iterations": 500}
    if query:
        details["query"] = query
    return StudentRun(nick, f"{nick}-{hidden}", details, 0.0)


def test_a_click_on_the_runs_chart_opens_that_run():
    runs = [run("ada", 10, 0.8), run("bob", 12, 0.9, "data=sample&hidden=12&iterations=500")]
    event = {"selection": {"points": [{"customdata": [1], "x": 12, "y": 0.9}]}}
    assert clicked_run(event, runs) == {"data": "sample", "hidden": "12", "iterations": "500"}
    assert clicked_run({"selection": {"points": [{"customdata": [0]}]}}, runs) is None  # no link
    assert clicked_run({"selection": {"points": [{"customdata": [7]}]}}, runs) is None
    assert clicked_run({"selection": {"points": []}}, runs) is None

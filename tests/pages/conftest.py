"""Fixtures shared by the page tests."""

import pytest

import nnmath


@pytest.fixture
def calls(monkeypatch):
    """Counts nnmath training calls made by the app (it runs in this process)."""
    counted = {"gradient_descent": 0, "continue_training": 0}
    for name in counted:
        real = getattr(nnmath, name)

        def spy(*a, _real=real, _name=name, **k):
            counted[_name] += 1
            return _real(*a, **k)

        monkeypatch.setattr(nnmath, name, spy)
    return counted

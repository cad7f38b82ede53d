"""A small thread-safe LRU cache bounded by entry count and by bytes.

The app keeps one of each per server (datasets, results): shared by every session, so it must be
safe across threads, and bounded by what the entries weigh, not only by how many there are (a
60,000-image dataset weighs 47 MB, the sample 4 MB).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


def nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """What ``value`` holds in numpy arrays, counted once each (through tuples, lists, dicts and
    the attributes of dataclass-like objects). Small Python objects count as 0."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        base = value if value.base is None else value.base
        if isinstance(base, np.ndarray) and base is not value:
            return nbytes(base, seen)  # a view weighs what its base weighs, once
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(nbytes(v, seen) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v, seen) for v in value)
    if hasattr(value, "__dict__"):
        return sum(nbytes(v, seen) for v in vars(value).values())
    if hasattr(value, "__slots__") or hasattr(value, "_fields"):
        return sum(nbytes(getattr(value, name), seen) for name in _names(value))
    return 0


def _names(value: Any) -> tuple[str, ...]:
    return tuple(getattr(value, "_fields", ())) or tuple(getattr(value, "__slots__", ()))


class LRU:
    """Least recently used entries go first when either bound is passed. An entry heavier than
    ``max_bytes`` on its own is returned by :meth:`get_or_make` but not kept."""

    def __init__(self, max_entries: int, max_bytes: int | None = None):
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = int(max_entries)
        self.max_bytes = None if max_bytes is None else int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    @property
    def bytes(self) -> int:
        with self._lock:
            return sum(size for _, size in self._items.values())

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: Hashable, value: Any) -> None:
        size = nbytes(value)
        with self._lock:
            self._items.pop(key, None)
            if self.max_bytes is not None and size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self._shrink()

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The cached value, or ``make()``'s, made once even when several threads ask at once."""
        missing = object()
        value = self.get(key, missing)
        if value is not missing:
            return value
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            value = self.get(key, missing)
            if value is missing:
                value = make()
                self.put(key, value)
        with self._lock:
            self._making.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def _shrink(self) -> None:
        total = sum(size for _, size in self._items.values())
        while self._items and (
            len(self._items) > self.max_entries
            or (self.max_bytes is not None and total > self.max_bytes)
        ):
            _, (_, size) = self._items.popitem(last=False)
            total -= size

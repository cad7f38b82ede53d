"""A cache bounded by bytes: what the app keeps in memory for all sessions (datasets with their
train/dev split, served runs, evaluations) fits one budget, whatever the sizes of the entries.

``st.cache_resource(max_entries=...)`` counts entries, and entries differ by orders of magnitude: a
run of hidden 10 to 500 iterations is ~0.4 MB, a run of hidden 512 to 20,000 iterations keeps 401
snapshots of 1.6 MB (~650 MB), the embedded sample with its split is 8 MB, full MNIST 94 MB. Here each
entry is weighed (:func:`nbytes`) when it is stored, and the least recently used entries are dropped
until the total fits ``max_bytes``; an entry larger than the whole budget is returned but not kept.

Thread-safe (Streamlit sessions are threads of one process), and single-flight: when several
sessions ask for the same missing key at once, one computes it and the others wait for that value.
No Streamlit here: the engine (engine.runs.Runs) holds one :class:`ByteLRU` per server, shared with
``st.cache_resource``.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

MB = 1024 * 1024


def nbytes(obj: Any) -> int:
    """Bytes held by the numpy arrays reachable from ``obj`` (through dataclasses, objects'
    attributes, dicts, lists, tuples, sets), each buffer counted once however many views of it
    are reachable, plus ``sys.getsizeof`` of small Python objects. An estimate of what keeping
    ``obj`` costs, dominated by the arrays."""
    seen_objects: set[int] = set()
    seen_buffers: dict[int, int] = {}
    other = 0
    stack = [obj]
    while stack:
        o = stack.pop()
        if o is None or id(o) in seen_objects:
            continue
        seen_objects.add(id(o))
        if isinstance(o, np.ndarray):
            root = o  # views (reshape, X of a Dataset) weigh what their root array holds
            while isinstance(root.base, np.ndarray):
                root = root.base
            seen_buffers[id(root)] = root.nbytes
            continue
        if isinstance(o, (str, bytes, bytearray, int, float, complex, bool)):
            other += sys.getsizeof(o)
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif dataclasses.is_dataclass(o) and not isinstance(o, type):
            stack.extend(getattr(o, f.name, None) for f in dataclasses.fields(o))
        elif hasattr(o, "__dict__") and not isinstance(o, type):
            stack.extend(vars(o).values())
        other += sys.getsizeof(o)
    return sum(seen_buffers.values()) + other


@dataclasses.dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    evictions: int
    too_large: int  # values returned without being kept (bigger than the whole budget)


class ByteLRU:
    """Least-recently-used cache whose total :func:`nbytes` stays <= ``max_bytes``.

    ``get(key, compute)`` returns the cached value of ``key`` or ``compute()``'s, storing it.
    Values must be treated as read-only: every caller gets the same object.
    """

    def __init__(self, max_bytes: int, *, weigh: Callable[[Any], int] = nbytes):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be an integer >= 0, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._weigh = weigh
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._hits = self._misses = self._evictions = self._too_large = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        found, value = self._lookup(key)
        if found:
            return value
        with self._lock:
            flight = self._computing.setdefault(key, threading.Lock())
        with flight:  # one computation per key; latecomers wait here, then find the value
            found, value = self._lookup(key, count_miss=False)
            if found:
                return value
            try:
                value = compute()
                self._store(key, value, self._weigh(value))
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            return value

    def find(self, key: Hashable) -> tuple[bool, Any]:
        """(True, value) when ``key`` is cached (it becomes the most recently used), else
        (False, None)."""
        return self._lookup(key)

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key`` (weighed now), replacing what was there."""
        self._store(key, value, self._weigh(value))

    def _lookup(self, key, count_miss: bool = True):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += count_miss
                return False, None
            self._entries.move_to_end(key)
            self._hits += 1
            return True, entry[0]

    def _store(self, key, value, size: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                self._too_large += 1
                return
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
                self._evictions += 1

    def discard(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop the entries whose key satisfies ``predicate``; returns how many."""
        with self._lock:
            keys = [k for k in self._entries if predicate(k)]
            for k in keys:
                self._bytes -= self._entries.pop(k)[1]
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def sizes(self) -> dict[Hashable, int]:
        """Bytes of each entry, least recently used first."""
        with self._lock:
            return {key: size for key, (_, size) in self._entries.items()}

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                len(self._entries),
                self._bytes,
                self.max_bytes,
                self._hits,
                self._misses,
                self._evictions,
                self._too_large,
            )

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

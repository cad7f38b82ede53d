"""At most N trainings computing at once on a server, the rest queued in order: a semaphore made
of files, so it holds across threads (browser sessions) and processes, and a process that dies
frees its slot and leaves the queue (flock locks are released by the kernel with the process).

Layout under ``folder`` (the run store's ``slots/``)::

    <k>.slot          k = 0..N-1: a training holds an exclusive flock on one of them
    queue/<ticket>    one per waiting training, flock-ed by its owner; the names sort by arrival

A waiter takes a slot only when no live ticket is ahead of its own, so runs start in the order
they asked. Tickets whose owner died (their flock can be taken) are removed by the next waiter.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path


class Cancelled(Exception):
    """The caller's ``waiting`` callback asked to leave the queue (e.g. Stop was pressed)."""


def _try_lock(path: Path, mode: int = fcntl.LOCK_EX) -> int | None:
    """An fd holding a non-blocking flock on ``path`` (created if missing), or None if taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class TrainingSlots:
    def __init__(self, folder: str | os.PathLike, n: int):
        if int(n) < 1:
            raise ValueError(f"n (trainings at once) must be >= 1, got {n}")
        self.folder = Path(folder)
        self.n = int(n)
        self.queue = self.folder / "queue"
        self.queue.mkdir(parents=True, exist_ok=True)

    def _slot(self, k: int) -> Path:
        return self.folder / f"{k}.slot"

    def busy(self) -> int:
        """How many slots are held right now (a probe: a free slot is locked for an instant)."""
        held = 0
        for k in range(self.n):
            fd = _try_lock(self._slot(k))
            if fd is None:
                held += 1
            else:
                os.close(fd)
        return held

    def ahead_of(self, ticket: str | None) -> int:
        """Live tickets queued before ``ticket`` (all of them for None); removes dead ones."""
        ahead = 0
        for path in sorted(self.queue.iterdir()):
            if path.name.startswith(".") or (ticket is not None and path.name >= ticket):
                continue
            fd = _try_lock(path, fcntl.LOCK_SH)
            if fd is None:
                ahead += 1  # its owner is alive and waiting
                continue
            os.close(fd)  # nobody holds it: its owner died while queued
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return ahead

    def _take(self) -> tuple[int, int] | None:
        for k in range(self.n):
            fd = _try_lock(self._slot(k))
            if fd is not None:
                return k, fd
        return None

    @contextlib.contextmanager
    def acquire(
        self, waiting: Callable[[int, int], bool | None] | None = None, poll: float = 0.25
    ) -> Iterator[int]:
        """Hold a slot for the ``with`` block; yields its number.

        While all slots are busy, or other trainings queued earlier, ``waiting(ahead, busy)`` is
        called every ``poll`` seconds with the number of trainings queued ahead of this one and
        the number computing; it returns True to give up (raises :class:`Cancelled`)."""
        taken = self._take() if self.ahead_of(None) == 0 else None
        ticket_fd = None
        try:
            if taken is None:
                # Locked under a hidden name, then renamed: nobody sees an unlocked ticket.
                name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                hidden = self.queue / f".{name}"
                ticket_fd = _try_lock(hidden)
                os.replace(hidden, self.queue / name)
                while True:
                    ahead = self.ahead_of(name)
                    if ahead == 0:
                        taken = self._take()
                        if taken is not None:
                            break
                    if waiting is not None and waiting(ahead, self.busy()):
                        raise Cancelled(f"left the queue with {ahead} trainings ahead")
                    time.sleep(poll)  # flock has no timeout: poll the non-blocking form
                with contextlib.suppress(FileNotFoundError):
                    (self.queue / name).unlink()
                os.close(ticket_fd)
                ticket_fd = None
            k, fd = taken
            try:
                yield k
            finally:
                os.close(fd)  # closing the fd releases the flock
        finally:
            if ticket_fd is not None:
                with contextlib.suppress(FileNotFoundError):
                    (self.queue / name).unlink()
                os.close(ticket_fd)

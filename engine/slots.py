"""At most N trainings computing at once on a server, the rest queued in order: a semaphore made
of files, so it holds across threads (browser sessions) and processes, and a process that dies
frees its slot and leaves the queue (flock locks are released by the kernel with the process).

Layout under ``folder`` (the run store's ``slots/``)::

    <k>.slot          k = 0..N-1: a training holds an exclusive flock on one of them
    queue/<ticket>    one per waiting training, flock-ed by its owner; the names sort by arrival

A waiter takes a slot only when no live ticket is ahead of its own, so runs start in the order
they asked. Tickets whose owner died (their flock can be taken) are removed by the next waiter.

A slot is held for at most ``max_seconds`` of training (the server's NNMATH_MAX_TRAIN_SECONDS):
:class:`TimeLimit` stops the training there as Stop would, the run so far is kept, and training
it further queues again behind whoever waited meanwhile. So one visitor's request, however large
(a wide layer, many iterations, a big upload, augmentation), holds a core for a bounded time.
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


class TimeLimit:
    """Stops a training once it has computed for ``seconds``: :meth:`wrap` a training callback
    (nnmath's: return True to stop) and the wrapped one also returns True from then on;
    ``reached`` says whether it did."""

    _clock = staticmethod(time.monotonic)  # tests replace it

    def __init__(self, seconds: float):
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        self.seconds = float(seconds)
        self.reached = False

    def wrap(self, callback: Callable | None) -> Callable:
        deadline = self._clock() + self.seconds

        def limited(progress):
            stop = callback(progress) if callback is not None else None
            if not stop and self._clock() >= deadline:
                self.reached = True
                return True
            return stop

        return limited

    def message(self, iteration: int) -> str:
        """The stopped run's message (kept with it: the pages show it)."""
        return f"{LIMIT_STOP} of {self.seconds:g} s of training per run, at iteration {iteration:,}"


#: How a run stopped by a TimeLimit has its message begin.
LIMIT_STOP = "stopped at this server's limit"


def stopped_by_limit(message: str) -> bool:
    return str(message).startswith(LIMIT_STOP)


class TrainingSlots:
    def __init__(self, folder: str | os.PathLike, n: int, max_seconds: float | None = None):
        """``n`` trainings at once under ``folder``; each for at most ``max_seconds`` of
        training (None: no limit), see :meth:`limit`."""
        if int(n) < 1:
            raise ValueError(f"n (trainings at once) must be >= 1, got {n}")
        if max_seconds is not None and not max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds}")
        self.folder = Path(folder)
        self.n = int(n)
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        self.queue = self.folder / "queue"
        self.queue.mkdir(parents=True, exist_ok=True)

    def limit(self) -> TimeLimit | None:
        """A fresh TimeLimit for one training in a slot (None when there is no limit)."""
        return None if self.max_seconds is None else TimeLimit(self.max_seconds)

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

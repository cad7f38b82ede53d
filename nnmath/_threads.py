"""How many threads a call uses: nnmath's worker threads over row blocks, one BLAS thread each.

The matmuls of this network are small (10 to a few hundred hidden units), and OpenBLAS with two
threads on them is slower than with one: splitting the row blocks over nnmath's own worker
threads, each running single-threaded BLAS, is what fills the cores. So ``gradient_descent``,
``continue_training`` and ``predict_proba`` do that by default:

- ``workers=None`` means :func:`default_workers`: ``min(2, cores)``, or the environment variable
  NNMATH_TRAIN_WORKERS (e.g. 1 on a server shared by a class);
- :func:`one_blas_thread` limits BLAS to one thread for the duration of the call, through
  threadpoolctl, imported lazily: without threadpoolctl the call runs anyway, on whatever BLAS
  threads it finds. A caller that already chose (inside ``threadpool_limits``, or BLAS started
  with fewer threads than cores through OPENBLAS_NUM_THREADS and the like) is left alone.

The numbers never depend on the worker count (blocks are fixed and added in block order); they
do depend on the BLAS thread count, which the default makes 1 on every machine.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ._checks import check_int

WORKERS_ENV = "NNMATH_TRAIN_WORKERS"


def default_workers() -> int:
    """NNMATH_TRAIN_WORKERS if set, else min(2, cores): two threads fill the 2-core machines this
    is made for, and more rarely pay on matmuls this small (the bench's thread columns)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return min(2, os.cpu_count() or 1)
    try:
        workers = int(raw)
    except ValueError:
        raise ValueError(f"{WORKERS_ENV} must be an integer >= 1, got {raw!r}") from None
    if workers < 1:
        raise ValueError(f"{WORKERS_ENV} must be >= 1, got {workers}")
    return workers


def resolve_workers(workers) -> int:
    """``workers`` as given (checked), or :func:`default_workers` for None."""
    return default_workers() if workers is None else check_int("workers", workers, 1)


# Several calls may run at once in one process (two dashboard sessions training), but the BLAS
# thread count is process-wide: the first call in sets it to 1, the last one out puts back what
# it found, so no call sees it change half-way (its numbers would change with it).
_lock = threading.Lock()
_calls_inside = 0
_restore = None  # puts the BLAS thread counts back; None when nnmath changed nothing


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread inside the block, unless the caller already chose."""
    global _calls_inside, _restore
    with _lock:
        if _calls_inside == 0:
            _restore = _limit_blas_to_one()
        _calls_inside += 1
    try:
        yield
    finally:
        with _lock:
            _calls_inside -= 1
            if _calls_inside == 0 and _restore is not None:
                _restore()
                _restore = None


@functools.cache
def _blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries (found once: the scan takes a few
    ms, too long for every predict_proba call), or None without threadpoolctl."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.ThreadpoolController().select(user_api="blas")


# OpenBLAS kernels (AVX-512) that run products of at most SMALL_PRODUCT multiply-adds down a
# separate "small matrix" path; see network.py's products.
SMALL_PRODUCT_KERNELS = ("SkylakeX", "Cooperlake", "SapphireRapids")


@functools.cache
def blas_kernels() -> frozenset[str]:
    """The kernels ("architecture", as threadpoolctl reports OpenBLAS's core name) of numpy's
    BLAS libraries; empty for a BLAS that names none, or without threadpoolctl. Fixed for the life
    of the process, as the numbers depend on it."""
    controller = _blas_controller()
    if controller is None:
        return frozenset()
    found = (getattr(lib, "architecture", None) for lib in controller.lib_controllers)
    return frozenset(name for name in found if name)


def small_products() -> bool:
    """True when numpy's BLAS is OpenBLAS with one of SMALL_PRODUCT_KERNELS."""
    return not blas_kernels().isdisjoint(SMALL_PRODUCT_KERNELS)


# OpenBLAS kernels that take the columns of dZ1 in dZ1.T @ X four at a time; see network.py's
# transposed_times.
COLUMN_GROUP_KERNELS = ("Haswell", "Zen")


def column_groups() -> bool:
    """True when numpy's BLAS is OpenBLAS with one of COLUMN_GROUP_KERNELS."""
    return not blas_kernels().isdisjoint(COLUMN_GROUP_KERNELS)


def _limit_blas_to_one():
    """Set BLAS to one thread; returns how to undo it, or None if nothing was changed."""
    controller = _blas_controller()
    if controller is None or not controller.lib_controllers:
        return None
    import threadpoolctl

    counts = [lib.num_threads or 1 for lib in controller.lib_controllers]
    cores = os.cpu_count() or 1
    inside_caller_limits = getattr(threadpoolctl, "CONTROLLING_THREAD_OWNERSHIP", None)
    if (
        max(counts) <= 1  # already one thread
        or max(counts) < cores  # started with fewer threads than cores: the caller's choice
        or (inside_caller_limits is not None and inside_caller_limits.count > 0)
    ):
        return None
    limiter = controller.limit(limits=1, user_api="blas")  # set now; undone by the last call out

    def restore():
        # OpenBLAS (pthreads) obeys one controlling thread at a time; the last call out may run
        # on another thread than the first one in, so it takes control before undoing the limit.
        openblas = getattr(threadpoolctl, "OpenBLASController", None)
        if openblas is not None and hasattr(openblas, "clear_controlling_thread"):
            openblas.clear_controlling_thread(force=True)
        limiter.restore_original_limits()
        if openblas is not None and hasattr(openblas, "clear_controlling_thread"):
            openblas.clear_controlling_thread(force=True)

    return restore


# Workers take turns for the many small numpy steps of a block (a few microseconds each) and
# run its big steps (the conversion of its pixels, the X @ W1 and dZ1.T @ X products) side by
# side. Each small step gives up the GIL and takes it back; two workers doing them at once kept
# handing it back and forth, and a worker coming out of a big product waited behind the other's
# run of small steps (the bench's two-worker table). So a block runs holding its pool's turn,
# and the big steps let it go: ``others_turn()`` around them (a no-op outside a pool).
_turn = threading.local()  # .lock: the turn this thread holds while running a block, if any


@contextlib.contextmanager
def _own_turn(lock) -> Iterator[None]:
    with lock:
        _turn.lock = lock
        try:
            yield
        finally:
            _turn.lock = None


class _OthersTurn:
    """``with others_turn():`` lets the other workers run their small steps during a big one of
    this thread's. A class rather than a generator: it is entered three times per block, and a
    generator-based context manager costs ~1 us more each time."""

    __slots__ = ("lock",)

    def __enter__(self) -> None:
        self.lock = getattr(_turn, "lock", None)
        if self.lock is not None:
            self.lock.release()

    def __exit__(self, *exc) -> None:
        if self.lock is not None:
            self.lock.acquire()


def others_turn() -> _OthersTurn:
    """Lets the other workers run their small steps during a big one of this thread's."""
    return _OthersTurn()


class Blocks:
    """Runs a function over blocks of rows on ``workers`` threads, the caller's included, and
    hands the results back in block order. Each running block may borrow one of ``workers``
    reused buffers of ``buffer_size`` floats, so no iteration allocates an X-sized array."""

    def __init__(self, workers, dtype, buffer_size):
        self.workers = workers
        self.buffers = queue.SimpleQueue()
        for _ in range(workers):
            self.buffers.put(np.empty(buffer_size, dtype))
        self.pool = ThreadPoolExecutor(workers - 1, "nnmath") if workers > 1 else None
        self.turn = threading.Lock()  # see others_turn

    def map(self, function, items):
        """Lazy results of function(item), in the order of items.

        ``workers - 1`` pool threads start on the items at once, and the caller joins in when
        it asks for the first result instead of sleeping until they are done. Each thread takes
        the next item nobody has taken yet; an item's exception is raised when it is read.
        """
        if self.pool is None:
            return map(function, items)
        items = list(items)
        done = [Future() for _ in items]
        taken = itertools.count()  # next() on a count is atomic

        def work():
            while (k := next(taken)) < len(items):
                try:
                    with _own_turn(self.turn):
                        result = function(items[k])
                    done[k].set_result(result)
                except BaseException as e:  # handed to whoever reads item k
                    done[k].set_exception(e)

        for _ in range(min(self.workers - 1, len(items))):
            self.pool.submit(work)

        def results():
            work()
            for future in done:
                yield future.result()

        return results()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown()

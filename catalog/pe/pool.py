"""Run a batch function over batches on worker processes (both cores for the Python work), or on
threads where processes are not allowed; results come back in submission order.

The batch function must be a picklable top-level function ``fn(batch, options) -> list`` (the
same contract a Dask worker needs). A pool that cannot start, or breaks while running (a worker
killed), is replaced by threads and the unfinished batches run again there, so callers see the
same results, in the same order, either way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

B = TypeVar("B")
O = TypeVar("O")  # noqa: E741
R = TypeVar("R")

PRELOAD = ("catalog.pe.hashing",)
"""Modules the fork server imports once, so each worker starts warm."""


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    method = "forkserver" if "forkserver" in methods else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(PRELOAD))
    return context


def process_executor(workers: int) -> Executor | None:
    """A process pool (fork server where available: no fork of a threaded parent), or None."""
    try:
        return ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    except (OSError, ImportError, NotImplementedError, ValueError):
        return None


def warm_up() -> None:
    """Start the fork server now, so that its interpreter start and ``PRELOAD`` imports (about
    0.2 s) run on another core while this process is still starting; a pool created later forks
    its workers from it at once. Harmless when no pool follows (the server exits with us)."""
    try:
        if _context().get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()
    except (OSError, ImportError, NotImplementedError, ValueError):
        pass  # the pool reports or falls back to threads when it is really needed


def thread_executor(workers: int) -> Executor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash")


def run_ordered(
    fn: Callable[[B, O], list[R]],
    batches: Iterable[B],
    options: O,
    *,
    workers: int,
    processes: bool,
    window: int | None = None,
) -> Iterator[tuple[B, list[R]]]:
    """``(batch, fn(batch, options))`` for every batch, in order, at most ``window`` in flight."""
    limit = window or 2 * workers
    executor = (process_executor(workers) if processes else None) or thread_executor(workers)
    pending: deque[tuple[B, Future[list[R]]]] = deque()
    try:
        for batch in batches:
            try:
                pending.append((batch, executor.submit(fn, batch, options)))
            except (BrokenProcessPool, OSError, RuntimeError):
                executor = _to_threads(executor, workers, fn, options, pending)
                pending.append((batch, executor.submit(fn, batch, options)))
            while len(pending) >= limit:
                executor, done = _first(executor, workers, fn, options, pending)
                yield done
        while pending:
            executor, done = _first(executor, workers, fn, options, pending)
            yield done
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _first(
    executor: Executor,
    workers: int,
    fn: Callable[[B, O], list[R]],
    options: O,
    pending: deque[tuple[B, Future[list[R]]]],
) -> tuple[Executor, tuple[B, list[R]]]:
    batch, future = pending[0]
    try:
        result = future.result()
    except BrokenProcessPool:
        executor = _to_threads(executor, workers, fn, options, pending)
        batch, future = pending[0]
        result = future.result()
    pending.popleft()
    return executor, (batch, result)


def _to_threads(
    executor: Executor,
    workers: int,
    fn: Callable[[B, O], list[R]],
    options: O,
    pending: deque[tuple[B, Future[list[R]]]],
) -> Executor:
    """Replace a broken process pool by threads and resubmit every unfinished batch in order."""
    executor.shutdown(wait=False, cancel_futures=True)
    threads = thread_executor(workers)
    again = [(batch, threads.submit(fn, batch, options)) for batch, _ in pending]
    pending.clear()
    pending.extend(again)
    return threads


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1

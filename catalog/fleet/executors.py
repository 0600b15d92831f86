"""One seam for every engine that runs the hasher's batch function: a local process pool or a Dask
cluster (``catalog.fleet.dask``), both behind ``BatchExecutor``; plus the driver that puts the hash
cache in front of them.

The work unit is a batch of paths -> one record per path (``FileDigests`` or ``FileFailure``), the
same picklable top-level function whichever engine runs it. The driver lists the inputs, answers
what it can from the cache (a hit costs one ``stat``, no read), sends the misses in batches,
streams results back in input order and stores new digests in the cache, only when a second
``stat`` after hashing shows the file unchanged. The cache lives with the driver: workers never
open it, so a cluster needs no shared database.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Protocol

from catalog.fleet.cache import HashCache, StatKey, options_key
from catalog.pe import HashOptions, HashProgress, hash_one, iter_files
from catalog.records import FileDigests, FileFailure, HashResult

BATCH_FILES = 32
"""Paths per batch: enough to amortise a round trip to a worker, small enough to balance."""

BatchFn = Callable[[Sequence[str], HashOptions], list[HashResult]]


def hash_batch(paths: Sequence[str], options: HashOptions) -> list[HashResult]:
    """One record per path, in order; every per-file problem is a ``FileFailure`` record."""
    return [hash_one(p, options) for p in paths]


class BatchExecutor(Protocol):
    """Runs ``fn(batch, options)`` for each batch; yields the results in submission order."""

    @property
    def workers(self) -> int: ...

    def map_ordered(
        self, fn: BatchFn, batches: Iterable[list[str]], options: HashOptions
    ) -> Iterator[list[HashResult]]: ...

    def close(self) -> None: ...


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class SerialExecutor:
    """Every batch in this process, one after the other (debugging, embedding, small jobs)."""

    @property
    def workers(self) -> int:
        return 1

    def map_ordered(
        self, fn: BatchFn, batches: Iterable[list[str]], options: HashOptions
    ) -> Iterator[list[HashResult]]:
        for batch in batches:
            yield fn(batch, options) if batch else []

    def close(self) -> None:
        pass


class LocalExecutor:
    """Worker processes on this machine (fork server: no fork of a threaded parent). A pool that
    breaks (a worker killed) is replaced and the unfinished batches run again."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            method = "forkserver" if "forkserver" in get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(self._workers, mp_context=get_context(method))
        return self._pool

    def map_ordered(
        self, fn: BatchFn, batches: Iterable[list[str]], options: HashOptions
    ) -> Iterator[list[HashResult]]:
        pending: deque[tuple[list[str], Future[list[HashResult]] | None]] = deque()
        source = iter(batches)
        window = 2 * self._workers
        while True:
            for batch in islice(source, window - len(pending)):
                future = self._get_pool().submit(fn, batch, options) if batch else None
                pending.append((batch, future))
            if not pending:
                return
            batch, future = pending.popleft()
            if future is None:
                yield []
                continue
            try:
                yield future.result()
            except BrokenProcessPool:
                self._pool = None
                yield fn(batch, options)
                pending = deque(
                    (b, self._get_pool().submit(fn, b, options) if b else None) for b, _ in pending
                )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


@dataclass(slots=True)
class _Planned:
    slots: list[HashResult | None]
    misses: list[int]
    keys: dict[int, StatKey]


def hash_many(
    paths: Iterable[str | os.PathLike[str]],
    options: HashOptions,
    executor: BatchExecutor,
    *,
    cache: HashCache | None = None,
    batch_files: int = BATCH_FILES,
    progress: HashProgress | None = None,
    fn: BatchFn = hash_batch,
) -> Iterator[HashResult]:
    """Hash files and folders through ``executor`` (results in input order), using ``cache``."""
    items: Iterable[str | FileFailure] = iter_files(paths)
    if progress is not None:
        listed = list(items)
        progress.started(len(listed), sum(_size(i) for i in listed if isinstance(i, str)))
        items = listed
    opts = options_key(options) if cache is not None else ""
    plans: deque[_Planned] = deque()

    def plan(chunk: list[str | FileFailure]) -> list[str]:
        planned = _Planned([None] * len(chunk), [], {})
        for index, item in enumerate(chunk):
            if isinstance(item, FileFailure):
                planned.slots[index] = item
                continue
            if cache is not None:
                try:
                    key = StatKey.of(item)
                except OSError:
                    key = None  # the worker reports why (gone, unreadable) in the record
                if key is not None:
                    hit = cache.get(item, key, opts)
                    if hit is not None:
                        planned.slots[index] = hit
                        continue
                    planned.keys[index] = key
            planned.misses.append(index)
        plans.append(planned)
        return [str(chunk[i]) for i in planned.misses]

    batches = (plan(chunk) for chunk in _chunks(items, batch_files))
    for results in executor.map_ordered(fn, batches, options):
        planned = plans.popleft()
        fresh: list[tuple[StatKey, str, FileDigests]] = []
        for index, result in zip(planned.misses, results, strict=True):
            planned.slots[index] = result
            key = planned.keys.get(index)
            if (
                cache is not None
                and key is not None
                and isinstance(result, FileDigests)
                and _unchanged(result.path, key)
            ):
                fresh.append((key, opts, result))
        if cache is not None and fresh:
            cache.put_many(fresh)
        for slot in planned.slots:
            assert slot is not None  # every slot is a hit, a listing failure or a result
            if progress is not None:
                progress.file_done(slot)
            yield slot


def _unchanged(path: str, before: StatKey) -> bool:
    try:
        return StatKey.of(path).same_file_state(before)
    except OSError:
        return False


def _chunks(items: Iterable[str | FileFailure], size: int) -> Iterator[list[str | FileFailure]]:
    source = iter(items)
    while chunk := list(islice(source, size)):
        yield chunk


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0

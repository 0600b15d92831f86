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
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Protocol

from catalog.fleet.cache import HashCache, StatKey, options_key
from catalog.pe import (
    HashOptions,
    HashProgress,
    default_workers,
    hash_batch,
    iter_files,
    run_ordered,
)
from catalog.records import FileDigests, FileFailure, HashResult

BATCH_FILES = 32
"""Paths per batch: enough to amortise a round trip to a worker, small enough to balance."""

BatchFn = Callable[[Sequence[str], HashOptions], list[HashResult]]


class BatchExecutor(Protocol):
    """Runs ``fn(batch, options)`` for each batch; yields the results in submission order."""

    @property
    def workers(self) -> int: ...

    def map_ordered(
        self, fn: BatchFn, batches: Iterable[list[str]], options: HashOptions
    ) -> Iterator[list[HashResult]]: ...

    def close(self) -> None: ...


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
    """Worker processes on this machine: the hasher's own ordered pool (``catalog.pe``: fork
    server, a broken pool replaced by threads and its unfinished batches run again)."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or default_workers()

    @property
    def workers(self) -> int:
        return self._workers

    def map_ordered(
        self, fn: BatchFn, batches: Iterable[list[str]], options: HashOptions
    ) -> Iterator[list[HashResult]]:
        # Empty batches (every file a cache hit) never reach the pool: an all-hit rescan starts
        # no worker process at all. ``empties[i]`` counts the empty batches before the i-th one.
        empties: deque[int] = deque()

        def work() -> Iterator[list[str]]:
            skipped = 0
            for batch in batches:
                if batch:
                    empties.append(skipped)
                    skipped = 0
                    yield batch
                else:
                    skipped += 1
            empties.append(skipped)

        for _batch, results in run_ordered(
            fn, work(), options, workers=self._workers, processes=True
        ):
            yield from [[]] * empties.popleft()
            yield results
        yield from [[]] * (empties.popleft() if empties else 0)

    def close(self) -> None:
        pass  # run_ordered shuts its pool down when the stream ends


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

"""Which engine hashes: the default thread/process hasher, or the fleet driver with a hash cache
(``--cache``) and/or a Dask cluster (``--dask``) - catalog/fleet/. One call for every pipeline."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from catalog import HashResult
from catalog.pe import HashOptions, HashProgress, hash_paths

if TYPE_CHECKING:
    from catalog.fleet import BatchExecutor, CacheStats

DASK_BATCH_FILES = 128
"""Larger batches on a cluster: a task round trip through the scheduler costs far more than a
local pool's (bench/fleet_bench.py), and a big library has files enough to keep workers busy."""


@dataclass(frozen=True, slots=True)
class FleetOptions:
    cache: Path | None = None
    """The SQLite hash cache (created when missing)."""
    dask: str | None = None
    """A scheduler address (tcp://host:8786) or local[:N]."""

    @property
    def active(self) -> bool:
        return self.cache is not None or self.dask is not None


# catalog.fleet (SQLite, the Dask driver) is imported by the functions that use it: a plain
# ``inspector hash`` starts 15 ms sooner without it.


def make_executor(dask: str | None, workers: int | None) -> BatchExecutor:
    from catalog.fleet import LocalExecutor, dask_executor

    if dask is None:
        return LocalExecutor(workers)
    return dask_executor(dask)


def hash_stream(
    paths: Sequence[str | os.PathLike[str]],
    options: HashOptions,
    *,
    workers: int | None = None,
    progress: HashProgress | None = None,
    fleet: FleetOptions | None = None,
) -> Iterator[HashResult]:
    """Hash files and folders, results in input order, through the engine ``fleet`` chooses."""
    if fleet is None or not fleet.active:
        yield from hash_paths(paths, options, workers=workers, progress=progress)
        return
    from catalog.fleet import BATCH_FILES, HashCache, hash_many

    cache = HashCache(fleet.cache) if fleet.cache is not None else None
    try:
        executor = make_executor(fleet.dask, workers)
        try:
            size = DASK_BATCH_FILES if fleet.dask is not None else BATCH_FILES
            yield from hash_many(
                paths, options, executor, cache=cache, progress=progress, batch_files=size
            )
        finally:
            executor.close()
    finally:
        if cache is not None:
            cache.close()


def cache_stats(path: Path) -> CacheStats:
    from catalog.fleet import HashCache

    with HashCache(path) as cache:
        return cache.stats()


def cache_prune(path: Path, *, older_than_days: float | None = None) -> tuple[int, CacheStats]:
    """Drop entries of files gone or changed (and older than N days); (dropped, stats after)."""
    import time

    from catalog.fleet import HashCache

    cutoff = None
    if older_than_days is not None:
        cutoff = time.time_ns() - int(older_than_days * 86400 * 1e9)
    with HashCache(path) as cache:
        dropped = cache.prune(older_than_ns=cutoff)
        return dropped, cache.stats()

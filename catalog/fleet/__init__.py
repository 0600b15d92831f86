"""Hashing beyond one process (issue 16): batches of paths on executors - a local process pool or
a Dask cluster - behind one protocol (``executors``), with the incremental hash cache in front
(``cache``). ``dask`` is the only module importing Dask (extra ``[fleet]``), loaded on demand by
``dask_executor``. May import ``catalog.pe``."""

from __future__ import annotations

from catalog.fleet.cache import CacheStats, HashCache, StatKey, options_key
from catalog.fleet.executors import (
    BATCH_FILES,
    BatchExecutor,
    BatchFn,
    LocalExecutor,
    SerialExecutor,
    hash_many,
)
from catalog.pe import default_workers, hash_batch


def dask_executor(address: str) -> BatchExecutor:
    """A Dask executor (``tcp://host:port`` or ``local[:N]``); needs the ``[fleet]`` extra."""
    from catalog.fleet.dask import DaskExecutor

    return DaskExecutor(address)


__all__ = [
    "BATCH_FILES",
    "BatchExecutor",
    "BatchFn",
    "CacheStats",
    "HashCache",
    "LocalExecutor",
    "SerialExecutor",
    "StatKey",
    "dask_executor",
    "default_workers",
    "hash_batch",
    "hash_many",
    "options_key",
]

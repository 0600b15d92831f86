"""The ``inspector hash`` job: expand paths, hash every file, results streamed in input order."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from catalog import FileDigests, FileFailure, HashResult
from catalog.pe import HashOptions, HashProgress
from inspector.pipeline.files import check_arguments
from inspector.pipeline.fleet import FleetOptions, hash_stream


@dataclass(frozen=True, slots=True)
class HashRun:
    files: tuple[FileDigests, ...]
    failures: tuple[FileFailure, ...]


def stream_inputs(
    paths: Sequence[str | os.PathLike[str]],
    options: HashOptions,
    *,
    workers: int | None = None,
    progress: HashProgress | None = None,
    fleet: FleetOptions | None = None,
) -> Iterator[HashResult]:
    """Hash files and folders (recursively); one result per file, in input order, as they finish.

    Nothing is kept: memory stays flat however many files there are (a golden image). ``fleet``
    adds the hash cache and/or a Dask cluster.
    """
    usable, bad_arguments = check_arguments(paths)
    yield from bad_arguments  # one bad argument never stops the batch
    yield from hash_stream(usable, options, workers=workers, progress=progress, fleet=fleet)


def hash_inputs(
    paths: Sequence[str | os.PathLike[str]],
    options: HashOptions,
    *,
    workers: int | None = None,
    progress: HashProgress | None = None,
    fleet: FleetOptions | None = None,
) -> HashRun:
    """Hash files and folders; every input ends up in exactly one of the lists (kept in memory)."""
    files: list[FileDigests] = []
    failures: list[FileFailure] = []
    for result in stream_inputs(paths, options, workers=workers, progress=progress, fleet=fleet):
        if isinstance(result, FileFailure):
            failures.append(result)
        else:
            files.append(result)
    return HashRun(tuple(files), tuple(failures))

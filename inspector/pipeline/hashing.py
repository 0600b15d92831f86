"""The ``inspector hash`` job: expand paths, hash every file, split results from failures."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from catalog import FileDigests, FileFailure
from catalog.pe import HashOptions, HashProgress
from inspector.pipeline.fleet import FleetOptions, hash_stream


@dataclass(frozen=True, slots=True)
class HashRun:
    files: tuple[FileDigests, ...]
    failures: tuple[FileFailure, ...]


def hash_inputs(
    paths: Sequence[str | os.PathLike[str]],
    options: HashOptions,
    *,
    workers: int | None = None,
    progress: HashProgress | None = None,
    fleet: FleetOptions | None = None,
) -> HashRun:
    """Hash files and folders (recursively); every input ends up in exactly one of the lists."""
    files: list[FileDigests] = []
    failures: list[FileFailure] = []
    for result in hash_stream(paths, options, workers=workers, progress=progress, fleet=fleet):
        if isinstance(result, FileFailure):
            failures.append(result)
        else:
            files.append(result)
    return HashRun(tuple(files), tuple(failures))

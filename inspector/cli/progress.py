"""Progress on stderr for long jobs (files, MB/s, ETA); silent when stderr is not a terminal or
the work is small, unless forced (``--progress``)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

from catalog import FileFailure, HashResult

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

THRESHOLD_FILES = 5
"""Fewer files than this never get a bar: it would flash and vanish."""


class FileProgress:
    """Implements ``catalog.pe.hashing.HashProgress`` with a rich progress bar on stderr.

    The bar advances by bytes (so speed and ETA mean something when file sizes differ); the
    file count is shown beside it.
    """

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self._label = label
        self._enabled = sys.stderr.isatty() if enabled is None else enabled
        self._forced = enabled is True
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._total_files = 0
        self._done = 0
        self.failed = 0

    def started(self, total_files: int, total_bytes: int) -> None:
        if not self._enabled or total_files < THRESHOLD_FILES:
            return
        self._total_files = total_files
        # Imported here: rich costs every command 35 ms of start-up, and most runs draw no bar.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn(f"[bold]{self._label}"),
            BarColumn(),
            TextColumn("{task.fields[files]} files"),
            TransferSpeedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True, force_terminal=self._forced or None),
            transient=not self._forced,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            self._label, total=max(total_bytes, 1), files=f"0/{total_files}"
        )

    def file_done(self, result: HashResult) -> None:
        self._done += 1
        size = 0
        if isinstance(result, FileFailure):
            self.failed += 1
        else:
            size = result.size
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, advance=size, files=f"{self._done}/{self._total_files}"
            )

    def __enter__(self) -> FileProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

"""Progress bars on stderr for long jobs; silent when stderr is not a terminal or work is small."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from catalog import FileFailure, HashResult

THRESHOLD_FILES = 5
"""Fewer files than this never get a bar: it would flash and vanish."""


class FileProgress:
    """Implements ``catalog.pe.hashing.HashProgress`` with a rich progress bar on stderr."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self._label = label
        self._enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self.failed = 0

    def started(self, total_files: int, total_bytes: int) -> None:
        if not self._enabled or total_files < THRESHOLD_FILES:
            return
        self._progress = Progress(
            TextColumn(f"[bold]{self._label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(self._label, total=total_files)

    def file_done(self, result: HashResult) -> None:
        if isinstance(result, FileFailure):
            self.failed += 1
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

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

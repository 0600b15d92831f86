"""The progress listener: silent for small batches, counts failures, never breaks a run."""

from __future__ import annotations

from catalog.records import FileFailure
from inspector.cli.progress import THRESHOLD_FILES, FileProgress


def test_small_batches_draw_nothing_and_failures_are_counted() -> None:
    with FileProgress("hashing", enabled=True) as bar:
        bar.started(THRESHOLD_FILES - 1, 100)
        bar.file_done(FileFailure("a", "gone", "environment"))
    assert bar.failed == 1


def test_large_batches_run_a_bar_to_completion() -> None:
    with FileProgress("hashing", enabled=True) as bar:
        bar.started(THRESHOLD_FILES + 1, 100)
        for i in range(THRESHOLD_FILES + 1):
            bar.file_done(FileFailure(str(i), "x", "input"))
    assert bar.failed == THRESHOLD_FILES + 1

"""Helpers for the tracer snapshot tests that more than one lane uses."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file system semantics")


def _tree(root: Path) -> None:
    for d in range(5):
        sub = root / f"d{d}" / "inner"
        sub.mkdir(parents=True)
        for f in range(7):
            (sub / f"f{f}.bin").write_bytes(b"x" * f)
    (root / "top.txt").write_text("hello")

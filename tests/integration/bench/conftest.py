"""Fixtures for the bench/ integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench_inputs import write_three_files


@pytest.fixture
def three_files(tmp_path: Path) -> list[Path]:
    return write_three_files(tmp_path)

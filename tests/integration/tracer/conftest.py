"""Fixtures for tracer tests: a real PE built by mingw (skips with a reason when absent)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool

_C = "int main(void){return 0;}\n"


@pytest.fixture(scope="session")
def pe_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A tiny PE32+ console program compiled by x86_64-w64-mingw32-gcc."""
    gcc = require_tool("x86_64-w64-mingw32-gcc")
    d = tmp_path_factory.mktemp("pe")
    (d / "t.c").write_text(_C)
    subprocess.run([gcc, "-s", "-o", str(d / "t.exe"), str(d / "t.c")], check=True)
    return (d / "t.exe").read_bytes()


@pytest.fixture(scope="session")
def pe_file(tmp_path_factory: pytest.TempPathFactory, pe_bytes: bytes) -> Path:
    p = tmp_path_factory.mktemp("pefile") / "tiny.exe"
    p.write_bytes(pe_bytes)
    return p

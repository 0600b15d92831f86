"""Version-resource strings without pefile (catalog.pe.versioninfo) agree with pefile.

pefile (behind catalog.pe.metadata) is the oracle: every fixture PE, every Microsoft file in
../shared/oracle and the real Windows PEs this machine has (Wine's PE DLLs, MinGW-w64 runtime
DLLs; skipped when absent) must give the same strings, or both none. Any difference fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.support.catalog_versioninfo import compare

REAL_PE_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"),
    Path("/usr/lib/x86_64-linux-gnu/wine/i386-windows"),
    Path("/usr/lib/gcc/x86_64-w64-mingw32"),
    Path("/usr/lib/gcc/i686-w64-mingw32"),
    Path(__file__).resolve().parents[3] / "bench" / "corpus" / "files",  # PyPI wheels' PEs
)


def test_fixture_pes_agree_with_pefile() -> None:
    compared, with_strings = compare(sorted(p for p in (FIXTURES / "pe").rglob("*") if p.is_file()))
    assert compared >= 11
    assert with_strings >= 4  # the version*.dll fixtures carry a version resource


def test_real_pes_agree_with_pefile() -> None:
    paths = [
        p
        for d in REAL_PE_DIRS
        if d.is_dir()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.suffix.lower() in (".dll", ".exe", ".sys", ".drv", ".pyd", ".cpl")
    ]
    if len(paths) < 20:
        pytest.skip("no Wine or MinGW-w64 PE DLLs installed (apt: wine64, mingw-w64)")
    compared, with_strings = compare(paths)
    assert compared >= 20
    assert with_strings >= 10

"""Version-resource strings without pefile (catalog.pe.versioninfo) agree with pefile.

pefile (behind catalog.pe.metadata) is the oracle: every fixture PE, every Microsoft file in
../shared/oracle and the real Windows PEs this machine has (Wine's PE DLLs, MinGW-w64 runtime
DLLs; skipped when absent) must give the same strings, or both none. Any difference fails.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.catalog_versioninfo import compare


def test_microsoft_pes_agree_with_pefile(oracle_dir: Path) -> None:
    compared, with_strings = compare(sorted(p for p in oracle_dir.rglob("*") if p.is_file()))
    assert compared >= 5
    assert with_strings >= 3

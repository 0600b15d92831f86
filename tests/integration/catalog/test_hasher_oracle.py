"""The hasher against osslsigncode on Microsoft-made edge files (../shared/oracle, formats.md 8)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from catalog.pe.hashing import hash_file
from tests.conftest import require_tool


@pytest.mark.parametrize(
    "name", ["GLCKIO2_2pages.sys", "GLCKIO2_invalid1.sys", "GLCKIO2_invalid2.sys"]
)
def test_edge_glckio_digest_equals_osslsigncodes_calculation(oracle_dir: Path, name: str) -> None:
    """These were edited after signing: the embedded digest is stale, the recomputed one is not."""
    path = oracle_dir / "edge" / name
    out = subprocess.run(
        [require_tool("osslsigncode"), "verify", "-ignore-crl", "-in", str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    match = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", out)
    assert match is not None, out
    result = hash_file(path)
    assert result.authenticode_sha1 is not None
    assert result.authenticode_sha1.hex().upper() == match.group(1)
    assert result.signature_matches() is False

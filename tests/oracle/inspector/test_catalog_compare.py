"""``inspector catalog diff`` against MakeCat's own catalog of the same files (../shared/oracle)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


def test_diff_against_makecat_catalog_of_the_same_files(
    oracle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MakeCat's catalog and ours of the same files: only the CAB differs (no CAB SIP here)."""
    files = sorted(p for p in (oracle_dir / "makecat").glob("unsigned.*") if p.suffix != ".cat")
    ours = tmp_path / "ours.cat"
    code, _, err = run_cli(
        capsys, "catalog", "build", *map(str, files), "-o", str(ours), "--page-hashes",
        "--catalog-attr", "0x11010001:OSAttr:2:6.0",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli(
        capsys, "catalog", "diff", str(oracle_dir / "makecat" / "unsigned.cat"), str(ours), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["added"] == []
    assert doc["removed"] == []
    assert [c["name"] for c in doc["changed"]] == ["unsigned.ex_"]
    assert doc["unchanged"] == len(files) - 1

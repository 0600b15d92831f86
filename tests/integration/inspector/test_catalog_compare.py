"""``inspector catalog merge`` of MakeCat's catalog and ours, signed and checked by osslsigncode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, require_tool, run_cli


def test_osslsigncode_verifies_members_of_a_merged_makecat_and_inspector_catalog(
    oracle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = require_tool("osslsigncode")
    pki = FIXTURES / "pki"
    ours = tmp_path / "ours.cat"
    extra = [FIXTURES / "pe" / "hello32.exe", FIXTURES / "pe" / "hello64.exe"]
    code, _, err = run_cli(
        capsys, "catalog", "build", *map(str, extra), "-o", str(ours), "--page-hashes"
    )
    assert code == 0, err
    merged, signed = tmp_path / "merged.cat", tmp_path / "signed.cat"
    makecat = oracle_dir / "makecat" / "unsigned.cat"
    code, _, err = run_cli(capsys, "catalog", "merge", str(makecat), str(ours), "-o", str(merged))
    assert code == 0, err
    subprocess.run(
        [tool, "sign", "-certs", str(pki / "leaf-chain.pem"), "-key", str(pki / "leaf.key.pem"),
         "-h", "sha256", "-in", str(merged), "-out", str(signed)],
        check=True, capture_output=True,
    )  # fmt: skip

    def verify(member: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool, "verify", "-CAfile", str(pki / "root-ca.pem"), "-ignore-crl",
             "-catalog", str(signed), "-in", str(member)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    for member in [oracle_dir / "makecat" / "unsigned.exe", *extra]:
        done = verify(member)
        assert done.returncode == 0, done.stdout + done.stderr
    stranger = FIXTURES / "pe" / "version32.dll"
    assert verify(stranger).returncode != 0

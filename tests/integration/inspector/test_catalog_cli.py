"""``inspector makecat``, ``catalog build`` and ``catalog show`` as a user runs them.

Oracles: MakeCat's own output for the oracle CDF (``makecat/unsigned.cat``, decoded with
asn1crypto + signify's CTL schema), sha256sum of member files, osslsigncode (integration test).
The oracle files are copied into a temporary folder laid out as MakeCat saw them
(``sources/`` holding the .cdf, ``files/`` holding the members), never into the project.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)

from tests.conftest import FIXTURES, require_tool
from tests.support.inspector_catalog_cli import run_main


@pytest.mark.parametrize("version", ["--sha256", "--sha1"])
def test_osslsigncode_verifies_members_of_our_signed_catalog(
    oracle_dir: Path, tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Our catalog, signed by osslsigncode, covers each PE member (digest and page hashes)."""
    tool = require_tool("osslsigncode")
    pki = FIXTURES / "pki"
    members = [
        oracle_dir / "makecat" / "unsigned.exe",
        FIXTURES / "pe" / "hello32.exe",
        FIXTURES / "pe" / "hello64-signed-sha256.exe",
    ]
    unsigned, signed = tmp_path / "app.cat", tmp_path / "signed.cat"
    code, _, err = run_main(
        ["catalog", "build", *map(str, members), "-o", str(unsigned), "--page-hashes", version],
        capsys,
    )
    assert code == 0, err
    subprocess.run(
        [tool, "sign", "-certs", str(pki / "leaf-chain.pem"), "-key", str(pki / "leaf.key.pem"),
         "-h", "sha256", "-in", str(unsigned), "-out", str(signed)],
        check=True, capture_output=True,
    )  # fmt: skip

    def verify(member: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool, "verify", "-CAfile", str(pki / "root-ca.pem"), "-ignore-crl",
             "-catalog", str(signed), "-in", str(member)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    for member in members:
        done = verify(member)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Calculated page hash" in done.stdout
        assert "MISMATCH" not in done.stdout
    tampered = tmp_path / "unsigned.exe"
    data = bytearray(members[0].read_bytes())
    data[0x700] ^= 0x01  # a byte of .text
    tampered.write_bytes(bytes(data))
    assert verify(tampered).returncode != 0

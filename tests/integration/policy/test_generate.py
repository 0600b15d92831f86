"""Generators against independent values: Microsoft's catalog signer (TBS from formats.md 6.2 and
the oracle README), MakeCat's digests of unsigned.exe (oracle README), sha256sum-equivalent flat
hashes, and the option bits of Microsoft-converted binaries (policy-oracle README)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from policy.signers import SignerLevel, chain_from_catalog, signer_rule
from tests.conftest import require_tool


def test_leaf_level_uses_the_leaf_tbs(oracle_dir: Path, tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    cat = oracle_dir / "microsoft" / "oem89.cat"
    chain = chain_from_catalog(cat.read_bytes(), "oem89.cat")
    leaf = tmp_path / "leaf.der"
    leaf.write_bytes(chain.leaf)
    tbs = tmp_path / "tbs.der"
    # openssl cuts out the TBSCertificate (the first element of the certificate SEQUENCE).
    subprocess.run(
        [
            openssl,
            "asn1parse",
            "-inform",
            "DER",
            "-in",
            leaf,
            "-strparse",
            "4",
            "-noout",
            "-out",
            tbs,
        ],
        check=True,
        capture_output=True,
    )
    signer = signer_rule(chain, SignerLevel.LEAF_CERTIFICATE, "ID_SIGNER_S_1")
    assert signer.cert_root.value == hashlib.sha256(tbs.read_bytes()).hexdigest().upper()
    assert signer.name == "Microsoft Windows Hardware Compatibility Publisher"

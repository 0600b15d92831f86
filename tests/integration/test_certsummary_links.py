"""Certificate summaries and single chain links, against openssl's view of the same certificates.

Oracles: ``openssl x509`` prints the subject, the key identifiers and the EKUs of the test PKI's
certificates; ``openssl verify -partial_chain`` decides whether a parent signed a child. The
SHA-1 case is a real Microsoft link (pciide.sys: the "Microsoft Windows" leaf under "Microsoft
Windows Verification PCA", SHA-1 signed), which openssl 3 will not check at its default security
level: there the oracle is Microsoft's own signature on the file, whose chain it is.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from catalog.asn1.certsummary import summarize_certificate
from catalog.asn1.x509 import certificates_in
from catalog.cms.links import signature_verifies
from catalog.errors import CatalogInputError
from tests.conftest import require_tool
from tests.support.signing import pki


def _openssl_text(pem: Path) -> str:
    tool = require_tool("openssl")
    return subprocess.run(
        [tool, "x509", "-in", str(pem), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_summary_agrees_with_openssl(fixtures_dir: Path) -> None:
    pem = fixtures_dir / "pki" / "leaf.pem"
    der = pki().leaf.cert.public_bytes(Encoding.DER)
    s = summarize_certificate(der)
    text = _openssl_text(pem)
    assert f"CN = {s.subject_cn}" in text.split("Subject:")[1].splitlines()[0]
    assert f"CN = {s.issuer_cn}" in text.split("Issuer:")[1].splitlines()[0]
    ski = re.search(r"Subject Key Identifier:\s*\n\s*([0-9A-F:]+)", text)
    assert ski is not None
    assert s.key_id == ski.group(1).replace(":", "")
    assert "Code Signing" in text
    assert s.ekus == ("1.3.6.1.5.5.7.3.3",)
    assert not s.self_issued
    assert len(s.tbs_hash) == 64


def test_links_agree_with_openssl_verify(fixtures_dir: Path, tmp_path: Path) -> None:
    tool = require_tool("openssl")
    p = pki()
    der = {
        "leaf": p.leaf.cert.public_bytes(Encoding.DER),
        "issuing": p.issuing.cert.public_bytes(Encoding.DER),
        "root": p.root.cert.public_bytes(Encoding.DER),
    }
    pems = {"leaf": "leaf.pem", "issuing": "issuing-ca.pem", "root": "root-ca.pem"}
    for child, parent in (("leaf", "issuing"), ("issuing", "root"), ("leaf", "root")):
        ok = (
            subprocess.run(
                [
                    tool,
                    "verify",
                    "-partial_chain",
                    "-no-CApath",
                    "-CAfile",
                    str(fixtures_dir / "pki" / pems[parent]),
                    str(fixtures_dir / "pki" / pems[child]),
                ],
                capture_output=True,
                text=True,
                check=False,
            ).returncode
            == 0
        )
        assert signature_verifies(der[child], der[parent]) == ok, (child, parent)


def test_sha1_microsoft_link(oracle_dir: Path) -> None:
    path = oracle_dir / "microsoft" / "pciide.sys"
    certs = [summarize_certificate(d) for d in certificates_in(path.read_bytes(), str(path))]
    pca = next(c for c in certs if c.subject_cn == "Microsoft Windows Verification PCA")
    leaf = next(c for c in certs if c.issuer_key == pca.subject_key)
    assert signature_verifies(leaf.der, pca.der)
    assert not signature_verifies(pca.der, leaf.der)


def test_garbage_is_refused() -> None:
    with pytest.raises(CatalogInputError):
        summarize_certificate(b"\x30\x03\x02\x01\x01")
    assert signature_verifies(b"junk", b"junk") is False

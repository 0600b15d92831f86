"""Fixture sanity: the test PKI's name string types, read by OpenSSL (sipolicy.md section 6).

Windows rejects signed WDAC policies whose certificate names are UTF8String, so every certificate
in fixtures/pki/ must use PrintableString names, except the one deliberate negative leaf
``leaf-utf8-names`` (fixtures/README.md). The oracle is ``openssl asn1parse``, not our DER code.
"""

from __future__ import annotations

from tests.support.catalog_fixture_pki_names import CERTS


def test_every_identity_is_present() -> None:
    assert "leaf-utf8-names.pem" in CERTS
    assert len(CERTS) == 13

"""Signing catalogs (formats.md 6.1): structure, determinism, re-signing, pre-flight refusals.

Structures are read back with asn1crypto and signatures checked with cryptography - neither is the
code under test; digests are compared with values computed here from the input bytes or published
in ../shared/oracle/README.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from catalog.cms.signed_data import SignOptions
from catalog.errors import CatalogInputError
from catalog.pe.layout import parse_pe_layout
from tests.support.catalog_sign import _attrs, _sign
from tests.support.signing import identity

OEM89_MESSAGE_DIGEST = "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"


@pytest.fixture
def unsigned_cat(oracle_dir: Path) -> bytes:
    return (oracle_dir / "makecat" / "unsigned.cat").read_bytes()


def test_signed_structure_matches_formats_6_1(unsigned_cat: bytes) -> None:
    ident = identity()
    out = _sign(unsigned_cat, ident)
    original = cms.ContentInfo.load(unsigned_cat)["content"]
    info = cms.ContentInfo.load(out)
    assert info["content_type"].native == "signed_data"
    sd = info["content"]
    assert sd["version"].native == "v1"
    (alg,) = sd["digest_algorithms"]
    assert alg.dump() == bytes.fromhex("300d06096086480165030402010500")  # sha256 + NULL
    # The inner contentInfo is kept byte for byte.
    assert sd["encap_content_info"].dump() == original["encap_content_info"].dump()
    assert sd["encap_content_info"]["content_type"].dotted == "1.3.6.1.4.1.311.10.1"
    certs = [c.chosen.dump() for c in sd["certificates"]]
    assert sorted(certs) == certs
    assert set(certs) == {ident.certificate_der, *ident.chain_der}
    (signer,) = sd["signer_infos"]
    assert signer["version"].native == "v1"
    assert signer["sid"].chosen["serial_number"].native == ident.certificate.serial_number
    assert signer["digest_algorithm"].dump() == alg.dump()
    assert signer["signature_algorithm"].dump() == bytes.fromhex("300d06092a864886f70d0101010500")
    attrs = _attrs(signer)
    assert set(attrs) == {
        "1.2.840.113549.1.9.3",
        "1.2.840.113549.1.9.4",
        "1.3.6.1.4.1.311.2.1.11",
    }
    assert attrs["1.2.840.113549.1.9.3"]["values"][0].dotted == "1.3.6.1.4.1.311.10.1"
    # messageDigest = SHA256 over the CTL contents octets (asn1crypto's view of them).
    ctl_contents = original["encap_content_info"]["content"].contents
    assert (
        attrs["1.2.840.113549.1.9.4"]["values"][0].native == hashlib.sha256(ctl_contents).digest()
    )
    statement = attrs["1.3.6.1.4.1.311.2.1.11"]["values"][0]
    assert statement.dump() == bytes.fromhex("300c060a2b0601040182370201 15".replace(" ", ""))
    # DER SET order of the attributes, and a PKCS#1 v1.5 signature over the SET.
    encoded = [a.dump() for a in signer["signed_attrs"]]
    assert encoded == sorted(encoded)
    to_verify = b"\x31" + signer["signed_attrs"].dump()[1:]
    public = ident.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signer["signature"].native, to_verify, padding.PKCS1v15(), hashes.SHA256())


def test_deterministic_and_optional_attributes(unsigned_cat: bytes) -> None:
    ident = identity()
    assert _sign(unsigned_cat, ident) == _sign(unsigned_cat, ident)
    opts = SignOptions(
        program_name="Contoso app",
        more_info_url="https://contoso.invalid/",
        signing_time=dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC),
    )
    first = _sign(unsigned_cat, ident, opts)
    assert first == _sign(unsigned_cat, ident, opts)
    (signer,) = cms.ContentInfo.load(first)["content"]["signer_infos"]
    attrs = _attrs(signer)
    assert attrs["1.2.840.113549.1.9.5"]["values"][0].native == dt.datetime(
        2025, 6, 1, 12, 0, tzinfo=dt.UTC
    )
    opus = attrs["1.3.6.1.4.1.311.2.1.12"]["values"][0].dump()
    assert "Contoso app".encode("utf-16-be") in opus
    assert b"https://contoso.invalid/" in opus


def test_resigning_replaces_signature_and_keeps_content(unsigned_cat: bytes) -> None:
    once = _sign(unsigned_cat, identity())
    twice = _sign(once, identity("leaf-rsa3072"))
    sd = cms.ContentInfo.load(twice)["content"]
    assert len(sd["signer_infos"]) == 1
    subjects = {c.chosen.subject.native["common_name"] for c in sd["certificates"]}
    assert subjects == {"Inspector Test Code Signing RSA 3072", "Inspector Test Issuing CA"}
    original = cms.ContentInfo.load(unsigned_cat)["content"]["encap_content_info"].dump()
    assert sd["encap_content_info"].dump() == original


def test_oem89_message_digest_and_resign(oracle_dir: Path) -> None:
    data = (oracle_dir / "microsoft" / "oem89.cat").read_bytes()
    out = _sign(data, identity())
    (signer,) = cms.ContentInfo.load(out)["content"]["signer_infos"]
    # Same content as Microsoft signed, so our messageDigest equals Microsoft's published one.
    assert _attrs(signer)["1.2.840.113549.1.9.4"]["values"][0].native.hex().upper() == (
        OEM89_MESSAGE_DIGEST
    )


def test_truncated_catalog_is_refused(unsigned_cat: bytes) -> None:
    with pytest.raises(CatalogInputError, match=r"test\.cat.*truncated"):
        _sign(unsigned_cat[:-100], identity())


def test_signed_pe_is_not_a_catalog(oracle_dir: Path) -> None:
    # A .p7b-like blob that is SignedData but not a CTL: the signature of sigcheck.exe.
    data = (oracle_dir / "microsoft" / "sigcheck.exe").read_bytes()
    layout = parse_pe_layout(data)
    table = data[layout.cert_table_offset : layout.cert_table_offset + layout.cert_table_size]
    length, _revision, cert_type = struct.unpack_from("<IHH", table)  # WIN_CERTIFICATE
    assert cert_type == 0x0002  # WIN_CERT_TYPE_PKCS_SIGNED_DATA
    signature = table[8:length]
    # Its inner content is SpcIndirectDataContent, not a CTL.
    with pytest.raises(CatalogInputError, match=r"1\.3\.6\.1\.4\.1\.311\.2\.1\.4.*not a catalog"):
        _sign(signature, identity())

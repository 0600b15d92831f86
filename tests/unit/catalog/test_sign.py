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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from catalog.cms.keys import (
    CertificateUsageError,
    CertificateValidityError,
    ChainOrderError,
    KeyMismatchError,
    PasswordRequiredError,
    SigningIdentity,
    UnsupportedKeyError,
    WrongPasswordError,
    identity_from_pem,
    identity_from_pfx,
    preflight,
)
from catalog.cms.signed_data import (
    OID_CTL,
    SignOptions,
    build_signed_data,
    content_info_for,
    resign,
)
from catalog.errors import CatalogInputError
from catalog.pe.layout import parse_pe_layout
from fixtures.pki import PFX_PASSWORD, PKI_DIR
from tests.support.signing import NOW, identity, pki

OEM89_MESSAGE_DIGEST = "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"


def _sign(data: bytes, ident: SigningIdentity, options: SignOptions | None = None) -> bytes:
    return resign(
        data,
        "test.cat",
        ident.certificate_der,
        ident.chain_der,
        ident.sign,
        options or SignOptions(),
        expected_content_type=OID_CTL,
    )


@pytest.fixture
def unsigned_cat(oracle_dir: Path) -> bytes:
    return (oracle_dir / "makecat" / "unsigned.cat").read_bytes()


def _attrs(signer: cms.SignerInfo) -> dict[str, cms.CMSAttribute]:
    return {a["type"].dotted: a for a in signer["signed_attrs"]}


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


@pytest.mark.oracle
def test_oem89_message_digest_and_resign(oracle_dir: Path) -> None:
    data = (oracle_dir / "microsoft" / "oem89.cat").read_bytes()
    out = _sign(data, identity())
    (signer,) = cms.ContentInfo.load(out)["content"]["signer_infos"]
    # Same content as Microsoft signed, so our messageDigest equals Microsoft's published one.
    assert _attrs(signer)["1.2.840.113549.1.9.4"]["values"][0].native.hex().upper() == (
        OEM89_MESSAGE_DIGEST
    )


def test_generic_content_type_for_policies() -> None:
    """A WDAC policy signs content type 79.1; messageDigest covers the OCTET STRING's contents."""
    policy = b"\x07\x00\x00\x00 policy bytes"
    content = b"\x04" + bytes((len(policy),)) + policy
    ident = identity()
    out = build_signed_data(
        content_info_for("1.3.6.1.4.1.311.79.1", content),
        "1.3.6.1.4.1.311.79.1",
        policy,
        ident.certificate_der,
        ident.chain_der,
        ident.sign,
    )
    sd = cms.ContentInfo.load(out)["content"]
    (signer,) = sd["signer_infos"]
    attrs = _attrs(signer)
    assert attrs["1.2.840.113549.1.9.3"]["values"][0].dotted == "1.3.6.1.4.1.311.79.1"
    assert attrs["1.2.840.113549.1.9.4"]["values"][0].native == hashlib.sha256(policy).digest()


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "empty"),
        (b"not a catalog at all", "SEQUENCE"),
        (bytes.fromhex("3082ffff0609"), "truncated"),
    ],
)
def test_non_catalog_input_is_refused(data: bytes, needle: str) -> None:
    with pytest.raises(CatalogInputError, match=needle):
        _sign(data, identity())


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


# --- identities and pre-flight -------------------------------------------------------------------


def _key_bytes(stem: str) -> bytes:
    return (PKI_DIR / f"{stem}.key.pem").read_bytes()


def _cert_bytes(stem: str) -> bytes:
    return (PKI_DIR / f"{stem}.pem").read_bytes()


def test_good_leaves_pass_preflight() -> None:
    for stem in ("leaf", "leaf-rsa3072", "leaf-rsa4096"):
        preflight(identity(stem), NOW)


def test_expired_and_not_yet_valid() -> None:
    with pytest.raises(CertificateValidityError, match="expired"):
        preflight(identity("leaf-expired"), NOW)
    with pytest.raises(CertificateValidityError, match="not yet valid"):
        preflight(identity("leaf-not-yet-valid"), NOW)


def test_missing_code_signing_eku() -> None:
    with pytest.raises(CertificateUsageError, match="Code Signing"):
        preflight(identity("leaf-no-codesign-eku"), NOW)


def test_rsa_1024_refused() -> None:
    with pytest.raises(UnsupportedKeyError, match="1024"):
        preflight(identity("leaf-rsa1024"), NOW)


def test_ecdsa_refused_with_reason() -> None:
    with pytest.raises(UnsupportedKeyError, match="WDAC signer rules only work with RSA"):
        identity("leaf-ecdsa-p256")


def test_key_not_matching_certificate() -> None:
    with pytest.raises(KeyMismatchError, match=r"leaf\.pem"):
        identity_from_pem(_cert_bytes("leaf"), _key_bytes("leaf-wrong-key"), cert_source="leaf.pem")


def test_pfx_passwords() -> None:
    pfx = (PKI_DIR / "leaf.pfx").read_bytes()
    good = identity_from_pfx(pfx, password=PFX_PASSWORD.encode(), source="leaf.pfx")
    preflight(good, NOW)
    assert good.certificate == pki().leaf.cert
    assert good.chain[0] == pki().issuing.cert
    with pytest.raises(WrongPasswordError, match=r"leaf\.pfx"):
        identity_from_pfx(pfx, password=b"nope", source="leaf.pfx")
    with pytest.raises(PasswordRequiredError, match="--password-env"):
        identity_from_pfx(pfx, password=None, source="leaf.pfx")


def test_encrypted_pem_key() -> None:
    encrypted = pki().leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    cert = _cert_bytes("leaf")
    identity_from_pem(cert, encrypted, password=b"s3cret")
    with pytest.raises(PasswordRequiredError):
        identity_from_pem(cert, encrypted)
    with pytest.raises(WrongPasswordError):
        identity_from_pem(cert, encrypted, password=b"wrong")


def test_chain_is_reordered_leaf_first() -> None:
    p = pki()
    shuffled = b"".join(
        c.public_bytes(serialization.Encoding.PEM)
        for c in (p.root.cert, p.leaf.cert, p.issuing.cert)
    )
    ident = identity_from_pem(shuffled, _key_bytes("leaf"))
    assert ident.certificate == p.leaf.cert
    assert ident.chain == (p.issuing.cert, p.root.cert)


def test_stray_certificate_is_explained() -> None:
    p = pki()
    stray = p.leaf_rsa3072.cert.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ChainOrderError, match="Code Signing RSA 3072"):
        identity_from_pem(_cert_bytes("leaf"), _key_bytes("leaf"), chain_pem=stray)


def test_signature_is_pkcs1_v15_sha256() -> None:
    ident = identity()
    sig = ident.sign(b"abc")
    cert = x509.load_pem_x509_certificate(_cert_bytes("leaf"))
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(sig, b"abc", padding.PKCS1v15(), hashes.SHA256())

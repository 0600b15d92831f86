"""Signing catalogs (formats.md 6.1): structure, determinism, re-signing, pre-flight refusals.

Structures are read back with asn1crypto and signatures checked with cryptography - neither is the
code under test; digests are compared with values computed here from the input bytes or published
in ../shared/oracle/README.md.
"""

from __future__ import annotations

import hashlib

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
    UnsupportedKeyError,
    WrongPasswordError,
    identity_from_pem,
    identity_from_pfx,
    preflight,
)
from catalog.cms.signed_data import build_signed_data, content_info_for
from catalog.errors import CatalogInputError
from fixtures.pki import PFX_PASSWORD, PKI_DIR
from tests.support.catalog_sign import _attrs, _sign
from tests.support.signing import NOW, identity, pki


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

"""Signed policies (sipolicy.md 6, trap 10): structure checked with asn1crypto and OpenSSL.

No Microsoft- or signtool-signed policy exists in the oracle (policy-oracle README, "Not found"),
so the checks are structural: SignedData version 1, eContentType 1.3.6.1.4.1.311.79.1, the policy
as the OCTET STRING content, messageDigest = SHA-256 of the policy, and OpenSSL's verification.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from catalog.policy.binary import compile_policy
from catalog.policy.errors import PolicyInputError, PolicyVerificationError
from catalog.policy.generate import add_signer, new_policy, set_rule_options
from catalog.policy.model import Ref, SiPolicy
from catalog.policy.sign import (
    preflight_policy_signing,
    sign_policy_binary,
    unwrap_signed_policy,
)
from catalog.policy.signers import SignerLevel, load_signer_chain, signer_rule
from catalog.signer import SigningIdentity, identity_from_pem
from tests.conftest import FIXTURES, require_tool

POLICY_ID = "{6522BE99-DAD1-4D54-A76D-A1EC8CEBD08F}"


def _name(cn: str) -> x509.Name:
    # PrintableString names: Windows refuses signed policies from UTF8String names (MSD-SIGN).
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX", _ASN1Type.PrintableString),
            x509.NameAttribute(NameOID.COMMON_NAME, cn, _ASN1Type.PrintableString),
        ]
    )


def _make_identity_pems() -> tuple[bytes, bytes, bytes]:
    """(leaf cert PEM, leaf key PEM, CA cert PEM): RSA 2048, PrintableString names."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2046, 1, 1, tzinfo=dt.UTC)
    ca_key = rsa.generate_private_key(65537, 2048)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Policy Test CA"))
        .issuer_name(_name("Policy Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(65537, 2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Policy Test Signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        leaf.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        ca.public_bytes(pem),
    )


def make_identity_files(folder: Path) -> tuple[Path, Path, Path]:
    """Write a fresh identity: leaf.pem, leaf.key.pem and chain.pem (leaf + CA)."""
    cert, key, ca = _make_identity_pems()
    paths = (folder / "leaf.pem", folder / "leaf.key.pem", folder / "chain.pem")
    for path, data in zip(paths, (cert, key, cert + ca), strict=True):
        path.write_bytes(data)
    return paths


@pytest.fixture(scope="module")
def identity() -> SigningIdentity:
    cert, key, ca = _make_identity_pems()
    return identity_from_pem(cert, key, chain_pem=ca)


def _signable(identity: SigningIdentity) -> SiPolicy:
    chain_pem = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (identity.certificate, *identity.chain)
    )
    chain = load_signer_chain(chain_pem, "identity")
    signer = signer_rule(chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_UPDATE")
    policy = new_policy("enforced", name="signed", policy_id=POLICY_ID)
    policy = set_rule_options(policy, remove=["Enabled:Unsigned System Integrity Policy"])
    policy = add_signer(policy, signer)
    return policy.with_changes(update_policy_signers=(Ref(signer.id),))


def test_signed_policy_structure(identity: SigningIdentity) -> None:
    policy = _signable(identity)
    preflight_policy_signing(policy, identity)
    raw = compile_policy(policy)
    signed = sign_policy_binary(raw, identity)
    info = cms.ContentInfo.load(signed)
    assert info["content_type"].dotted == "1.2.840.113549.1.7.2"
    sd = info["content"]
    assert sd["version"].native == "v1"  # not CMS's v3 (sipolicy.md 6)
    assert sd["encap_content_info"]["content_type"].dotted == "1.3.6.1.4.1.311.79.1"
    assert sd["encap_content_info"]["content"].native == raw
    (si,) = sd["signer_infos"]
    assert si["sid"].name == "issuer_and_serial_number"
    assert si["digest_algorithm"]["algorithm"].native == "sha256"
    attrs = {a["type"].dotted: a["values"][0] for a in si["signed_attrs"]}
    assert attrs["1.2.840.113549.1.9.4"].native == hashlib.sha256(raw).digest()
    assert attrs["1.2.840.113549.1.9.3"].dotted == "1.3.6.1.4.1.311.79.1"
    # Self-signed roots are not embedded (signtool's default chain).
    assert len(sd["certificates"]) == 1
    unwrapped = unwrap_signed_policy(signed, "signed.cip")
    assert unwrapped.policy == raw
    assert unwrapped.verified
    assert unwrapped.signed_data_version == 1


@pytest.mark.integration
def test_openssl_verifies_and_returns_the_policy(identity: SigningIdentity, tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    raw = compile_policy(_signable(identity))
    signed = tmp_path / "signed.cip"
    signed.write_bytes(sign_policy_binary(raw, identity))
    out = subprocess.run(
        [openssl, "cms", "-verify", "-inform", "DER", "-binary", "-noverify", "-in", signed],
        check=True,
        capture_output=True,
    )
    assert out.stdout == raw


def test_tampered_signed_policy_fails_verification(identity: SigningIdentity) -> None:
    raw = compile_policy(_signable(identity))
    signed = bytearray(sign_policy_binary(raw, identity))
    at = bytes(signed).index(raw) + 0x38  # VersionEx inside the embedded policy
    signed[at] ^= 1
    with pytest.raises(PolicyVerificationError, match="messageDigest"):
        unwrap_signed_policy(bytes(signed), "tampered.cip")


def test_preflight_refusals(identity: SigningIdentity) -> None:
    good = _signable(identity)
    with pytest.raises(PolicyInputError, match="Unsigned System Integrity Policy"):
        preflight_policy_signing(
            set_rule_options(good, add=["Enabled:Unsigned System Integrity Policy"]), identity
        )
    with pytest.raises(PolicyInputError, match="no UpdatePolicySigners"):
        preflight_policy_signing(good.with_changes(update_policy_signers=()), identity)
    other = new_policy("enforced", name="x", policy_id=POLICY_ID)
    fixture_chain = load_signer_chain(
        (FIXTURES / "pki" / "leaf-chain.pem").read_bytes(), "leaf-chain.pem"
    )
    foreign = signer_rule(fixture_chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_OTHER")
    other = add_signer(set_rule_options(other, remove=["6"]), foreign)
    other = other.with_changes(update_policy_signers=(Ref(foreign.id),))
    with pytest.raises(PolicyInputError, match="no UpdatePolicySigner matches"):
        preflight_policy_signing(other, identity)


def test_utf8_certificate_names_are_refused() -> None:
    pki = FIXTURES / "pki"
    # The shared test PKI writes UTF8String names (cryptography's default).
    utf8_identity = identity_from_pem(
        (pki / "leaf.pem").read_bytes(),
        (pki / "leaf.key.pem").read_bytes(),
        chain_pem=(pki / "leaf-chain.pem").read_bytes(),
    )
    with pytest.raises(PolicyInputError, match="UTF8String"):
        preflight_policy_signing(_signable(utf8_identity), utf8_identity)


def test_already_signed_input_is_refused(identity: SigningIdentity) -> None:
    signed = sign_policy_binary(compile_policy(_signable(identity)), identity)
    with pytest.raises(PolicyInputError, match="already signed"):
        sign_policy_binary(signed, identity)

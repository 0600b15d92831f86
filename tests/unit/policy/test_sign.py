"""Signed policies (sipolicy.md 6, trap 10): structure checked with asn1crypto and OpenSSL.

No Microsoft- or signtool-signed policy exists in the oracle (policy-oracle README, "Not found"),
so the checks are structural: SignedData version 1, eContentType 1.3.6.1.4.1.311.79.1, the policy
as the OCTET STRING content, messageDigest = SHA-256 of the policy, and OpenSSL's verification.
"""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization

from catalog.cms.keys import SigningIdentity, identity_from_pem
from policy.binary import compile_policy
from policy.errors import PolicyInputError, PolicyVerificationError
from policy.generate import add_signer, new_policy, set_rule_options
from policy.model import Ref
from policy.sign import preflight_policy_signing, sign_policy_binary, unwrap_signed_policy
from policy.signers import SignerLevel, load_signer_chain, signer_rule
from tests.support.policy_sign import POLICY_ID, _signable
from tests.support.signing import identity as fixture_identity
from tests.support.signing import pki


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
    # The leaf and its issuing CA travel with the signature; a self-signed root never does
    # (signtool's default chain).
    der = serialization.Encoding.DER
    embedded = [c.chosen.dump() for c in sd["certificates"]]
    assert embedded == [pki().leaf.cert.public_bytes(der), pki().issuing.cert.public_bytes(der)]
    leaf = pki().leaf
    with_root = identity_from_pem(leaf.chain_pem(), leaf.key_pem())  # leaf, issuing CA, root
    assert len(with_root.chain) == 2
    assert pki().root.cert.public_bytes(der) not in sign_policy_binary(raw, with_root)
    unwrapped = unwrap_signed_policy(signed, "signed.cip")
    assert unwrapped.policy == raw
    assert unwrapped.verified
    assert unwrapped.signed_data_version == 1


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
    # Same issuing CA, another leaf CN: a Publisher rule for it does not cover our signer.
    other_chain = load_signer_chain(pki().leaf_rsa3072.chain_pem(), "leaf-rsa3072-chain.pem")
    foreign = signer_rule(other_chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_OTHER")
    other = add_signer(set_rule_options(other, remove=["6"]), foreign)
    other = other.with_changes(update_policy_signers=(Ref(foreign.id),))
    with pytest.raises(PolicyInputError, match="no UpdatePolicySigner accepts"):
        preflight_policy_signing(other, identity)


def test_utf8_certificate_names_are_refused() -> None:
    # The fixture PKI's one deliberate UTF8String leaf (fixtures/README.md, leaf-utf8-names).
    utf8_identity = fixture_identity("leaf-utf8-names")
    with pytest.raises(PolicyInputError, match="UTF8String"):
        preflight_policy_signing(_signable(utf8_identity), utf8_identity)


def test_already_signed_input_is_refused(identity: SigningIdentity) -> None:
    signed = sign_policy_binary(compile_policy(_signable(identity)), identity)
    with pytest.raises(PolicyInputError, match="already signed"):
        sign_policy_binary(signed, identity)

"""SupplementalPolicySigners: model, XML order, validation, binary block 6, signing pre-flight.

sipolicy.md 2.1/2.2 (element, schema), 3.3 item 11 (block 6: DWORD 6, PolicyID, BasePolicyID,
LIST of signer indices). No Microsoft binary with a non-empty SupplementalPolicySigners list exists
in ../shared/policy-oracle (every pair and binary has an empty one), so the binary side is checked
against the documented layout (byte positions computed here from the spec, not by the compiler)
and by round trip; the input XML for the oracle test is HotCakeX's FullCoverage.Base.xml. TBS
values are computed here with ``cryptography`` (tbs_certificate_bytes) and hashlib, independently
of catalog.asn1.x509.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from cryptography import x509

from fixtures.pki import PKI_DIR
from policy.binary import compile_policy, decompile_policy
from policy.errors import PolicyInputError
from policy.generate import add_policy_signer, new_policy, set_rule_options
from policy.model import LEGACY_POLICY_TYPE_ID, CertRoot, Ref, Signer, SiPolicy
from policy.sign import preflight_supplemental_signing
from policy.signers import SignerLevel
from policy.validate import validate_policy
from tests.support.policy_supplemental_signers import BASE_ID, _base, _block6, _signer
from tests.support.signing import identity as fixture_identity
from tests.support.signing import pki

SUPP_ID = "{11111111-2222-4333-8444-555555555555}"


def _tbs_sha256(pem: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest().upper()


def _supplemental() -> SiPolicy:
    return new_policy("supplemental", name="supp", policy_id=SUPP_ID, base_policy_id=BASE_ID)


def test_same_certificate_is_one_signer_with_two_roles() -> None:
    pub = _signer("leaf", SignerLevel.PUBLISHER, "ID_SIGNER_U_A")
    again = _signer("leaf", SignerLevel.PUBLISHER, "ID_SIGNER_P_B")
    policy = add_policy_signer(_base(), pub, "UpdatePolicySigners")
    policy = add_policy_signer(policy, again, "SupplementalPolicySigners")
    policy = add_policy_signer(policy, again, "SupplementalPolicySigners")  # idempotent
    assert [s.id for s in policy.signers or ()] == ["ID_SIGNER_U_A"]
    assert policy.update_policy_signers == (Ref("ID_SIGNER_U_A"),)
    assert policy.supplemental_policy_signers == (Ref("ID_SIGNER_U_A"),)
    (signer,) = policy.signers or ()
    assert signer.cert_root == CertRoot("TBS", _tbs_sha256(PKI_DIR / "issuing-ca.pem"))
    # Another level is another rule: a second Signer.
    pca = _signer("leaf", SignerLevel.PCA_CERTIFICATE, "ID_SIGNER_P_C")
    policy = add_policy_signer(policy, pca, "SupplementalPolicySigners")
    assert [s.id for s in policy.signers or ()] == ["ID_SIGNER_U_A", "ID_SIGNER_P_C"]
    assert policy.supplemental_policy_signers == (Ref("ID_SIGNER_U_A"), Ref("ID_SIGNER_P_C"))


def test_signer_with_conditions_is_not_reused() -> None:
    pub = _signer("leaf", SignerLevel.PUBLISHER, "ID_SIGNER_S_A")
    limited = Signer(
        "ID_SIGNER_S_LIMITED", pub.name, pub.cert_root, cert_publisher=pub.cert_publisher,
        sign_time_after="2020-01-01T00:00:00",
    )  # fmt: skip
    policy = _base().with_changes(signers=(limited,))
    policy = add_policy_signer(policy, pub, "SupplementalPolicySigners")
    assert [s.id for s in policy.signers or ()] == ["ID_SIGNER_S_LIMITED", "ID_SIGNER_S_A"]


LEGACY = new_policy("enforced", name="legacy", policy_id=BASE_ID).with_changes(
    policy_id=None,
    base_policy_id=None,
    policy_type=None,
    policy_type_id=LEGACY_POLICY_TYPE_ID,
)


@pytest.mark.parametrize("policy", [_supplemental(), LEGACY], ids=["supplemental", "legacy"])
def test_only_base_policies_take_supplemental_signers(policy: SiPolicy) -> None:
    signer = _signer("leaf", SignerLevel.PUBLISHER, "ID_SIGNER_P_A")
    with pytest.raises(
        PolicyInputError, match="SupplementalPolicySigners are only valid in a base"
    ):
        add_policy_signer(policy, signer, "SupplementalPolicySigners")
    # An UpdatePolicySigner is fine anywhere.
    assert add_policy_signer(policy, signer, "UpdatePolicySigners").update_policy_signers


def test_validator_checks_references_and_option_17() -> None:
    signer = _signer("leaf", SignerLevel.PUBLISHER, "ID_SIGNER_P_A")
    policy = add_policy_signer(_base(), signer, "SupplementalPolicySigners")
    assert not [i for i in validate_policy(policy) if i.element == "SupplementalPolicySigners"]
    dangling = policy.with_changes(supplemental_policy_signers=(Ref("ID_SIGNER_P_MISSING"),))
    assert any(
        i.severity == "error" and "ID_SIGNER_P_MISSING" in str(i) for i in validate_policy(dangling)
    )
    closed = set_rule_options(policy, remove=["Enabled:Allow Supplemental Policies"])
    assert any(
        i.severity == "warning" and i.element == "SupplementalPolicySigners"
        for i in validate_policy(closed)
    )
    wrong = _supplemental().with_changes(
        signers=(signer,), supplemental_policy_signers=(Ref(signer.id),)
    )
    assert any(
        i.severity == "error" and i.element == "SupplementalPolicySigners"
        for i in validate_policy(wrong)
    )


def test_binary_block6_lists_signer_indices() -> None:
    update = _signer("leaf-rsa3072", SignerLevel.PUBLISHER, "ID_SIGNER_U_A")
    supp = _signer("leaf", SignerLevel.PCA_CERTIFICATE, "ID_SIGNER_P_B")
    policy = add_policy_signer(_base(), update, "UpdatePolicySigners")
    policy = add_policy_signer(policy, supp, "SupplementalPolicySigners")
    policy = add_policy_signer(policy, update, "SupplementalPolicySigners")
    binary = compile_policy(policy)
    assert struct.unpack_from("<I", binary, 0x30) == (2,)  # number of signers
    assert _block6(binary, BASE_ID, BASE_ID) == [1, 0]  # XML order, indices into Signers
    decoded = decompile_policy(binary).policy
    signers = {s.id: s for s in decoded.signers or ()}
    roots = [
        signers[r.id].cert_root.value.upper() for r in decoded.supplemental_policy_signers or ()
    ]
    assert roots == [_tbs_sha256(PKI_DIR / "issuing-ca.pem")] * 2
    assert [signers[r.id].cert_publisher for r in decoded.supplemental_policy_signers or ()] == [
        None,
        x509.load_pem_x509_certificate((PKI_DIR / "leaf-rsa3072.pem").read_bytes())
        .subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0]
        .value,
    ]
    assert compile_policy(decoded, preserve_rule_order=True) == binary


def test_supplemental_signing_preflight() -> None:
    me = fixture_identity("leaf")
    supp = _supplemental()
    base = _base()
    with pytest.raises(PolicyInputError, match="no SupplementalPolicySigners") as exc:
        preflight_supplemental_signing(supp, base, me, "base.xml")
    assert "inspector policy set base.xml --supplemental-signer" in str(exc.value)
    # Same issuing CA, another leaf CN at Publisher level: not our signer.
    other = _signer("leaf-rsa3072", SignerLevel.PUBLISHER, "ID_SIGNER_P_OTHER")
    with pytest.raises(PolicyInputError, match="ID_SIGNER_P_OTHER"):
        preflight_supplemental_signing(
            supp, add_policy_signer(base, other, "SupplementalPolicySigners"), me, "base.xml"
        )
    for level in SignerLevel:
        ok = add_policy_signer(
            base, _signer("leaf", level, "ID_SIGNER_P_OK"), "SupplementalPolicySigners"
        )
        preflight_supplemental_signing(supp, ok, me, "base.xml")
    # A Publisher rule naming the LEAF's own TBS is not a Publisher match (root must be a CA).
    leaf_tbs = _tbs_sha256(PKI_DIR / "leaf.pem")
    cn = pki().leaf.cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    odd = Signer("ID_SIGNER_P_ODD", "odd", CertRoot("TBS", leaf_tbs), cert_publisher=str(cn))
    with pytest.raises(PolicyInputError, match="none of its SupplementalPolicySigners"):
        preflight_supplemental_signing(
            supp, add_policy_signer(base, odd, "SupplementalPolicySigners"), me, "base.xml"
        )
    wrong_base = new_policy("enforced", name="other", policy_id=SUPP_ID.replace("1", "9"))
    with pytest.raises(PolicyInputError, match="not the base policy"):
        preflight_supplemental_signing(supp, wrong_base, me, "other.xml")
    with pytest.raises(PolicyInputError, match="only applies when signing a supplemental"):
        preflight_supplemental_signing(base, base, me, "base.xml")

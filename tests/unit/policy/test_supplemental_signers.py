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
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509

from fixtures.pki import PKI_DIR
from policy.binary import compile_policy, decompile_policy
from policy.errors import PolicyInputError
from policy.generate import add_policy_signer, new_policy, set_rule_options
from policy.model import LEGACY_POLICY_TYPE_ID, CertRoot, Ref, Signer, SiPolicy
from policy.sign import preflight_supplemental_signing
from policy.signers import SignerLevel, load_signer_chain, signer_rule
from policy.validate import validate_policy
from policy.xml import read_policy_xml, write_policy_xml
from tests.support.signing import identity as fixture_identity
from tests.support.signing import pki

BASE_ID = "{6522BE99-DAD1-4D54-A76D-A1EC8CEBD08F}"
SUPP_ID = "{11111111-2222-4333-8444-555555555555}"
XSD = "urn:schemas-microsoft-com:sipolicy"


def _tbs_sha256(pem: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest().upper()


def _signer(stem: str, level: SignerLevel, signer_id: str) -> Signer:
    chain = load_signer_chain((PKI_DIR / f"{stem}-chain.pem").read_bytes(), stem)
    return signer_rule(chain, level, signer_id)


def _base() -> SiPolicy:
    return set_rule_options(
        new_policy("enforced", name="base", policy_id=BASE_ID),
        remove=["Enabled:Unsigned System Integrity Policy"],
    )


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


def test_xml_keeps_the_schema_order(policy_oracle_dir: Path) -> None:
    # The order of the xs:all in Microsoft's cipolicy.xsd; ours must follow it.
    xsd = ET.parse(policy_oracle_dir / "schema" / "cipolicy.xsd").getroot()
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    root = next(e for e in xsd.findall("xs:element", ns) if e.get("name") == "SiPolicy")
    order = [e.get("name") or e.get("ref") for e in root.iterfind(".//xs:all/xs:element", ns)]
    signer = _signer("leaf", SignerLevel.PUBLISHER, "ID_SIGNER_P_A")
    policy = add_policy_signer(_base(), signer, "SupplementalPolicySigners")
    policy = add_policy_signer(policy, signer, "UpdatePolicySigners")
    text = write_policy_xml(policy)
    children = [c.tag.split("}")[1] for c in ET.fromstring(text)]
    assert children[-1] == "SupplementalPolicySigners"
    positions = [order.index(c) for c in children]
    assert positions == sorted(positions), children
    again = read_policy_xml(text)
    assert again.supplemental_policy_signers == (Ref("ID_SIGNER_P_A"),)
    assert write_policy_xml(again) == text


def _block6(binary: bytes, policy_id: str, base_id: str) -> list[int]:
    """The signer indices of block 6, found by its documented prefix (sipolicy.md 3.3 item 11)."""
    prefix = (
        struct.pack("<I", 6)
        + uuid.UUID(policy_id.strip("{}")).bytes_le
        + uuid.UUID(base_id.strip("{}")).bytes_le
    )
    at = binary.index(prefix, 0x44) + len(prefix)
    (count,) = struct.unpack_from("<I", binary, at)
    indices = list(struct.unpack_from(f"<{count}I", binary, at + 4))
    # Block 7 follows directly.
    assert struct.unpack_from("<I", binary, at + 4 + 4 * count) == (7,)
    return indices


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


def test_hotcakex_full_coverage_supplemental_signer(policy_oracle_dir: Path) -> None:
    rel = "examples/hotcakex-fullcoverage/FullCoverage.Base.xml"
    policy = read_policy_xml((policy_oracle_dir / rel).read_bytes())
    assert policy.supplemental_policy_signers == (Ref("ID_SIGNER_A_SUPPLEMENTAL"),)
    # HotCakeX-only content (ArtifactRules, hotpatch attributes, CertEKU Condition) needs format
    # 11; drop it here.
    policy = policy.with_changes(
        extra_children=(),
        file_rules=tuple(replace(r, extra=()) for r in policy.file_rules or ()),
        signers=tuple(
            replace(
                s,
                extra=(),
                extra_children=(),
                cert_ekus=tuple(e for e in s.cert_ekus if not e.extra),
            )
            for s in policy.signers or ()
        ),
        signing_scenarios=tuple(
            replace(sc, extra=(), extra_children=()) for sc in policy.signing_scenarios or ()
        ),
    )
    ids = [s.id for s in policy.signers or ()]
    binary = compile_policy(policy, strict=False)
    assert _block6(binary, policy.policy_id or "", policy.base_policy_id or "") == [
        ids.index("ID_SIGNER_A_SUPPLEMENTAL")
    ]
    decoded = decompile_policy(binary).policy
    (ref,) = decoded.supplemental_policy_signers or ()
    got = next(s for s in decoded.signers or () if s.id == ref.id)
    want = next(s for s in policy.signers or () if s.id == "ID_SIGNER_A_SUPPLEMENTAL")
    assert got.cert_root.value.upper() == want.cert_root.value.upper()


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

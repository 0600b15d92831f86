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

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from policy.binary import compile_policy, decompile_policy
from policy.generate import add_policy_signer
from policy.model import Ref
from policy.signers import SignerLevel
from policy.xml import read_policy_xml, write_policy_xml
from tests.support.policy_supplemental_signers import _base, _block6, _signer


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

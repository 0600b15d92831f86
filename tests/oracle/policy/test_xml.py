"""SiPolicy XML reader/writer against every policy in the policy oracle (sipolicy.md 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy.model import FileRuleKind
from policy.validate import validate_policy
from policy.xml import XmlStyle, detect_style, read_policy_xml, write_policy_xml
from tests.conftest import POLICY_ORACLE
from tests.support.policy_oracle import CANONICAL_LAYOUT, KNOWN_INVALID

ALL_XML = sorted(str(p.relative_to(POLICY_ORACLE)) for p in POLICY_ORACLE.rglob("*.xml"))


def test_oracle_has_policies(policy_oracle_dir: Path) -> None:
    # Guards the parametrisation below against an empty or moved oracle folder.
    assert len(list(policy_oracle_dir.rglob("*.xml"))) >= 30


@pytest.mark.parametrize("rel", ALL_XML)
def test_every_oracle_policy_round_trips_as_a_model(policy_oracle_dir: Path, rel: str) -> None:
    data = (policy_oracle_dir / rel).read_bytes()
    policy = read_policy_xml(data, rel)
    for style in (XmlStyle(), detect_style(data), XmlStyle(newline="\n", bom=True)):
        written = write_policy_xml(policy, style)
        assert read_policy_xml(written) == policy
        # Deterministic: writing the re-read model gives the same bytes again.
        assert write_policy_xml(read_policy_xml(written), style) == written


@pytest.mark.parametrize("rel", CANONICAL_LAYOUT)
def test_configci_layout_is_reproduced_byte_for_byte(policy_oracle_dir: Path, rel: str) -> None:
    data = (policy_oracle_dir / rel).read_bytes()
    assert write_policy_xml(read_policy_xml(data), detect_style(data)) == data


@pytest.mark.parametrize("rel", ALL_XML)
def test_every_oracle_policy_validates(policy_oracle_dir: Path, rel: str) -> None:
    policy = read_policy_xml((policy_oracle_dir / rel).read_bytes(), rel)
    errors = [i for i in validate_policy(policy) if i.severity == "error"]
    if rel in KNOWN_INVALID:
        element, fragment = KNOWN_INVALID[rel]
        assert errors
        assert all(i.element in (element, "BasePolicyID") for i in errors)
        assert fragment in errors[0].message
    else:
        assert errors == []


def test_reader_keeps_what_the_document_says(policy_oracle_dir: Path) -> None:
    rel = "pairs/yufan-2025-02/AllowMicrosoft2025-02-21.xml"
    policy = read_policy_xml((policy_oracle_dir / rel).read_bytes())
    assert policy.policy_id == "{022DB725-D9EE-49FC-9700-BB92F02C02C6}"
    assert policy.version_ex == "10.0.5.0"
    assert policy.update_policy_signers == ()  # <UpdatePolicySigners /> is present and empty
    assert policy.signers is not None
    assert len(policy.signers) == 18
    store = next(s for s in policy.signers if s.id == "ID_SIGNER_STORE")
    assert store.cert_root.value.startswith("FC9EDE3D")
    assert [e.id for e in store.cert_ekus] == ["ID_EKU_STORE"]
    assert policy.file_rules is not None
    assert policy.file_rules[0].kind is FileRuleKind.FILE_ATTRIB


def test_unknown_content_is_kept_verbatim(policy_oracle_dir: Path) -> None:
    rel = "examples/hotcakex-fullcoverage/FullCoverage.Base.xml"
    policy = read_policy_xml((policy_oracle_dir / rel).read_bytes())
    assert [n.tag for n in policy.extra_children] == ["ArtifactRules"]
    assert policy.ekus is not None
    assert ("OID", "1.3.6.1.5.5.7.3.3") in policy.ekus[0].extra
    warnings = [i for i in validate_policy(policy) if i.severity == "warning"]
    assert any(i.element == "ArtifactRules" for i in warnings)

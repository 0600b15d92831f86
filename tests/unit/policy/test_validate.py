"""The structural validator names the element for each defect (sipolicy.md 2.2)."""

from __future__ import annotations

import pytest

from policy.errors import PolicyValidationError
from policy.model import (
    SUPPLEMENTAL_POLICY,
    CertRoot,
    FileRule,
    FileRuleKind,
    Ref,
    Signer,
    SignerGroup,
    SigningScenario,
    SiPolicy,
)
from policy.validate import check_policy, parse_version, validate_policy

GUID_A = "{11111111-1111-1111-1111-111111111111}"
GUID_B = "{22222222-2222-2222-2222-222222222222}"


def _base(**changes: object) -> SiPolicy:
    policy = SiPolicy(
        version_ex="1.0.0.0",
        policy_type="Base Policy",
        policy_id=GUID_A,
        base_policy_id=GUID_A,
        options=("Enabled:UMCI",),
        file_rules=(FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_1", hash="00" * 32),),
        signers=(Signer("ID_SIGNER_S_1", "CA", CertRoot("TBS", "AB" * 32)),),
        signing_scenarios=(
            SigningScenario(
                "ID_SIGNINGSCENARIO_WINDOWS",
                12,
                product_signers=SignerGroup(file_rules_ref=(Ref("ID_ALLOW_A_1"),)),
            ),
        ),
    )
    return policy.with_changes(**changes)


def _errors(policy: SiPolicy) -> list[tuple[str, str]]:
    return [(i.element, i.message) for i in validate_policy(policy) if i.severity == "error"]


def test_a_clean_policy_has_no_errors() -> None:
    assert _errors(_base()) == []
    assert check_policy(_base()) == ()


@pytest.mark.parametrize(
    ("changes", "element", "fragment"),
    [
        ({"options": ("Enabled:Audit mode",)}, "Option", "case-sensitive"),
        ({"options": ("Enabled:Everything",)}, "Option", "unknown rule option"),
        ({"policy_type": SUPPLEMENTAL_POLICY, "base_policy_id": None}, "BasePolicyID", "needs"),
        ({"policy_type": SUPPLEMENTAL_POLICY}, "BasePolicyID", "must differ"),
        ({"base_policy_id": GUID_B}, "BasePolicyID", "not 'Supplemental Policy'"),
        ({"version_ex": "1.0.0"}, "VersionEx", "four"),
        ({"version_ex": "1.0.0.70000"}, "VersionEx", "65535"),
        ({"policy_id": "11111111-1111-1111-1111-111111111111"}, "PolicyID", "GUID"),
        ({"ci_signers": (Ref("ID_SIGNER_NOPE"),)}, "CiSigner", "undefined signer"),
        ({"hvci_options": "x"}, "HvciOptions", "DWORD"),
    ],
)
def test_defects_are_reported_on_the_element(
    changes: dict[str, object], element: str, fragment: str
) -> None:
    found = _errors(_base(**changes))
    assert any(e == element and fragment in m for e, m in found), found


def test_duplicate_and_dangling_ids() -> None:
    rule = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_1", hash="00" * 20)
    scenario = SigningScenario(
        "ID_SIGNINGSCENARIO_WINDOWS",
        12,
        product_signers=SignerGroup(
            allowed=(),
            file_rules_ref=(Ref("ID_ALLOW_A_1"), Ref("ID_ALLOW_A_MISSING")),
        ),
    )
    found = _errors(_base(file_rules=(rule, rule), signing_scenarios=(scenario,)))
    assert ("Allow", "duplicate ID 'ID_ALLOW_A_1' (also used by a <Allow>)") in found
    assert any(e == "FileRuleRef" and "ID_ALLOW_A_MISSING" in m for e, m in found)
    warnings = [i.element for i in validate_policy(_base(signing_scenarios=(scenario,)))]
    assert "AllowedSigners" in warnings


def test_bad_id_patterns_and_roots() -> None:
    signer = Signer("ID_SIGNER_s", "CA", CertRoot("Wellknown", "0607"))
    found = _errors(_base(signers=(signer,)))
    assert any(e == "Signer" and "schema pattern" in m for e, m in found)
    assert any(e == "CertRoot" and "one byte" in m for e, m in found)


def test_check_policy_raises_with_every_error() -> None:
    with pytest.raises(PolicyValidationError) as info:
        check_policy(_base(options=("Bogus",), version_ex="x"), "app.xml")
    assert "app.xml" in str(info.value)
    assert len(info.value.issues) == 2


def test_parse_version_packs_major_first() -> None:
    # sipolicy.md 3.1: "10.0.27825.0" is stored as 00 00 B1 6C 00 00 0A 00.
    assert parse_version("10.0.27825.0").to_bytes(8, "little") == bytes.fromhex("0000B16C00000A00")

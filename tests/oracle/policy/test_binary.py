"""XML -> binary against Microsoft's ConvertFrom-CIPolicy output (sipolicy.md 3-5, 9).

Every expected byte comes from a Microsoft-made binary in ../shared/policy-oracle/pairs; the
header facts (options, counts, SHA-256 prefixes) come from the oracle README's table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from pathlib import Path

import pytest

from policy.binary import compile_policy, decompile_policy
from policy.errors import PolicyInputError, PolicyValidationError
from policy.model import FileRuleKind
from policy.xml import read_policy_xml
from tests.conftest import POLICY_ORACLE
from tests.support.policy_oracle import BINARIES_WITHOUT_XML, KNOWN_INVALID, PAIRS, Pair


def _first_difference(got: bytes, want: bytes) -> str:
    n = min(len(got), len(want))
    off = next((i for i in range(n) if got[i] != want[i]), n)
    return (
        f"sizes {len(got)}/{len(want)}, first difference at 0x{off:X}: "
        f"ours {got[off : off + 16].hex()} Microsoft's {want[off : off + 16].hex()}"
    )


@pytest.mark.parametrize("pair", PAIRS, ids=[p.binary for p in PAIRS])
def test_pair_is_byte_identical(policy_oracle_dir: Path, pair: Pair) -> None:
    root = policy_oracle_dir / "pairs"
    want = (root / pair.binary).read_bytes()
    assert hashlib.sha256(want).hexdigest()[:16] == pair.sha256_16
    policy = read_policy_xml((root / pair.xml).read_bytes(), pair.xml)
    # ConvertFrom-CIPolicy semantics (strict=False): the hbkmon XML's misspelled option is
    # dropped without error, exactly as Microsoft's converter did.
    strict = "pairs/" + pair.xml not in KNOWN_INVALID  # every other pair XML validates
    got = compile_policy(policy, format_version=want[0], strict=strict)
    assert got == want, _first_difference(got, want)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.binary for p in PAIRS])
def test_pair_decompiles_and_recompiles(policy_oracle_dir: Path, pair: Pair) -> None:
    root = policy_oracle_dir / "pairs"
    want = (root / pair.binary).read_bytes()
    decoded = decompile_policy(want, pair.binary)
    p = decoded.policy
    counts = tuple(len(x or ()) for x in (p.ekus, p.file_rules, p.signers, p.signing_scenarios))
    assert counts == pair.counts
    assert decoded.unknown_option_bits == 0
    assert int.from_bytes(want[0x24:0x28], "little") == pair.options
    xml = read_policy_xml((root / pair.xml).read_bytes())
    assert p.version_ex == xml.version_ex
    assert set(p.options) == {o for o in xml.options if o != "Enabled:Boot Audit on Failure"}
    assert [s.cert_root.value.upper() for s in p.signers or ()] == [
        s.cert_root.value.upper() for s in xml.signers or ()
    ]
    again = compile_policy(
        p, format_version=decoded.format_version, preserve_rule_order=True, strict=False
    )
    assert again == want, _first_difference(again, want)


@pytest.mark.parametrize("rel", BINARIES_WITHOUT_XML)
def test_binaries_without_xml_round_trip(policy_oracle_dir: Path, rel: str) -> None:
    data = (policy_oracle_dir / rel).read_bytes()
    decoded = decompile_policy(data, rel)
    assert decoded.format_version == 7
    again = compile_policy(decoded.policy, format_version=7, preserve_rule_order=True)
    assert again == data, _first_difference(again, data)


def test_krueger_metadata_only_deny_rules(policy_oracle_dir: Path) -> None:
    decoded = decompile_policy((policy_oracle_dir / BINARIES_WITHOUT_XML[0]).read_bytes())
    p = decoded.policy
    assert p.ekus is not None
    assert len(p.ekus) == 9
    assert p.signers is not None
    assert len(p.signers) == 32
    denies = [r for r in p.file_rules or () if r.kind is FileRuleKind.DENY]
    assert denies
    assert all(r.file_description and r.minimum_file_version is None for r in denies)


def test_derived_wdac_toolkit_pair(policy_oracle_dir: Path) -> None:
    # README: test.bin = WDACPolicy.xml without Allow/Deny rules and FileRulesRef blocks and with
    # PolicyID = BasePolicyID = {784C4414-...}.
    root = policy_oracle_dir / "pairs" / "wdac-toolkit-test-bin-v7"
    policy = read_policy_xml((root / "WDACPolicy.xml").read_bytes())
    guid = "{784C4414-79F4-4C32-A6A5-F0FB42A51D0D}"
    keep = (FileRuleKind.FILE_ATTRIB, FileRuleKind.FILE_RULE)
    scenarios = tuple(
        dataclasses.replace(
            s,
            product_signers=dataclasses.replace(s.product_signers, file_rules_ref=None),
            test_signers=None
            if s.test_signers is None
            else dataclasses.replace(s.test_signers, file_rules_ref=None),
            test_signing_signers=None
            if s.test_signing_signers is None
            else dataclasses.replace(s.test_signing_signers, file_rules_ref=None),
        )
        for s in policy.signing_scenarios or ()
    )
    derived = policy.with_changes(
        file_rules=tuple(r for r in policy.file_rules or () if r.kind in keep),
        signing_scenarios=scenarios,
        policy_id=guid,
        base_policy_id=guid,
    )
    want = (root / "test.bin").read_bytes()
    got = compile_policy(derived, format_version=7)
    assert got == want, _first_difference(got, want)


def test_legacy_format_xml_differs_only_in_the_three_guids(policy_oracle_dir: Path) -> None:
    # README: the LegacyFormat XML converts to the .cip with 48 bytes changed: the header GUID
    # (0x04..0x13) and the two GUIDs of block 6.
    root = policy_oracle_dir / "pairs" / "ms-vdbl-2026-05"
    policy = read_policy_xml((root / "DriverPolicy_Enforced_LegacyFormat.xml").read_bytes())
    want = (root / "{c017f6d6-2021-4204-aa68-f5065969b65e}_Enforced.cip").read_bytes()
    got = compile_policy(policy)
    assert len(got) == len(want)
    changed = [i for i in range(len(got)) if got[i] != want[i]]
    header_guid = want[4:20]
    block6 = want.index(header_guid + header_guid, 0x44)  # PolicyID, BasePolicyID
    windows = [range(4, 20), range(block6, block6 + 32)]
    assert changed
    assert all(any(i in w for w in windows) for i in changed)
    legacy_type = uuid.UUID("D2BDA982-CCF6-4344-AC5B-0B44427B6816").bytes_le
    assert got[4:20] == legacy_type
    assert got[block6 : block6 + 32] == legacy_type * 2


def test_strict_compile_refuses_the_misspelled_option(policy_oracle_dir: Path) -> None:
    rel = "pairs/hbkmon-allowall-v7/WDAC_AllowAll_Audit.xml"
    policy = read_policy_xml((policy_oracle_dir / rel).read_bytes())
    with pytest.raises(PolicyValidationError, match="Boot Audit on Failure"):
        compile_policy(policy)


def test_unknown_schema_content_is_refused(policy_oracle_dir: Path) -> None:
    rel = "examples/hotcakex-fullcoverage/FullCoverage.Base.xml"
    policy = read_policy_xml((policy_oracle_dir / rel).read_bytes())
    with pytest.raises(PolicyInputError, match="ArtifactRules"):
        compile_policy(policy)


EXAMPLES = sorted(
    str(p.relative_to(POLICY_ORACLE))
    for p in (POLICY_ORACLE / "examples").rglob("*.xml")
    if p.name != "FullCoverage.Base.xml"  # ArtifactRules: refused above
)


@pytest.mark.parametrize("rel", EXAMPLES)
def test_examples_compile_and_decompile_consistently(policy_oracle_dir: Path, rel: str) -> None:
    # No Microsoft binary exists for these; the check is that the binary keeps what the XML
    # says (options, roots, rule hashes) and that decompiling then recompiling is lossless.
    policy = read_policy_xml((policy_oracle_dir / rel).read_bytes())
    binary = compile_policy(policy)
    decoded = decompile_policy(binary, rel)
    assert set(decoded.policy.options) >= set(policy.options) - {
        "Disabled:Default Windows Certificate Remapping"
    }
    assert [s.cert_root.value.upper() for s in decoded.policy.signers or ()] == [
        s.cert_root.value.upper() for s in policy.signers or ()
    ]
    assert sorted((r.hash or "").upper() for r in decoded.policy.file_rules or ()) == sorted(
        (r.hash or "").upper() for r in policy.file_rules or ()
    )
    again = compile_policy(
        decoded.policy,
        preserve_rule_order=True,
        strict=False,
        extra_option_bits=decoded.unknown_option_bits,
    )
    assert again == binary

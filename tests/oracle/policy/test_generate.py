"""Generators against independent values: Microsoft's catalog signer (TBS from formats.md 6.2 and
the oracle README), MakeCat's digests of unsigned.exe (oracle README), sha256sum-equivalent flat
hashes, and the option bits of Microsoft-converted binaries (policy-oracle README)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from catalog.pe.hashing import HashOptions, hash_file
from policy.binary import compile_policy, decompile_policy
from policy.errors import PolicyInputError
from policy.generate import (
    FileHashes,
    add_file_rules,
    add_signer,
    hash_rules,
    merge_policies,
    new_policy,
)
from policy.model import FileRule, FileRuleKind
from policy.signers import SignerLevel, chain_from_catalog, load_signer_chain, signer_rule
from policy.validate import check_policy
from policy.xml import read_policy_xml, write_policy_xml
from tests.support.policy_generate import BASE_ID

THIRD_PARTY_CA_TBS = "CEC1AFD0E310C55C1DCC601AB8E172917706AA32FB5EAF826813547FDF02DD46"
UNSIGNED_EXE_SHA256 = "2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4"
UNSIGNED_EXE_SHA1 = "802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0"
UNSIGNED_EXE_PAGE_SHA256 = "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"


def test_publisher_signer_from_microsoft_catalog(oracle_dir: Path) -> None:
    data = (oracle_dir / "microsoft" / "oem89.cat").read_bytes()
    chain = chain_from_catalog(data, "oem89.cat")
    signer = signer_rule(chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_1")
    assert signer.cert_root.type == "TBS"
    assert signer.cert_root.value == THIRD_PARTY_CA_TBS
    assert signer.name == "Microsoft Windows Third Party Component CA 2012"
    assert signer.cert_publisher == "Microsoft Windows Hardware Compatibility Publisher"
    pca = signer_rule(chain, SignerLevel.PCA_CERTIFICATE, "ID_SIGNER_S_2")
    assert pca.cert_root.value == THIRD_PARTY_CA_TBS
    assert pca.cert_publisher is None


def test_unsigned_catalog_is_refused(oracle_dir: Path) -> None:
    data = (oracle_dir / "makecat" / "unsigned.cat").read_bytes()
    with pytest.raises(PolicyInputError, match="no signature"):
        load_signer_chain(data, "unsigned.cat")


def test_supplemental_policy_for_a_catalog_signer(oracle_dir: Path) -> None:
    chain = chain_from_catalog((oracle_dir / "microsoft" / "oem89.cat").read_bytes(), "oem89")
    policy = new_policy("supplemental", name="app", base_policy_id=BASE_ID)
    policy = add_signer(policy, signer_rule(chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_A"))
    assert check_policy(policy) == ()
    binary = compile_policy(policy)
    assert int.from_bytes(binary[0x24:0x28], "little") & 0x40000000  # supplemental bit
    decoded = decompile_policy(binary).policy
    assert decoded.base_policy_id == BASE_ID
    assert decoded.signers is not None
    assert decoded.signers[0].cert_root.value == THIRD_PARTY_CA_TBS
    assert decoded.signers[0].cert_publisher == "Microsoft Windows Hardware Compatibility Publisher"


def _hashes(oracle_dir: Path, *names: str) -> list[FileHashes]:
    folder = oracle_dir / "makecat"
    return [FileHashes.from_digests(hash_file(folder / n, HashOptions())) for n in names]


def test_hash_rules_carry_microsoft_digests(oracle_dir: Path) -> None:
    rules = hash_rules(_hashes(oracle_dir, "unsigned.exe", "unsigned.mof"))
    by_label = {
        r.friendly_name.rsplit(" Hash ", 1)[1]: r
        for r in rules
        if r.friendly_name and "unsigned.exe" in r.friendly_name
    }
    assert by_label["Sha256"].hash == UNSIGNED_EXE_SHA256
    assert by_label["Sha1"].hash == UNSIGNED_EXE_SHA1
    assert by_label["Page Sha256"].hash == UNSIGNED_EXE_PAGE_SHA256
    assert by_label["Page Sha1"].hash is not None
    assert len(by_label["Page Sha1"].hash) == 40
    mof = [r for r in rules if r.friendly_name and "unsigned.mof" in r.friendly_name]
    flat = (oracle_dir / "makecat" / "unsigned.mof").read_bytes()
    # Not a PE: the flat hashes fill the Sha1/Sha256 slots and there are no page rules.
    assert [r.hash for r in mof] == [
        hashlib.sha1(flat).hexdigest().upper(),
        hashlib.sha256(flat).hexdigest().upper(),
    ]
    assert all(
        r.friendly_name and r.friendly_name.endswith(("Hash Sha1", "Hash Sha256")) for r in mof
    )


def test_hash_policy_is_deterministic_and_stable_across_edits(oracle_dir: Path) -> None:
    one = _hashes(oracle_dir, "unsigned.exe")
    two = _hashes(oracle_dir, "unsigned.exe", "unsigned.ps1", "unsigned.js")

    def build(files: list[FileHashes]) -> bytes:
        policy = new_policy("enforced", name="app", policy_id=BASE_ID)
        return write_policy_xml(add_file_rules(policy, hash_rules(files)))

    assert build(two) == build(list(reversed(two)))  # input order does not matter
    small = read_policy_xml(build(one))
    big = read_policy_xml(build(list(reversed(two))))
    small_ids = [r.id for r in small.file_rules or ()]
    big_ids = [r.id for r in big.file_rules or ()]
    assert set(small_ids) <= set(big_ids)
    assert len(set(big_ids)) == len(big_ids)  # no duplicates
    check_policy(big)
    compiled = decompile_policy(compile_policy(big)).policy
    assert {r.hash for r in compiled.file_rules or ()} == {r.hash for r in big.file_rules or ()}


def test_report_entries_give_the_same_rules(oracle_dir: Path) -> None:
    digests = hash_file(oracle_dir / "makecat" / "unsigned.exe", HashOptions())
    from_report = FileHashes.from_report(digests.to_dict(), "report.json")
    rules = hash_rules([from_report])
    assert rules == hash_rules([FileHashes.from_digests(digests)])
    hashes = {r.hash for r in rules}
    assert {UNSIGNED_EXE_SHA256, UNSIGNED_EXE_SHA1, UNSIGNED_EXE_PAGE_SHA256} <= hashes


def test_merge_keeps_existing_ids(policy_oracle_dir: Path, oracle_dir: Path) -> None:
    rel = "pairs/yufan-2025-02/AllowMicrosoft2025-02-21.xml"
    existing = read_policy_xml((policy_oracle_dir / rel).read_bytes())
    incoming = add_file_rules(
        new_policy("enforced", name="in", policy_id=BASE_ID),
        (
            *hash_rules(_hashes(oracle_dir, "unsigned.exe")),
            FileRule(FileRuleKind.FILE_ATTRIB, "ID_FILEATTRIB_REFRESH_POLICY", file_name="x.exe"),
        ),
    )
    merged = merge_policies(existing, incoming)
    old_ids = [r.id for r in existing.file_rules or ()]
    new_ids = [r.id for r in merged.file_rules or ()]
    assert new_ids[: len(old_ids)] == old_ids
    assert "ID_FILEATTRIB_REFRESH_POLICY_1" in new_ids  # the clashing incoming ID was renamed
    assert merged.policy_id == existing.policy_id
    assert merged.options == existing.options
    assert [s.id for s in merged.signers or ()] == [s.id for s in existing.signers or ()]
    assert merge_policies(merged, incoming) == merged  # merging again adds nothing
    check_policy(merged)
    # The original content compiles unchanged inside the merged policy's scenarios.
    user = next(s for s in merged.signing_scenarios or () if s.value == 12)
    assert (
        user.product_signers.allowed
        == next(
            s for s in existing.signing_scenarios or () if s.value == 12
        ).product_signers.allowed
    )

"""Generators against independent values: Microsoft's catalog signer (TBS from formats.md 6.2 and
the oracle README), MakeCat's digests of unsigned.exe (oracle README), sha256sum-equivalent flat
hashes, and the option bits of Microsoft-converted binaries (policy-oracle README)."""

from __future__ import annotations

import hashlib
import subprocess
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
    set_policy_info,
    set_rule_options,
)
from policy.model import FileRule, FileRuleKind
from policy.signers import (
    SignerLevel,
    chain_from_catalog,
    load_signer_chain,
    signer_rule,
)
from policy.validate import check_policy
from policy.xml import read_policy_xml, write_policy_xml
from tests.conftest import FIXTURES, require_tool

THIRD_PARTY_CA_TBS = "CEC1AFD0E310C55C1DCC601AB8E172917706AA32FB5EAF826813547FDF02DD46"
UNSIGNED_EXE_SHA256 = "2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4"
UNSIGNED_EXE_SHA1 = "802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0"
UNSIGNED_EXE_PAGE_SHA256 = "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"
BASE_ID = "{022DB725-D9EE-49FC-9700-BB92F02C02C6}"


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


def test_leaf_level_uses_the_leaf_tbs(oracle_dir: Path, tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    cat = oracle_dir / "microsoft" / "oem89.cat"
    chain = chain_from_catalog(cat.read_bytes(), "oem89.cat")
    leaf = tmp_path / "leaf.der"
    leaf.write_bytes(chain.leaf)
    tbs = tmp_path / "tbs.der"
    # openssl cuts out the TBSCertificate (the first element of the certificate SEQUENCE).
    subprocess.run(
        [
            openssl,
            "asn1parse",
            "-inform",
            "DER",
            "-in",
            leaf,
            "-strparse",
            "4",
            "-noout",
            "-out",
            tbs,
        ],
        check=True,
        capture_output=True,
    )
    signer = signer_rule(chain, SignerLevel.LEAF_CERTIFICATE, "ID_SIGNER_S_1")
    assert signer.cert_root.value == hashlib.sha256(tbs.read_bytes()).hexdigest().upper()
    assert signer.name == "Microsoft Windows Hardware Compatibility Publisher"


def test_unsigned_catalog_is_refused(oracle_dir: Path) -> None:
    data = (oracle_dir / "makecat" / "unsigned.cat").read_bytes()
    with pytest.raises(PolicyInputError, match="no signature"):
        load_signer_chain(data, "unsigned.cat")


def test_ecdsa_signer_is_refused() -> None:
    data = (FIXTURES / "pki" / "leaf-ecdsa-p256-chain.pem").read_bytes()
    chain = load_signer_chain(data, "ecdsa.pem")
    with pytest.raises(PolicyInputError, match="only work with RSA"):
        signer_rule(chain, SignerLevel.PUBLISHER, "ID_SIGNER_S_1")


def test_missing_issuer_is_refused_for_pca_levels() -> None:
    data = (FIXTURES / "pki" / "leaf.pem").read_bytes()
    chain = load_signer_chain(data, "leaf.pem")
    with pytest.raises(PolicyInputError, match="issuing CA"):
        signer_rule(chain, SignerLevel.PCA_CERTIFICATE, "ID_SIGNER_S_1")
    assert signer_rule(chain, SignerLevel.LEAF_CERTIFICATE, "ID_SIGNER_S_1").cert_root.value


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


def test_supplemental_without_base_is_refused() -> None:
    with pytest.raises(PolicyInputError, match="base-policy-id"):
        new_policy("supplemental", name="app")


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


def test_audit_template_has_microsofts_option_bits() -> None:
    # The AllowMicrosoft template options in audit mode: the yufan AllowMicrosoft .cip, which
    # ConvertFrom-CIPolicy made from exactly these options, has flags 0x908D0404.
    binary = compile_policy(new_policy("audit", name="x", policy_id=BASE_ID))
    assert int.from_bytes(binary[0x24:0x28], "little") == 0x908D0404
    enforced = compile_policy(new_policy("enforced", name="x", policy_id=BASE_ID))
    assert int.from_bytes(enforced[0x24:0x28], "little") == 0x908C0404


def test_set_rule_options_by_number_and_name() -> None:
    policy = new_policy("enforced", name="x", policy_id=BASE_ID)
    changed = set_rule_options(policy, add=["3", "enabled:managed installer"], remove=["6"])
    assert "Enabled:Audit Mode" in changed.options
    assert "Enabled:Managed Installer" in changed.options
    assert "Enabled:Unsigned System Integrity Policy" not in changed.options
    with pytest.raises(PolicyInputError, match="unknown rule option"):
        set_rule_options(policy, add=["Enabled:Everything"])
    supplemental = new_policy("supplemental", name="s", base_policy_id=BASE_ID)
    with pytest.raises(PolicyInputError, match="supplemental"):
        set_rule_options(supplemental, add=["Enabled:Audit Mode"])


def test_set_policy_info() -> None:
    policy = new_policy("enforced", name="x", policy_id=BASE_ID)
    changed = set_policy_info(
        policy,
        name="Renamed",
        info_id="2026-11-21",
        version="10.0.1.0",
        policy_id="11111111-2222-3333-4444-555555555555",
    )
    assert changed.policy_id == changed.base_policy_id == "{11111111-2222-3333-4444-555555555555}"
    assert changed.version_ex == "10.0.1.0"
    names = {(s.value_name, s.value) for s in changed.settings or ()}
    assert ("Name", "Renamed") in names
    assert ("Id", "2026-11-21") in names
    with pytest.raises(PolicyInputError, match="four"):
        set_policy_info(policy, version="1.2")


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


def test_unusual_tbs_algorithm_is_refused() -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SHA-224 signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA224())
    )
    chain = load_signer_chain(cert.public_bytes(serialization.Encoding.PEM), "sha224.pem")
    with pytest.raises(PolicyInputError, match="sha224WithRSAEncryption"):
        signer_rule(chain, SignerLevel.LEAF_CERTIFICATE, "ID_SIGNER_S_1")

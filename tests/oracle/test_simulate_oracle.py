"""The evaluator against Microsoft's own policies and Microsoft-signed files.

Oracles: Microsoft's policies in ../shared/policy-oracle (the AllowMicrosoft and DefaultWindows
example policies, an AllowMicrosoft-derived base compiled by ConvertFrom-CIPolicy, the vulnerable
driver block list as XML and as Microsoft's .p7b), and files signed by Microsoft in
../shared/oracle/microsoft (Windows components under Microsoft Root 2010, Sysinternals tools under
Root 2001/2011, a Windows 7 driver). What Windows does with them is the documented intent of those
policies: AllowMicrosoft runs everything Microsoft signs, DefaultWindows only Windows components;
the block list blocks the hashes and file names it lists. The block list's values are read from
Microsoft's XML with ElementTree here, independently of the project's policy reader.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from inspector.pipeline.simulate import load_policy_set
from policy.evaluate.engine import evaluate
from policy.evaluate.facts import FileFacts
from policy.evaluate.gather import gather_facts

NS = "{urn:schemas-microsoft-com:sipolicy}"
MICROSOFT = (
    "DXCore.dll",
    "kernel32_sectionalign_64k.dll",
    "pciide.sys",
    "sigcheck.exe",
    "whois.exe",
)
WINDOWS = ("DXCore.dll", "kernel32_sectionalign_64k.dll")


def _facts(oracle_dir: Path, name: str) -> FileFacts:
    path = oracle_dir / "microsoft" / name
    return gather_facts(path.read_bytes(), str(path))


@pytest.mark.parametrize(
    "policy",
    [
        "examples/windows-2019/AllowMicrosoft.xml",
        "examples/wdac-wizard-templates/AllowMicrosoft.xml",
        "pairs/yufan-2025-02/{022DB725-D9EE-49FC-9700-BB92F02C02C6}.cip",
    ],
)
def test_allow_microsoft_runs_microsoft_signed_files(
    policy_oracle_dir: Path, oracle_dir: Path, policy: str
) -> None:
    pset, _ = load_policy_set([policy_oracle_dir / policy])
    for name in MICROSOFT:
        v = evaluate(pset, _facts(oracle_dir, name))
        assert v.verdict == "allowed", (name, v.to_dict())
        assert v.deciding is not None
        assert v.deciding.kind == "RootCertificate"
    assert evaluate(pset, _facts(oracle_dir, "pciide.sys")).scenario == 131


def test_default_windows_runs_windows_components_only(
    policy_oracle_dir: Path, oracle_dir: Path
) -> None:
    pset, _ = load_policy_set(
        [policy_oracle_dir / "examples/windows-2019/DefaultWindows_Enforced.xml"]
    )
    for name in MICROSOFT:
        v = evaluate(pset, _facts(oracle_dir, name))
        assert v.allowed == (name in WINDOWS), (name, v.to_dict())


def test_third_party_and_unsigned_files_are_blocked(
    policy_oracle_dir: Path, oracle_dir: Path, fixtures_dir: Path
) -> None:
    pset, _ = load_policy_set([policy_oracle_dir / "examples/windows-2019/AllowMicrosoft.xml"])
    for path in (
        fixtures_dir / "pe" / "hello64-signed-sha256.exe",
        fixtures_dir / "pe" / "version32-signed-rsa4096.dll",
        fixtures_dir / "pe" / "hello64.exe",
        oracle_dir / "microsoft" / "7z1900-x64_signed.exe",
    ):
        v = evaluate(pset, gather_facts(path.read_bytes(), str(path)))
        assert v.verdict == "blocked", path
        assert {w.level for w in v.would_allow} >= {"Hash"}


def test_a_changed_byte_breaks_a_microsoft_signature(
    policy_oracle_dir: Path, oracle_dir: Path
) -> None:
    pset, _ = load_policy_set([policy_oracle_dir / "examples/windows-2019/AllowMicrosoft.xml"])
    data = bytearray((oracle_dir / "microsoft" / "whois.exe").read_bytes())
    data[0x1000] ^= 0xFF
    v = evaluate(pset, gather_facts(bytes(data), "whois-patched.exe"))
    assert v.verdict == "blocked"
    assert v.signatures[0].valid is False


def _block_list(policy_oracle_dir: Path) -> tuple[list[str], list[str]]:
    root = ET.parse(policy_oracle_dir / "pairs/ms-vdbl-2025-09/SiPolicy_Enforced.xml").getroot()
    hashes = [d.get("Hash", "") for d in root.iter(f"{NS}Deny") if d.get("Hash")]
    names = [
        d.get("FileName", "")
        for d in root.iter(f"{NS}Deny")
        if d.get("FileName") and d.get("MaximumFileVersion") == "65535.65535.65535.65535"
    ]
    return hashes, names


@pytest.mark.parametrize("form", ["SiPolicy_Enforced.xml", "SiPolicy_Enforced.p7b"])
def test_block_list_blocks_listed_drivers(
    policy_oracle_dir: Path, oracle_dir: Path, form: str
) -> None:
    hashes, names = _block_list(policy_oracle_dir)
    pset, _ = load_policy_set([policy_oracle_dir / "pairs/ms-vdbl-2025-09" / form])
    for value in hashes[:: max(1, len(hashes) // 50)]:
        digest = bytes.fromhex(value)
        label = "Authenticode SHA256" if len(digest) == 32 else "Authenticode SHA1"
        f = FileFacts("x.sys", "x.sys", ((label, digest),), subsystem=1)
        v = evaluate(pset, f)
        assert v.verdict == "blocked", value
        assert v.deciding is not None
        assert v.deciding.kind == "Hash"
    for name in names[:10]:
        f = FileFacts(
            name,
            name,
            ((("Authenticode SHA256", b"\0" * 32)),),
            original_filename=name,
            file_version=(1, 0, 0, 0),
            subsystem=1,
        )
        assert evaluate(pset, f).verdict == "blocked", name
    # Microsoft's own driver is not on the list.
    assert evaluate(pset, _facts(oracle_dir, "pciide.sys")).verdict == "allowed"


def test_audit_block_list_reports_the_block_as_not_enforced(policy_oracle_dir: Path) -> None:
    hashes, _ = _block_list(policy_oracle_dir)
    pset, _ = load_policy_set([policy_oracle_dir / "pairs/ms-vdbl-2025-09/SiPolicy_Audit.p7b"])
    digest = bytes.fromhex(next(h for h in hashes if len(h) == 64))
    v = evaluate(pset, FileFacts("x.sys", "x.sys", (("Authenticode SHA256", digest),), subsystem=1))
    assert (v.verdict, v.enforced) == ("blocked", False)


def test_microsoft_catalog_signs_its_members(policy_oracle_dir: Path, oracle_dir: Path) -> None:
    """oem89.cat (WHQL, Third Party Component CA 2012 under Root 2010) lists amdacpbtscoext.inf by
    its flat SHA1; the v2 catalog lists DXCore.dll by its Authenticode SHA256 (oracle README)."""
    from policy.evaluate.gather import read_catalog

    ms = oracle_dir / "microsoft"
    cats = [
        read_catalog((ms / name).read_bytes(), str(ms / name))
        for name in (
            "oem89.cat",
            "115fe8649854ad531fb7ecd1318fbee6b33c9cbd78f02ed582092a96d5eb5899.cat",
        )
    ]
    pset, _ = load_policy_set(
        [policy_oracle_dir / "examples/windows-2019/DefaultWindows_Enforced.xml"]
    )
    inf = ms / "amdacpbtscoext.inf"
    assert evaluate(pset, gather_facts(inf.read_bytes(), str(inf))).verdict == "blocked"
    v = evaluate(pset, gather_facts(inf.read_bytes(), str(inf), cats))
    assert v.verdict == "allowed"
    assert v.deciding is not None
    assert v.deciding.rule_id == "ID_SIGNER_WHQL_SHA2_USER"
    (sig,) = v.signatures
    assert (sig.source, sig.member) == ("catalog", "B1E795B69B4C2A901A8BC8E8B36E988C6C05D836")
    dx = ms / "DXCore.dll"
    members = [s.member for s in gather_facts(dx.read_bytes(), str(dx), cats).signatures]
    assert members == [None, "06FA542CA0A1626E11E99E79896C9EAA79B5CFC3F9AD0AC8B84D4B2E8C5A292C"]

"""The catalog reader (catalog.ctl.read) on catalogs made by Microsoft's tools (formats.md 4, 6.1).

Expected values come from ../shared/oracle/README.md, from sha1sum/sha256sum of the member files
and from `openssl asn1parse` of the oracle catalogs - never from the reader itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from catalog.ctl.read import MemberType
from catalog.records import HashAlgorithm
from tests.conftest import require_tool
from tests.support.catalog_reader import load

INF_SHA1 = "B1E795B69B4C2A901A8BC8E8B36E988C6C05D836"
EXE_SHA256 = "2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4"
EXE_SHA1 = "802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0"
EXE_PAGE0 = "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"


def tool_digest(tool: str, path: Path) -> str:
    out = subprocess.run([require_tool(tool), str(path)], capture_output=True, check=True)
    return out.stdout.split()[0].decode().upper()


def test_oem89_v1_member_is_the_flat_sha1_of_the_inf(oracle_dir: Path) -> None:
    folder = oracle_dir / "microsoft"
    cat = load(folder / "oem89.cat")
    assert cat.version == 1
    assert cat.signed
    (entry,) = cat.members
    flat = tool_digest("sha1sum", folder / "amdacpbtscoext.inf")
    assert flat == INF_SHA1
    assert entry.identifier_text == flat  # stored as UTF-16LE text + NUL
    assert entry.identifier == (flat + "\0").encode("utf-16-le")
    assert entry.member_type is MemberType.FLAT
    assert entry.file_name == "amdacpbtscoext.inf"
    assert entry.digest_algorithm == "sha1"
    assert entry.digest is not None
    assert entry.digest.hex().upper() == flat
    assert not entry.compat
    assert entry.sip_guid == "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"


def test_makecat_catalog_members_page_hashes_and_cab(oracle_dir: Path) -> None:
    folder = oracle_dir / "makecat"
    cat = load(folder / "unsigned.cat")
    assert cat.version == 2
    assert len(cat.members) == 14
    assert sum(m.compat for m in cat.members) == 7
    assert [m.identifier for m in cat.members] == sorted(m.identifier for m in cat.members)
    exe = cat.find(bytes.fromhex(EXE_SHA256))
    assert exe is not None
    assert exe.file_name == "unsigned.exe"
    assert exe.member_type is MemberType.PE
    assert exe.page_hashes is not None
    assert exe.page_hashes.algorithm is HashAlgorithm.SHA256
    assert len(exe.page_hashes.entries) == 28
    assert exe.page_hashes.entries[0] == (0, bytes.fromhex(EXE_PAGE0))
    assert exe.page_hashes.entries[-1] == (0xFA00, bytes(32))
    exe_compat = cat.find(bytes.fromhex(EXE_SHA1))
    assert exe_compat is not None
    assert exe_compat.compat
    assert exe_compat.member_type is MemberType.PE
    for name in ("unsigned.mof", "unsigned.ps1", "unsigned.js", "unsigned.msi"):
        entry = cat.find(bytes.fromhex(tool_digest("sha256sum", folder / name)))
        assert entry is not None, name
        assert entry.member_type is MemberType.FLAT
        assert entry.file_name == name  # the .msi name is stored base64-decoded, as bytes
    cab = [m for m in cat.members if m.member_type is MemberType.CAB]
    assert len(cab) == 2
    assert {m.file_name for m in cab} == {"unsigned.ex_", None}
    assert [a.name for a in cat.attributes] == ["OSAttr"]
    assert cat.attributes[0].flags == 0x10010001

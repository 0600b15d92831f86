"""The catalog reader (catalog.ctl.read) on catalogs made by Microsoft's tools (formats.md 4, 6.1).

Expected values come from ../shared/oracle/README.md, from sha1sum/sha256sum of the member files
and from `openssl asn1parse` of the oracle catalogs - never from the reader itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.asn1.der import der_octet_string, der_oid, der_sequence, der_tlv
from catalog.asn1.oids import OID_CTL
from catalog.cms.signed_data import SignOptions, check_signer_info, content_info_for, resign
from catalog.ctl.build import CatalogMember, CatalogSpec, MemberKind, build_catalog
from catalog.ctl.read import MemberType, ParsedCatalog, parse_catalog, signer_summaries
from catalog.errors import CatalogInputError
from catalog.records import HashAlgorithm
from tests.conftest import require_tool
from tests.support.signing import identity

OEM89_MESSAGE_DIGEST = "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"
INF_SHA1 = "B1E795B69B4C2A901A8BC8E8B36E988C6C05D836"
DXCORE = "06FA542CA0A1626E11E99E79896C9EAA79B5CFC3F9AD0AC8B84D4B2E8C5A292C"
EXE_SHA256 = "2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4"
EXE_SHA1 = "802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0"
EXE_PAGE0 = "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"
MS_V2 = "115fe8649854ad531fb7ecd1318fbee6b33c9cbd78f02ed582092a96d5eb5899.cat"


def load(path: Path) -> ParsedCatalog:
    return parse_catalog(path.read_bytes(), str(path))


def tool_digest(tool: str, path: Path) -> str:
    out = subprocess.run([require_tool(tool), str(path)], capture_output=True, check=True)
    return out.stdout.split()[0].decode().upper()


@pytest.mark.oracle
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


@pytest.mark.oracle
def test_oem89_ctl_contents_give_the_signed_message_digest(oracle_dir: Path) -> None:
    cat = load(oracle_dir / "microsoft" / "oem89.cat")
    assert hashlib.sha256(cat.ctl_contents).hexdigest().upper() == OEM89_MESSAGE_DIGEST
    # openssl asn1parse: the CTL SEQUENCE starts at 62 with a 4-byte header, contents [66, 1205)
    raw = (oracle_dir / "microsoft" / "oem89.cat").read_bytes()
    assert cat.ctl == raw[62:1205]
    assert cat.ctl_contents == raw[66:1205]
    assert len(cat.certificates) == 2
    assert len(cat.signer_infos) == 1
    assert [a.name for a in cat.attributes][:3] == ["Qualification Level", "DTC", "Submission ID"]
    assert cat.list_identifier == bytes.fromhex("5D8EFB4C5CD45940A6B3A6787E02E51A")
    assert cat.this_update == datetime(2022, 6, 30, 7, 24, 34, tzinfo=UTC)
    (signer,) = signer_summaries(cat)
    assert signer.digest_algorithm == "sha256"
    assert signer.subject is not None
    assert "Microsoft Windows Hardware Compatibility Publisher" in signer.subject


@pytest.mark.oracle
def test_microsoft_v2_catalog_lists_dxcore(oracle_dir: Path) -> None:
    cat = load(oracle_dir / "microsoft" / MS_V2)
    assert cat.version == 2
    entry = cat.find(bytes.fromhex(DXCORE))
    assert entry is not None
    assert entry.member_type is MemberType.PE
    assert entry.digest_algorithm == "sha256"
    assert entry.digest == bytes.fromhex(DXCORE)
    assert not entry.has_page_hashes
    assert cat.find_digest(bytes.fromhex(DXCORE)) is entry
    compat = [m for m in cat.members if m.compat]
    assert compat
    assert all(len(m.identifier) == 20 and m.digest is None for m in compat)


@pytest.mark.oracle
def test_catfiletest_parses(oracle_dir: Path) -> None:
    cat = load(oracle_dir / "microsoft" / "catfiletest.cat")
    assert cat.version == 1
    assert not cat.signed
    (entry,) = cat.members
    assert entry.identifier_text == "3D704299722321C69FAF98AEFBF4767E56E309FD"
    assert entry.member_type is MemberType.FLAT
    assert entry.file_name is None


@pytest.mark.oracle
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


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["oem89.cat", "catfiletest.cat", MS_V2])
def test_truncated_catalogs_are_refused_with_an_offset(oracle_dir: Path, name: str) -> None:
    data = (oracle_dir / "microsoft" / name).read_bytes()
    for cut in sorted({1, 2, 10, 40, 100, len(data) // 3, len(data) // 2, len(data) - 1}):
        with pytest.raises(CatalogInputError, match="offset"):
            parse_catalog(data[:cut], name)


@pytest.mark.oracle
def test_other_files_are_not_catalogs(oracle_dir: Path) -> None:
    pe = (oracle_dir / "makecat" / "unsigned.exe").read_bytes()
    with pytest.raises(CatalogInputError, match=r"unsigned\.exe.*offset 0"):
        parse_catalog(pe, "unsigned.exe")
    with pytest.raises(CatalogInputError, match="empty"):
        parse_catalog(b"", "empty.cat")


def test_pkcs7_that_is_not_a_ctl_is_refused() -> None:
    # SignedData around id-data instead of szOID_CTL
    id_data = bytes.fromhex("06092a864886f70d010701")
    inner = bytes.fromhex("020101") + b"\x31\x00" + b"\x30" + bytes([len(id_data)]) + id_data
    signed = b"\x30" + bytes([len(inner) + 2]) + inner + b"\x31\x00"
    content = bytes.fromhex("06092a864886f70d010702") + b"\xa0" + bytes([len(signed)]) + signed
    der = b"\x30" + bytes([len(content)]) + content
    with pytest.raises(CatalogInputError, match=r"szOID_CTL"):
        parse_catalog(der, "x.p7")


def test_ctl_wrapped_in_an_octet_string_reads_what_the_signer_digested() -> None:
    """RFC 2315 9.3: for content in an OCTET STRING, messageDigest covers its contents octets."""
    member = CatalogMember(
        "a.txt",
        MemberKind.FLAT,
        sha1=hashlib.sha1(b"a").digest(),
        sha256=hashlib.sha256(b"a").digest(),
    )
    built = build_catalog(
        CatalogSpec(version=2, this_update=datetime(2026, 1, 1, tzinfo=UTC), members=(member,))
    )
    # Hand-built: the same CTL SEQUENCE, but wrapped the PKCS#7 "data" way.
    content_info = der_sequence(der_oid(OID_CTL), der_tlv(0xA0, der_octet_string(built.ctl)))
    unsigned = der_sequence(
        der_oid("1.2.840.113549.1.7.2"),
        der_tlv(
            0xA0,
            der_sequence(
                der_tlv(0x02, b"\x01"), der_tlv(0x31, b""), content_info, der_tlv(0x31, b"")
            ),
        ),
    )
    assert content_info_for(OID_CTL, der_octet_string(built.ctl)) == content_info
    who = identity()
    signed = resign(
        unsigned, "wrapped.cat", who.certificate_der, who.chain_der, who.sign, SignOptions()
    )
    parsed = parse_catalog(signed, "wrapped.cat")
    assert parsed.ctl == built.ctl
    assert parsed.ctl_contents == built.ctl  # the OCTET STRING's contents: the whole SEQUENCE
    assert [m.identifier for m in parsed.members] == [
        m.identifier for m in parse_catalog(built.der).members
    ]
    # The signature's own messageDigest is the oracle: it must verify over ctl_contents.
    checked = check_signer_info(
        parsed.signer_infos[0], parsed.ctl_contents, parsed.certificates, "wrapped.cat"
    )
    assert checked.message_digest == hashlib.sha256(built.ctl).digest()


@pytest.mark.oracle
def test_damaged_catalogs_never_crash_the_reader(oracle_dir: Path) -> None:
    """Random byte flips and cuts give a parsed catalog or a CatalogInputError, nothing else."""
    rng = random.Random(1234)
    sources = [
        (oracle_dir / "microsoft" / "oem89.cat").read_bytes(),
        (oracle_dir / "makecat" / "unsigned.cat").read_bytes(),
        (oracle_dir / "microsoft" / MS_V2).read_bytes(),
    ]
    for _ in range(800):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        with contextlib.suppress(CatalogInputError):
            parse_catalog(bytes(data), "fuzz.cat")

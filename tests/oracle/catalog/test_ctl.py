"""The catalog builder (catalog.ctl.build) against catalogs Microsoft's tools made (formats.md 4).

Oracles: MakeCat's ``makecat/unsigned.cat`` (v2, page hashes, compat entries), Microsoft's
``oem89.cat`` (v1, signed; its CTL is rebuilt byte for byte and its messageDigest from the oracle
README checked) and ``115fe...cat`` (v2 PE member without page hashes). Oracle catalogs are decoded
with asn1crypto + signify's CTL schema, never with our reader. Member digests come from hashlib over
the member files (what sha1sum/sha256sum print) and from the oracle README - never from the
catalog under test.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)

from catalog.ctl.build import CatalogMember, CatalogSpec, MemberKind, NameValue, build_catalog
from catalog.ctl.read import MemberType, parse_catalog
from catalog.pe.hashing import HashOptions, hash_file
from catalog.records import HashAlgorithm, PageHashTable
from tests.support.catalog_ctl import T0, oracle_ctl, oracle_subjects

# From ../shared/oracle/README.md (computed on Windows by MakeCat / Microsoft signing).
EXE_SHA256 = bytes.fromhex("2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4")
EXE_SHA1 = bytes.fromhex("802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0")
EXE_PAGE0 = "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"
OEM89_MESSAGE_DIGEST = "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"
DXCORE_SHA256 = bytes.fromhex("06FA542CA0A1626E11E99E79896C9EAA79B5CFC3F9AD0AC8B84D4B2E8C5A292C")


def flat_member(path: Path, attributes: tuple[NameValue, ...] = ()) -> CatalogMember:
    data = path.read_bytes()
    return CatalogMember(
        path.name,
        MemberKind.FLAT,
        hashlib.sha1(data).digest(),
        hashlib.sha256(data).digest(),
        attributes=attributes,
    )


def makecat_members(folder: Path, exe_table: PageHashTable | None) -> list[CatalogMember]:
    """The oracle CDF's members (by hand, in CDF order), minus the CAB file (see test below)."""
    file_attr = NameValue.from_cdf
    members = [
        CatalogMember(
            "unsigned.exe",
            MemberKind.PE,
            EXE_SHA1,
            EXE_SHA256,
            page_table_sha256=exe_table,
            attributes=(file_attr("File", 0x11010001, "unsigned.exe"),),
        ),
        flat_member(folder / "unsigned.msi", (file_attr("File", 0x11020001, "dW5zaWduZWQubXNp"),)),
    ]
    for suffix in ("ps1", "psc1", "mof", "js"):
        name = f"unsigned.{suffix}"
        members.append(flat_member(folder / name, (file_attr("File", 0x11010001, name),)))
    return members


def makecat_spec(oracle: bytes, members: list[CatalogMember]) -> CatalogSpec:
    ctl = oracle_ctl(oracle)
    return CatalogSpec(
        version=2,
        this_update=T0,
        members=tuple(members),
        attributes=(NameValue.from_cdf("OSAttr", 0x11010001, "2:6.0"),),
        list_identifier=ctl["list_identifier"].native,
    )


def test_makecat_v2_subjects_match_makecat_byte_for_byte(oracle_dir: Path) -> None:
    """Every non-CAB subject (primary and SHA1 compat) equals MakeCat's, page-hash-free PE aside."""
    folder = oracle_dir / "makecat"
    oracle = (folder / "unsigned.cat").read_bytes()
    expected = oracle_subjects(oracle)
    built = build_catalog(makecat_spec(oracle, makecat_members(folder, None)))
    ours = oracle_subjects(built.der)
    assert len(ours) == 12
    for ident, subject in ours.items():
        if ident == EXE_SHA256:
            continue  # MakeCat's has page hashes; compared in the hasher-based test
        assert subject == expected[ident], ident.hex()
    # the catalog header and the catalog attribute, field by field
    ctl, octl = oracle_ctl(built.der), oracle_ctl(oracle)
    for field in ("subject_usage", "list_identifier", "subject_algorithm", "ctl_extensions"):
        assert ctl[field].dump() == octl[field].dump(), field
    assert built.der[83:98] == oracle[83:98]  # UTCTime 250605080048Z at the same offset


def splice_out(der: bytes, ranges: list[tuple[int, int]], lengths_at: tuple[int, ...]) -> bytes:
    """Delete TLVs from a DER file and shrink the 2-byte long-form lengths that enclosed them."""
    out = bytearray(der)
    removed = sum(end - start for start, end in ranges)
    for start, end in sorted(ranges, reverse=True):
        del out[start:end]
    for offset in lengths_at:
        assert out[offset + 1] == 0x82
        value = int.from_bytes(out[offset + 2 : offset + 4], "big") - removed
        out[offset + 2 : offset + 4] = value.to_bytes(2, "big")
    return bytes(out)


# Offsets printed by `openssl asn1parse -inform DER -i -in unsigned.cat`: the CAB member's two
# subjects (compat C79A... at 2483, primary FDBE... at 2734) and the seven enclosing SEQUENCE/[0]
# headers (ContentInfo, [0], SignedData, contentInfo, [0], CTL, trustedSubjects).
CAB_SUBJECTS = [(2483, 2527), (2734, 3015)]
ENCLOSING = (0, 15, 19, 28, 43, 47, 114)


def test_makecat_whole_file_identical_without_the_cab_member(oracle_dir: Path) -> None:
    """With the real page table, our file is MakeCat's file minus the CAB member, to the byte.

    The page table comes from the hasher (catalog.pe.hashing), which the oracle README checks
    independently (28 entries, entry 0 = 43CE7BFD...).
    """
    folder = oracle_dir / "makecat"
    oracle = (folder / "unsigned.cat").read_bytes()
    digests = hash_file(folder / "unsigned.exe", HashOptions(metadata=False))
    # the README's independent facts about this table, before we rely on it
    table = digests.page_table(HashAlgorithm.SHA256)
    assert table is not None
    assert len(table.entries) == 28
    assert table.entries[0][1].hex().upper() == EXE_PAGE0
    assert digests.sip_digest(HashAlgorithm.SHA256) == EXE_SHA256
    built = build_catalog(makecat_spec(oracle, makecat_members(folder, table)))
    assert built.der == splice_out(oracle, CAB_SUBJECTS, ENCLOSING)


def test_cab_member_is_catalogued_flat_not_as_makecat_did(oracle_dir: Path) -> None:
    """The documented difference: a CAB file becomes a flat member (MakeCat used the CAB SIP)."""
    folder = oracle_dir / "makecat"
    oracle = oracle_subjects((folder / "unsigned.cat").read_bytes())
    cab = folder / "unsigned.ex_"
    member = flat_member(cab, (NameValue.from_cdf("File", 0x11010001, "unsigned.ex_"),))
    built = build_catalog(CatalogSpec(2, T0, (member,)))
    ours = parse_catalog(built.der)
    flat256 = hashlib.sha256(cab.read_bytes()).digest()
    assert ours.find(flat256) is not None
    assert flat256 not in oracle  # MakeCat's id is the CAB SIP digest, not the flat hash
    assert all(m.member_type is MemberType.FLAT for m in ours.members)


def test_v1_ctl_rebuilds_microsoft_oem89_exactly(oracle_dir: Path) -> None:
    """v1: identifier text, MEMBERINFO, SHA1 flat indirect data and 8 catalog attributes."""
    folder = oracle_dir / "microsoft"
    oracle = (folder / "oem89.cat").read_bytes()
    ctl = oracle_ctl(oracle)
    member = flat_member(
        folder / "amdacpbtscoext.inf",
        (NameValue.text("OSAttr", "2:10.0"), NameValue.text("File", "amdacpbtscoext.inf")),
    )
    attributes = tuple(
        NameValue.text(name, value)
        for name, value in (
            ("Qualification Level", "1000"),
            ("DTC", "1"),
            ("Submission ID", "30035070_14509585902992665_1152921505695000088"),
            ("BundleID", "9c12309c-5339-4442-86f5-a4cc3b1e08ee"),
            ("Universal", "True"),
            ("Declarative", "True"),
            ("OS", "_v100_X64_21H2,_v100_X64_22H2"),
            ("HWID1", "usb\\vid_0489&pid_e0d6"),
        )
    )
    spec = CatalogSpec(
        1,
        datetime(2022, 6, 30, 7, 24, 34, tzinfo=UTC),
        (member,),
        attributes,
        ctl["list_identifier"].native,
    )
    built = build_catalog(spec)
    assert built.ctl == ctl.untag().dump()
    assert built.ctl_contents == ctl.contents
    assert hashlib.sha256(built.ctl_contents).hexdigest().upper() == OEM89_MESSAGE_DIGEST


def test_v2_pe_member_without_page_hashes_matches_microsoft(oracle_dir: Path) -> None:
    """The empty file link ``a0 04 a2 02 80 00`` and MEMBERINFO2 ``80 00``: 115fe...cat DXCore."""
    path = (
        oracle_dir
        / "microsoft"
        / ("115fe8649854ad531fb7ecd1318fbee6b33c9cbd78f02ed582092a96d5eb5899.cat")
    )
    expected = oracle_subjects(path.read_bytes())[DXCORE_SHA256]
    hint = (
        "amd64_microsoft-onecore-directx-dxcore_31bf3856ad364e35_10.0.26100.4768_none_"
        "4f6f5ec1b0a1f76e\\dxcore.dll"
    )
    member = CatalogMember(
        "DXCore.dll",
        MemberKind.PE,
        sha1=bytes(20),  # only the SHA256 primary subject is compared
        sha256=DXCORE_SHA256,
        attributes=(NameValue.text("PETrusted", "1"), NameValue.text("Hint", hint)),
    )
    assert oracle_subjects(build_catalog(CatalogSpec(2, T0, (member,))).der)[DXCORE_SHA256] == (
        expected
    )

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
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)
from asn1crypto.cms import ContentInfo
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.ctl.build import (
    BuiltCatalog,
    CatalogMember,
    CatalogSpec,
    MemberKind,
    NameValue,
    build_catalog,
    encode_time,
)
from catalog.ctl.read import MemberType, parse_catalog
from catalog.errors import CatalogInputError
from catalog.pe.hashing import HashOptions, hash_file
from catalog.records import HashAlgorithm, PageHashTable

# From ../shared/oracle/README.md (computed on Windows by MakeCat / Microsoft signing).
EXE_SHA256 = bytes.fromhex("2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4")
EXE_SHA1 = bytes.fromhex("802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0")
EXE_PAGE0 = "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"
OEM89_MESSAGE_DIGEST = "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"
DXCORE_SHA256 = bytes.fromhex("06FA542CA0A1626E11E99E79896C9EAA79B5CFC3F9AD0AC8B84D4B2E8C5A292C")
T0 = datetime(2025, 6, 5, 8, 0, 48, tzinfo=UTC)


def oracle_ctl(der: bytes) -> Any:
    """The CTL of a catalog, decoded by asn1crypto/signify (independent of catalog.ctl.read)."""
    return ContentInfo.load(der)["content"]["encap_content_info"]["content"]


def oracle_subjects(der: bytes) -> dict[bytes, bytes]:
    """identifier -> the TrustedSubject's DER, as stored (asn1crypto keeps original encodings)."""
    return {s["subject_identifier"].native: s.dump() for s in oracle_ctl(der)["trusted_subjects"]}


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


@pytest.mark.oracle
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


@pytest.mark.oracle
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


@pytest.mark.oracle
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


@pytest.mark.oracle
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


@pytest.mark.oracle
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


# ---- encoding rules without an oracle file (formats.md 4.2/4.3 text) -------------------------


def member(n: int, kind: MemberKind = MemberKind.FLAT, **kw: Any) -> CatalogMember:
    return CatalogMember(
        f"file{n}",
        kind,
        hashlib.sha1(str(n).encode()).digest(),
        hashlib.sha256(str(n).encode()).digest(),
        **kw,
    )


def test_v1_identifier_is_utf16_uppercase_hex_with_nul() -> None:
    m = member(1)
    assert m.sha1 is not None
    built = parse_catalog(build_catalog(CatalogSpec(1, T0, (m,))).der)
    (entry,) = built.members
    assert entry.identifier == (m.sha1.hex().upper() + "\0").encode("utf-16-le")
    assert len(entry.identifier) == 82
    assert entry.sip_guid == "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"


def test_v2_writes_a_compat_entry_with_replicated_attributes_only() -> None:
    attrs = (
        NameValue.text("File", "a.dll", 0x11010001),
        NameValue.text("Keep", "yes", 0x10010001),
    )
    m = member(2, MemberKind.PE, attributes=attrs)
    cat = parse_catalog(build_catalog(CatalogSpec(2, T0, (m,))).der)
    assert m.sha1 is not None
    compat = cat.find(m.sha1)
    assert compat is not None
    assert compat.compat
    assert compat.digest is None
    assert [a.name for a in compat.attributes] == ["Keep"]
    assert all(a.flags == 0x10010001 for a in compat.attributes)  # 0x01000000 never stored


def test_subjects_sorted_by_identifier_and_duplicates_collapsed() -> None:
    members = [member(i) for i in range(20)]
    twin = CatalogMember("copy-of-file3", MemberKind.FLAT, members[3].sha1, members[3].sha256)
    built = build_catalog(CatalogSpec(2, T0, (*members, twin)))
    subjects = list(oracle_subjects(built.der))
    assert subjects == sorted(subjects)
    assert len(subjects) == 40
    # Same encoding for both, so the tie is broken by name: "copy-of-file3" is kept.
    assert built.collapsed == ("file3",)


def test_output_does_not_depend_on_member_order() -> None:
    members = [member(i) for i in range(30)]
    shuffled = members[:]
    random.Random(4).shuffle(shuffled)
    one = build_catalog(CatalogSpec(2, T0, tuple(members)))
    two = build_catalog(CatalogSpec(2, T0, tuple(shuffled)))
    assert one.der == two.der
    assert one.list_identifier == two.list_identifier


def test_list_identifier_is_derived_from_content() -> None:
    a = build_catalog(CatalogSpec(2, T0, (member(1),)))
    b = build_catalog(CatalogSpec(2, T0, (member(2),)))
    assert len(a.list_identifier) == 16
    assert a.list_identifier != b.list_identifier
    assert oracle_ctl(a.der)["list_identifier"].native == a.list_identifier


def test_no_catalog_attributes_means_no_extensions_field() -> None:
    built = build_catalog(CatalogSpec(2, T0, (member(1),)))
    ctl = oracle_ctl(built.der)
    assert ctl["ctl_extensions"].native is None
    assert built.ctl.endswith(ctl["trusted_subjects"].dump())  # nothing after the subjects


def test_time_encoding_switches_to_generalized_time_in_2050() -> None:
    assert encode_time(datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)) == (b"\x17\x0d491231235959Z")
    assert encode_time(datetime(2050, 1, 1, tzinfo=UTC)) == b"\x18\x0f20500101000000Z"
    tz = datetime(2025, 1, 1, 1, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    assert encode_time(tz) == b"\x17\x0d250101010000Z"
    with pytest.raises(CatalogInputError, match="timezone"):
        encode_time(datetime(2025, 1, 1))


def test_errors_name_the_member() -> None:
    no_sha256 = CatalogMember("x.dll", MemberKind.PE, sha1=bytes(20))
    with pytest.raises(CatalogInputError, match=r"x\.dll.*sha256"):
        build_catalog(CatalogSpec(2, T0, (no_sha256,)))
    short = CatalogMember("y.dll", MemberKind.PE, sha1=bytes(19))
    with pytest.raises(CatalogInputError, match=r"y\.dll.*19 bytes"):
        build_catalog(CatalogSpec(1, T0, (short,)))
    table = PageHashTable(HashAlgorithm.SHA256, ((0, bytes(32)),))
    flat_with_pages = member(3, page_table_sha256=table)
    with pytest.raises(CatalogInputError, match="only PE members"):
        build_catalog(CatalogSpec(2, T0, (flat_with_pages,)))
    wrong_alg = CatalogMember(
        "z.dll",
        MemberKind.PE,
        bytes(20),
        bytes(32),
        page_table_sha1=PageHashTable(HashAlgorithm.SHA256, ((0, bytes(32)),)),
    )
    with pytest.raises(CatalogInputError, match=r"z\.dll.*sha256"):
        build_catalog(CatalogSpec(1, T0, (wrong_alg,)))
    with pytest.raises(CatalogInputError, match="version 3"):
        build_catalog(CatalogSpec(3, T0, ()))
    with pytest.raises(CatalogInputError, match="16 bytes"):
        build_catalog(CatalogSpec(2, T0, (), list_identifier=b"short"))


def test_base64_attribute_value_is_stored_decoded() -> None:
    attr = NameValue.from_cdf("File", 0x11020001, "dW5zaWduZWQubXNp")
    assert attr.value == b"unsigned.msi"
    assert attr.stored_flags == 0x10020001
    with pytest.raises(ValueError, match="base64"):
        NameValue.from_cdf("File", 0x10020001, "not base64!")


# ---- round trip through our reader ------------------------------------------------------------

_digest20 = st.binary(min_size=20, max_size=20)
_digest32 = st.binary(min_size=32, max_size=32)
_names = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xD7FF), min_size=1, max_size=12
)


@st.composite
def _members(draw: st.DrawFn) -> CatalogMember:
    kind = draw(st.sampled_from(MemberKind))
    table = None
    if kind is MemberKind.PE and draw(st.booleans()):
        entries = draw(st.lists(st.tuples(st.integers(0, 2**32 - 1), _digest32), max_size=5))
        table = PageHashTable(HashAlgorithm.SHA256, (*entries, (4096, bytes(32))))
    attrs = draw(
        st.lists(
            st.builds(
                NameValue.text,
                _names,
                _names,
                st.sampled_from([0x10010001, 0x11010001]),
            ),
            max_size=3,
        )
    )
    return CatalogMember(
        draw(_names), kind, draw(_digest20), draw(_digest32), None, table, tuple(attrs)
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(_members(), max_size=6, unique_by=(lambda m: m.sha1, lambda m: m.sha256)))
def test_round_trip_v2(members: list[CatalogMember]) -> None:
    # Each digest unique on its own: distinct files never share a SHA1 or a SHA256. Equal
    # identifiers are collapsed by design (see test_subjects_sorted_..._duplicates_collapsed).
    built: BuiltCatalog = build_catalog(CatalogSpec(2, T0, tuple(members)))
    parsed = parse_catalog(built.der)
    assert parsed.version == 2
    assert parsed.this_update == T0
    assert parsed.list_identifier == built.list_identifier
    assert parsed.ctl == built.ctl
    for m in members:
        assert m.sha256 is not None
        entry = parsed.find(m.sha256)
        assert entry is not None
        assert entry.member_type.value == m.kind.value
        assert entry.digest == m.sha256
        assert entry.page_hashes == m.page_table_sha256
        stored = {NameValue(a.name, a.stored_flags, a.value) for a in m.attributes}
        assert set(entry.attributes) == stored
    assert len(parsed.members) == 2 * len(members)

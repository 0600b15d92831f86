"""The catalog builder (catalog.ctl.build) against catalogs Microsoft's tools made (formats.md 4).

Oracles: MakeCat's ``makecat/unsigned.cat`` (v2, page hashes, compat entries), Microsoft's
``oem89.cat`` (v1, signed; its CTL is rebuilt byte for byte and its messageDigest from the oracle
README checked) and ``115fe...cat`` (v2 PE member without page hashes). Oracle catalogs are decoded
with asn1crypto + signify's CTL schema, never with our reader. Member digests come from hashlib over
the member files (what sha1sum/sha256sum print) and from the oracle README - never from the
catalog under test.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)
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
from catalog.ctl.read import parse_catalog
from catalog.errors import CatalogInputError
from catalog.records import HashAlgorithm, PageHashTable
from tests.support.catalog_ctl import T0, member, oracle_ctl, oracle_subjects


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
    table = PageHashTable.from_entries(HashAlgorithm.SHA256, ((0, bytes(32)),))
    flat_with_pages = member(3, page_table_sha256=table)
    with pytest.raises(CatalogInputError, match="only PE members"):
        build_catalog(CatalogSpec(2, T0, (flat_with_pages,)))
    wrong_alg = CatalogMember(
        "z.dll",
        MemberKind.PE,
        bytes(20),
        bytes(32),
        page_table_sha1=PageHashTable.from_entries(HashAlgorithm.SHA256, ((0, bytes(32)),)),
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
        table = PageHashTable.from_entries(HashAlgorithm.SHA256, (*entries, (4096, bytes(32))))
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

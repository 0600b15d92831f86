"""The DER codec (catalog.asn1.der) against hand-written X.690 encodings and asn1crypto.

Oracles: byte strings written out by hand from X.690 (8.1.3 lengths, 8.3 INTEGER, 8.19 OBJECT
IDENTIFIER, 11.6 SET OF ordering) and well-known encodings (the signedData OID and the SHA256
AlgorithmIdentifier every PKCS#7 file carries); asn1crypto, an independent implementation, for
property checks over random integers and OIDs. The reader is fed hand-made damaged inputs and must
name the offset of the element that stops making sense.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from asn1crypto import core
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.asn1.der import (
    DER_NULL,
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    DerError,
    Tlv,
    children,
    decode_oid,
    der_algorithm_identifier,
    der_attribute,
    der_bmp_string,
    der_integer,
    der_length,
    der_octet_string,
    der_oid,
    der_sequence,
    der_set_of,
    der_time,
    der_tlv,
    oid_of,
    read_oid,
    read_tlv,
    tag_name,
)
from catalog.errors import CatalogInputError

# --- encoders against hand-written bytes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "want"),
    [
        (0, "00"),
        (0x7F, "7f"),
        (0x80, "8180"),
        (0xFF, "81ff"),
        (0x100, "820100"),
        (0xFFFF, "82ffff"),
        (0x10000, "83010000"),
    ],
)
def test_length_octets(n: int, want: str) -> None:
    assert der_length(n) == bytes.fromhex(want)


@pytest.mark.parametrize(("n", "head"), [(0x7F, "047f"), (0x80, "048180"), (0x100, "04820100")])
def test_tlv_header_switches_to_long_form_at_128(n: int, head: str) -> None:
    encoded = der_tlv(TAG_OCTET_STRING, b"\xaa" * n)
    assert encoded == bytes.fromhex(head) + b"\xaa" * n
    assert der_octet_string(b"\xaa" * n) == encoded


@pytest.mark.parametrize(
    ("dotted", "want"),
    [
        ("1.2.840.113549.1.7.2", "06092a864886f70d010702"),  # signedData
        ("2.16.840.1.101.3.4.2.1", "0609608648016503040201"),  # sha256
        ("1.3.14.3.2.26", "06052b0e03021a"),  # sha1
        ("1.3.6.1.4.1.311.12.1.1", "060a2b0601040182370c0101"),  # szOID_CATALOG_LIST
        ("2.999.3", "0603883703"),  # X.690 8.19.5 example: first subidentifier 1079
        ("0.0", "060100"),
    ],
)
def test_oid_encoding(dotted: str, want: str) -> None:
    assert der_oid(dotted) == bytes.fromhex(want)
    assert decode_oid(bytes.fromhex(want)[2:]) == dotted


@pytest.mark.parametrize("bad", ["1", "3.1", "1.40", "0.40.1", "1.2.x", "", "1.-2"])
def test_oid_encoder_refuses_non_oids(bad: str) -> None:
    with pytest.raises(ValueError, match="not an object identifier"):
        der_oid(bad)


@pytest.mark.parametrize("bad", ["", "2a86", "2a864886f7"])
def test_oid_decoder_refuses_truncated_content(bad: str) -> None:
    with pytest.raises(ValueError, match="truncated object identifier"):
        decode_oid(bytes.fromhex(bad))


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (0, "020100"),
        (1, "020101"),
        (0x7F, "02017f"),
        (0x80, "02020080"),
        (0xFF, "020200ff"),
        (0x100, "02020100"),
        (0x10010001, "020410010001"),  # CAT_NAMEVALUE flags MakeCat writes
        (-1, "0201ff"),
        (-128, "020180"),
        (-129, "0202ff7f"),
    ],
)
def test_integer_is_minimal_twos_complement(value: int, want: str) -> None:
    assert der_integer(value) == bytes.fromhex(want)


def test_bmp_string_is_utf16_big_endian_without_terminator() -> None:
    assert der_bmp_string("File") == bytes.fromhex("1e0800460069006c0065")
    assert der_bmp_string("") == bytes.fromhex("1e00")
    assert der_bmp_string("\u00e9") == bytes.fromhex("1e0200e9")


def test_constructed_encoders() -> None:
    assert bytes.fromhex("0500") == DER_NULL
    assert der_sequence() == bytes.fromhex("3000")
    assert der_sequence(DER_NULL, der_integer(1)) == bytes.fromhex("30050500020101")
    # The SHA256 AlgorithmIdentifier with explicit NULL, as in every Windows signature.
    assert der_algorithm_identifier("2.16.840.1.101.3.4.2.1") == bytes.fromhex(
        "300d06096086480165030402010500"
    )
    # contentType attribute whose value is szOID_CTL.
    assert der_attribute("1.2.840.113549.1.9.3", bytes.fromhex("06092b0601040182370a01")) == (
        bytes.fromhex("301806092a864886f70d010903310b06092b0601040182370a01")
    )


def test_set_of_sorts_element_encodings() -> None:
    a, b, c = bytes.fromhex("040102"), bytes.fromhex("020105"), bytes.fromhex("0201")
    assert der_set_of([a, b, c]) == bytes.fromhex("3108" + "0201" + "020105" + "040102")
    assert der_set_of([a, b], tag=0xA1) == bytes.fromhex("a106020105040102")
    assert der_set_of([]) == bytes.fromhex("3100")


@pytest.mark.parametrize(
    ("when", "want"),
    [
        (datetime(2025, 6, 5, 8, 0, 48, tzinfo=UTC), b"\x17\x0d250605080048Z"),
        (datetime(1950, 1, 1, tzinfo=UTC), b"\x17\x0d500101000000Z"),
        (datetime(2049, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), b"\x17\x0d491231235959Z"),
        (datetime(2050, 1, 1, tzinfo=UTC), b"\x18\x0f20500101000000Z"),
        (datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC), b"\x18\x0f19491231235959Z"),
        (
            datetime(2025, 6, 5, 10, 0, 48, tzinfo=timezone(timedelta(hours=2))),
            b"\x17\x0d250605080048Z",
        ),
    ],
)
def test_time_choice_and_utc_conversion(when: datetime, want: bytes) -> None:
    assert der_time(when) == want


# --- encoders against asn1crypto ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**130), max_value=2**130))
def test_integer_matches_asn1crypto(value: int) -> None:
    assert der_integer(value) == core.Integer(value).dump()


_oids = st.tuples(
    st.integers(0, 2), st.integers(0, 39), st.lists(st.integers(0, 2**70), max_size=8)
).map(lambda t: ".".join(str(a) for a in (t[0], t[1], *t[2])))


@settings(max_examples=200, deadline=None)
@given(_oids)
def test_oid_matches_asn1crypto_and_round_trips(dotted: str) -> None:
    encoded = der_oid(dotted)
    assert encoded == core.ObjectIdentifier(dotted).dump()
    assert decode_oid(encoded[2:]) == dotted
    assert read_oid(encoded, 0, len(encoded)) == (dotted, read_tlv(encoded, 0))


# --- reader ---------------------------------------------------------------------------------------


def test_read_tlv_positions_short_and_long_form() -> None:
    data = bytes.fromhex("3003020105") + bytes.fromhex("048180") + b"\x00" * 0x80
    assert read_tlv(data, 0) == Tlv(0x30, 0, 2, 5)
    assert read_tlv(data, 2, 5) == Tlv(0x02, 2, 4, 5)
    assert read_tlv(data, 5) == Tlv(0x04, 5, 8, 8 + 0x80)
    assert read_tlv(data, 0).constructed
    assert not read_tlv(data, 2).constructed


def test_reader_walks_a_memoryview_like_bytes() -> None:
    view = memoryview(bytes.fromhex("30050201050500"))
    outer = read_tlv(view, 0)
    assert children(view, outer) == [Tlv(0x02, 2, 4, 5), Tlv(0x05, 5, 7, 7)]


@pytest.mark.parametrize(
    ("hex_data", "offset", "limit", "pattern"),
    [
        ("", 0, None, r"at byte offset 0: expected a DER element \(x\), found the end"),
        ("30", 0, None, r"at byte offset 0: truncated header: no length octet \(x\)"),
        ("3005020105", 2, 3, r"at byte offset 2: truncated header"),
        ("0482ff", 0, None, r"at byte offset 0: truncated length \(x\)"),
        ("3080020105 0000", 0, None, r"at byte offset 0: indefinite length \(x\) is not DER"),
        ("048501000000000000", 0, None, r"at byte offset 0: 5-octet length \(x\) is too large"),
        ("1f0100", 0, None, r"at byte offset 0: multi-byte tag 0x1F \(x\) is not supported"),
        (
            "0405616263",
            0,
            None,
            r"at byte offset 0: OCTET STRING \(x\) claims 5 content bytes but only 3 remain",
        ),
        # An element whose length runs past its parent's end, though not past the buffer's.
        (
            "3004 0405 6162 6364 6566",
            2,
            6,
            r"at byte offset 2: OCTET STRING \(x\) claims 5 .* only 2",
        ),
    ],
)
def test_reader_errors_name_the_offset(
    hex_data: str, offset: int, limit: int | None, pattern: str
) -> None:
    data = bytes.fromhex(hex_data)
    with pytest.raises(DerError, match=pattern) as info:
        read_tlv(data, offset, limit, what="x")
    assert isinstance(info.value, CatalogInputError)
    assert info.value.offset == offset


def test_child_running_past_its_container_is_named_at_its_own_offset() -> None:
    # SEQUENCE of 4 bytes holding an INTEGER that claims 5; the buffer itself is long enough.
    data = bytes.fromhex("3004 0205 0102 0304 05")
    with pytest.raises(DerError, match=r"at byte offset 2: INTEGER \(body\) claims 5") as info:
        children(data, read_tlv(data, 0), what="body")
    assert info.value.offset == 2


def test_expected_tags_are_checked() -> None:
    data = bytes.fromhex("020101")
    with pytest.raises(DerError, match=r"offset 0: expected SEQUENCE \(version\), found INTEGER"):
        read_tlv(data, 0, expected=TAG_SEQUENCE, what="version")
    with pytest.raises(DerError, match=r"offset 0: expected \[0\] constructed, found INTEGER"):
        children(data, read_tlv(data, 0), 0xA0)
    with pytest.raises(DerError, match=r"offset 0: expected OBJECT IDENTIFIER \(t\), found INT"):
        oid_of(data, read_tlv(data, 0), "t")
    with pytest.raises(DerError, match=r"offset 0: truncated object identifier \(t\)"):
        read_oid(bytes.fromhex("06022a86"), 0, 4, "t")


@pytest.mark.parametrize(
    ("tag", "name"),
    [(0x30, "SEQUENCE"), (0xA0, "[0] constructed"), (0x81, "[1] primitive"), (0x13, "tag 0x13")],
)
def test_tag_names(tag: int, name: str) -> None:
    assert tag_name(tag) == name


# --- round trips ----------------------------------------------------------------------------------

_leaves = st.binary(max_size=300).map(der_octet_string) | st.integers(-(2**64), 2**64).map(
    der_integer
)
_trees = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=5).map(lambda p: der_sequence(*p)),
    max_leaves=20,
)


def _walk(data: bytes, tlv: Tlv) -> bytes:
    """Re-encode what the reader saw, from tags and content slices only."""
    if tlv.tag == TAG_SEQUENCE:
        return der_sequence(*(_walk(data, c) for c in children(data, tlv)))
    return der_tlv(tlv.tag, data[tlv.content_start : tlv.end])


@settings(max_examples=150, deadline=None)
@given(_trees)
def test_encode_read_round_trip(encoded: bytes) -> None:
    top = read_tlv(encoded, 0)
    assert top.start == 0
    assert top.end == len(encoded)
    assert _walk(encoded, top) == encoded


@settings(max_examples=150, deadline=None)
@given(_trees, st.data())
def test_every_truncation_is_refused_with_an_offset(encoded: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(encoded) - 1))
    short = encoded[:cut]
    with pytest.raises(DerError, match=r"at byte offset \d+"):
        _walk(short, read_tlv(short, 0))


# --- callers that peel one TLV --------------------------------------------------------------------


def test_nested_policy_octet_string_is_peeled_with_the_shared_reader() -> None:
    from policy.errors import PolicyInputError
    from policy.sign import parse_signed_data_octets

    assert parse_signed_data_octets(bytes.fromhex("0403070000")) == bytes.fromhex("070000")
    long_form = bytes.fromhex("048180") + b"\x07" * 0x80
    assert parse_signed_data_octets(long_form) == b"\x07" * 0x80
    with pytest.raises(PolicyInputError, match=r"x\.cip: .*at byte offset 0: OCTET STRING"):
        parse_signed_data_octets(bytes.fromhex("040907"), "x.cip")

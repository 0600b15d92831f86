"""cdf.model: attribute flags, stored values/flags (checked against MakeCat's catalog), problems."""

from __future__ import annotations

import pytest

from cdf.errors import CdfInputError
from cdf.model import CatalogDefinition, CdfAttribute, CdfMember, hash_algorithm_problem, parse_int


def test_flag_properties() -> None:
    a = CdfAttribute(1, 0x11010001, "File", "x")
    assert a.authenticated
    assert not a.unauthenticated
    assert a.no_sha1_replicate
    assert a.is_text
    assert not a.is_base64
    assert a.name_is_text
    assert not a.name_is_oid
    assert a.stored_flags == 0x10010001
    b = CdfAttribute(2, 0x20020002, "1.2.3", "AA==")
    assert (b.authenticated, b.unauthenticated, b.no_sha1_replicate) == (False, True, False)
    assert (b.is_text, b.is_base64, b.name_is_text, b.name_is_oid) == (False, True, False, True)
    assert b.stored_flags == 0x20020002


def test_stored_values_by_hand() -> None:
    text = CdfAttribute(1, 0x10010001, "File", "unsigned.exe")
    # "unsigned.exe" UTF-16LE plus the 2-byte NUL: 26 bytes ending 00 00 (formats.md 4.3)
    assert text.stored_value() == b"u\0n\0s\0i\0g\0n\0e\0d\0.\0e\0x\0e\0\0\0"
    assert len(text.stored_value()) == 26
    assert CdfAttribute(1, 0x10010001, "N", "").stored_value() == b"\0\0"
    assert CdfAttribute(1, 0x10010001, "N", "é€").stored_value() == b"\xe9\x00\xac\x20\0\0"
    b64 = CdfAttribute(1, 0x11020001, "File", "dW5zaWduZWQubXNp")
    assert b64.stored_value() == b"unsigned.msi"


def test_stored_value_rejects_bad_data() -> None:
    with pytest.raises(CdfInputError, match="base64"):
        CdfAttribute(1, 0x10020001, "File", "not base64!").stored_value()
    with pytest.raises(CdfInputError, match="neither text"):
        CdfAttribute(1, 0x10000001, "File", "x").stored_value()


def test_parse_int() -> None:
    assert parse_int("0x0000001") == 1
    assert parse_int("0X10010001") == 0x10010001
    assert parse_int(" 65537 ") == 65537
    for bad in ("", "0x", "1e3", "0x1G", "-1", "+1", "٣"):
        with pytest.raises(ValueError):  # noqa: PT011 - the message is ours and tested elsewhere
            parse_int(bad)


@pytest.mark.parametrize(
    ("version", "algorithms", "fragment"),
    [
        (2, ("SHA1",), "requires HashAlgorithms=SHA256"),
        (2, (), "requires HashAlgorithms=SHA256"),
        (1, ("SHA256",), "needs CatalogVersion=2"),
        (None, ("SHA256",), "needs CatalogVersion=2"),
        (3, ("SHA256",), "not supported"),
        (2, ("MD5",), "unknown algorithm"),
    ],
)
def test_hash_algorithm_problems(
    version: int | None, algorithms: tuple[str, ...], fragment: str
) -> None:
    assert fragment in hash_algorithm_problem(version, algorithms)


@pytest.mark.parametrize(
    ("version", "algorithms"),
    [(None, ()), (1, ()), (1, ("SHA1",)), (2, ("SHA256",)), (2, ("SHA1", "SHA256"))],
)
def test_hash_algorithm_fine(version: int | None, algorithms: tuple[str, ...]) -> None:
    assert hash_algorithm_problem(version, algorithms) == ""


def test_effective_values() -> None:
    empty = CatalogDefinition()
    assert empty.effective_catalog_version == 1
    assert empty.digest_algorithm == "SHA1"
    assert empty.effective_encoding_type == 0x00010001
    assert empty.effective_page_hashes is False
    v2 = CatalogDefinition(catalog_version=2, hash_algorithms=("SHA256",), page_hashes=True)
    assert v2.digest_algorithm == "SHA256"
    assert v2.effective_page_hashes is True


@pytest.mark.parametrize(
    ("definition", "fragment"),
    [
        (CatalogDefinition(members=(CdfMember("a=b", "x"),)), "contains '='"),
        (CatalogDefinition(members=(CdfMember("a", "x"), CdfMember("A", "y"))), "used twice"),
        (
            CatalogDefinition(members=(CdfMember("a", "x"), CdfMember("aATTR1", "y"))),
            "reads as an ATTR/ALTSIPID line",
        ),
        (
            CatalogDefinition(
                members=(
                    CdfMember("a", "x", attributes=(CdfAttribute(1, 0x10010001, "n", "v"),)),
                    CdfMember("aATTR1ATTR2", "y"),
                )
            ),
            "reads as an ATTR/ALTSIPID line",
        ),
        (CatalogDefinition(members=(CdfMember("a", ""),)), "empty path"),
        (CatalogDefinition(members=(CdfMember("a", " x"),)), "surrounding blanks"),
        (CatalogDefinition(members=(CdfMember("a", "x\ny"),)), "line break"),
        (CatalogDefinition(members=(CdfMember("#a", "x", hashed=False),)), "comment"),
        (CatalogDefinition(members=(CdfMember("<hash>a", "x", hashed=False),)), "<HASH>"),
        (CatalogDefinition(members=(CdfMember("a", "x", alt_sip_id="{nope}"),)), "GUID"),
        (
            CatalogDefinition(
                attributes=(
                    CdfAttribute(1, 0x10010001, "a", "v"),
                    CdfAttribute(1, 0x10010001, "b", "v"),
                )
            ),
            "number 1 is used twice",
        ),
        (CatalogDefinition(attributes=(CdfAttribute(1, 0x10010002, "OS", "v"),)), "OID"),
        (CatalogDefinition(attributes=(CdfAttribute(1, 0x10020001, "a", "%%"),)), "base64"),
        (CatalogDefinition(attributes=(CdfAttribute(1, 0x10010001, "a:b", "v"),)), "':'"),
        (CatalogDefinition(attributes=(CdfAttribute(1, 0x10010001, "a", "v "),)), "trailing"),
        (CatalogDefinition(attributes=(CdfAttribute(0, 0x10010001, "a", "v"),)), "positive"),
        (CatalogDefinition(attributes=(CdfAttribute(1, 0x30010001, "a", "v"),)), "both auth"),
        (CatalogDefinition(catalog_version=2), "requires HashAlgorithms=SHA256"),
        (CatalogDefinition(name=""), "Name"),
        (CatalogDefinition(encoding_type=1 << 32), "32 bits"),
    ],
)
def test_problems(definition: CatalogDefinition, fragment: str) -> None:
    found = definition.problems()
    assert any(fragment in p for p in found), found
    with pytest.raises(CdfInputError, match="invalid catalog definition"):
        definition.check()


def test_no_problems_for_a_plain_definition() -> None:
    definition = CatalogDefinition(
        name="x.cat",
        catalog_version=2,
        hash_algorithms=("SHA256",),
        members=(
            CdfMember("a", "a.exe", attributes=(CdfAttribute(1, 0x11010001, "File", "a:b=c"),)),
            CdfMember("aATTR", "b.exe"),  # no number: not an ATTR key
            CdfMember("bATTR1", "c.exe"),  # no member "b": a member, not an ATTR line
        ),
    )
    assert definition.problems() == ()
    definition.check()

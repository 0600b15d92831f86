"""cdf.parser: the MakeCat oracle CDF, every key, encodings, line endings, errors, warnings."""

from __future__ import annotations

import codecs

import pytest

from cdf.errors import CdfInputError
from cdf.model import CatalogDefinition, CdfAttribute, CdfMember
from cdf.parser import parse, parse_attribute_text

FLAT = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"


MINIMAL = "[CatalogHeader]\r\nName=x.cat\r\n[CatalogFiles]\r\n"


def _files(*lines: str, header: str = "") -> str:
    return (
        "[CatalogHeader]\r\nName=x.cat\r\n"
        + header
        + "[CatalogFiles]\r\n"
        + "".join(f"{line}\r\n" for line in lines)
    )


def test_every_header_key_and_spacing() -> None:
    text = (
        "# comment\n"
        "  [ catalogheader ]  \n"
        "NAME = my catalog.cat\n"
        "resultdir=C:\\out dir\\=odd\n"
        "PublicVersion=0x0000001\n"
        "CatalogVersion = 2\n"
        "HashAlgorithms= sha1 , SHA256\n"
        "PageHashes=FALSE\n"
        "EncodingType=65537\n"
        "CATATTR1=0x10010001:OSAttr:2:6.1,2:10.0\n"
        "catattr2 = 268500994:1.3.6.1.4.1.311.12.2.1: a:b:c\n"
        "CATATTR3=0x10020001:Blob:AAEC\n"
        "\n"
        "[CATALOGFILES]\n"
    )
    definition = parse(text).definition
    assert definition.name == "my catalog.cat"
    assert definition.result_dir == "C:\\out dir\\=odd"
    assert definition.public_version == 1
    assert definition.catalog_version == 2
    assert definition.hash_algorithms == ("SHA1", "SHA256")
    assert definition.page_hashes is False
    assert definition.encoding_type == 0x00010001
    assert definition.attributes == (
        CdfAttribute(1, 0x10010001, "OSAttr", "2:6.1,2:10.0"),
        CdfAttribute(2, 0x10010002, "1.3.6.1.4.1.311.12.2.1", " a:b:c"),
        CdfAttribute(3, 0x10020001, "Blob", "AAEC"),
    )
    assert definition.attributes[2].stored_value() == b"\x00\x01\x02"
    assert definition.members == ()


def test_empty_header_values_mean_default() -> None:
    text = (
        "[CatalogHeader]\nName=a.cat\nPublicVersion=\nCatalogVersion=\nHashAlgorithms=\n"
        "PageHashes=\nEncodingType=\n[CatalogFiles]\n<HASH>a=a\n"
    )
    definition = parse(text).definition
    assert definition == CatalogDefinition(name="a.cat", members=(CdfMember("a", "a"),))
    assert definition.digest_algorithm == "SHA1"


def test_members_every_form() -> None:
    text = _files(
        "<HASH>C:\\Program Files\\App\\a b.exe=C:\\Program Files\\App\\a b.exe",
        "<hash>lower=..\\files\\x=y.exe",
        "<Hash>MixedALTSIPID=" + FLAT.lower(),
        "<Hash>Mixed=mixed.js",
        "<HASH>MixedATTR2=0X10010001:Second:two",
        "<HASH>MixedATTR1=285278209:File:mixed.js",
        "<HASH>MixedATTR3=0x10020001:Raw:dW5zaWduZWQubXNp",
        "plaintag=plain.txt",
        "plaintagATTR1=0x10010001:File:plain.txt",
        "<HASH>日本語\\ファイル.dll=C:\\Ünïcödé\\日本語.dll",
        "<HASH>日本語\\ファイル.dllATTR1=0x11010001:File:日本語.dll",
        "<HASH>aATTR=no number, so a member",
        "<HASH>bATTR1=no member b, so a member",
    )
    result = parse(text)
    members = result.definition.members
    assert [m.tag for m in members] == [
        "C:\\Program Files\\App\\a b.exe",
        "lower",
        "Mixed",
        "plaintag",
        "日本語\\ファイル.dll",
        "aATTR",
        "bATTR1",
    ]
    assert members[0].path == "C:\\Program Files\\App\\a b.exe"
    assert members[1] == CdfMember("lower", "..\\files\\x=y.exe")
    assert members[2] == CdfMember(
        "Mixed",
        "mixed.js",
        True,
        FLAT.lower(),
        (
            CdfAttribute(2, 0x10010001, "Second", "two"),
            CdfAttribute(1, 0x11010001, "File", "mixed.js"),
            CdfAttribute(3, 0x10020001, "Raw", "dW5zaWduZWQubXNp"),
        ),
    )
    assert members[3] == CdfMember(
        "plaintag", "plain.txt", False, None, (CdfAttribute(1, 0x10010001, "File", "plain.txt"),)
    )
    assert members[4].path == "C:\\Ünïcödé\\日本語.dll"
    assert members[4].attributes[0].stored_value() == "日本語.dll\0".encode("utf-16-le")
    assert [m.line for m in members] == [4, 5, 7, 11, 13, 15, 16]
    assert members[5].path == "no number, so a member"
    assert members[6].path == "no member b, so a member"
    # warnings: plaintag has no <HASH>; Mixed's ATTR numbers are fine (1, 2, 3 in any order)
    assert [w.line for w in result.warnings] == [11]
    assert "no <HASH> prefix" in result.warnings[0].message


def test_attribute_lines_may_precede_their_member() -> None:
    text = _files("<HASH>aATTR1=0x10010001:File:a", "<HASH>a=a.exe")
    assert parse(text).definition.members == (
        CdfMember("a", "a.exe", attributes=(CdfAttribute(1, 0x10010001, "File", "a"),)),
    )


def test_str_input_and_bom_in_str() -> None:
    text = _files("<HASH>a=a.exe")
    assert parse("\ufeff" + text).definition == parse(text.encode()).definition
    assert parse(text).encoding == "str"


def test_non_ascii_utf16_round_trip_of_input() -> None:
    text = _files("<HASH>C:\\Ωμέγα\\файл.exe=C:\\Ωμέγα\\файл.exe", "<HASH>😀=\\\\srv\\s\\😀.js")
    for codec, bom in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)):
        definition = parse(bom + text.encode(codec)).definition
        assert [m.path for m in definition.members] == [
            "C:\\Ωμέγα\\файл.exe",
            "\\\\srv\\s\\😀.js",
        ]


def test_parse_attribute_text() -> None:
    assert parse_attribute_text("0x10010001:OSAttr:2:6.2", 2) == CdfAttribute(
        2, 0x10010001, "OSAttr", "2:6.2"
    )
    with pytest.raises(CdfInputError, match="two ':' needed"):
        parse_attribute_text("OSAttr=2:6.2")


# (text, line, column, fragment of the message)
MALFORMED: list[tuple[str, int, int, str]] = [
    ("[CatalogHeader]\nName=a\n[Foo]\n", 3, 2, "unknown section [Foo]"),
    ("Name=a\n[CatalogHeader]\n", 1, 1, "outside any section"),
    ("just text\n[CatalogHeader]\n", 1, 1, "outside any section"),
    (_files("<HASH>file.exe"), 4, 15, "missing '='"),
    (_files("  <HASH>file.exe  "), 4, 17, "missing '='"),
    ("[CatalogHeader]\nCATATTR1=0xZZ:OSAttr:2:6.0\n", 2, 10, "are not a number"),
    ("[CatalogHeader]\nCATATTR1=0x10010101:OSAttr:2:6.0\n", 2, 10, "undocumented bits"),
    ("[CatalogHeader]\nCATATTR1=0x10030001:OSAttr:2:6.0\n", 2, 10, "both text and base64"),
    ("[CatalogHeader]\nCATATTR1=0x10000001:OSAttr:2:6.0\n", 2, 10, "neither text"),
    ("[CatalogHeader]\nCATATTR1=0x30010001:OSAttr:2:6.0\n", 2, 10, "authenticated and unauth"),
    ("[CatalogHeader]\nCATATTR1=0x10010002:OSAttr:v\n", 2, 21, "not one"),
    ("[CatalogHeader]\nCATATTR1=0x10010001:OSAttr\n", 2, 27, "two ':' needed"),
    ("[CatalogHeader]\nCATATTR1=0x10010001::v\n", 2, 21, "name is empty"),
    ("[CatalogHeader]\nCATATTR1=0x10010001:a:v\nCATATTR01=0x10010001:b:v\n", 3, 1, "twice"),
    ("[CatalogHeader]\nCATATTR=0x10010001:a:v\n", 2, 1, "needs a number"),
    ("[CatalogHeader]\nCATATTR0=0x10010001:a:v\n", 2, 1, "start at 1"),
    (_files("<HASH>a=x", "<hash>A=y"), 5, 1, "repeats '<HASH>a' from line 4"),
    (_files("<HASH>a=x", "a=y"), 5, 1, "repeats"),
    (
        _files("<HASH>a=x", "<HASH>aATTR1=0x10010001:F:v", "<HASH>aATTR01=0x10010001:F:w"),
        6,
        1,
        "ATTR1 of '<HASH>a' is defined twice (first at line 5)",
    ),
    (
        _files("<HASH>a=x", "<HASH>aATTR1=0x10010001:F:v", "<HASH>aattr1=0x10010001:F:w"),
        6,
        1,
        "repeats",
    ),
    (
        _files("<HASH>a=x", "<HASH>aALTSIPID=" + FLAT, "<HASH>aaltsipid=" + FLAT),
        6,
        1,
        "repeats",
    ),
    (
        "[CatalogHeader]\nCatalogVersion=2\nHashAlgorithms=SHA1\n",
        3,
        16,
        "requires HashAlgorithms=SHA256",
    ),
    ("[CatalogHeader]\nCatalogVersion=2\n", 2, 16, "requires HashAlgorithms=SHA256"),
    ("[CatalogHeader]\nHashAlgorithms=SHA256\n", 2, 16, "needs CatalogVersion=2"),
    ("[CatalogHeader]\nCatalogVersion=3\n", 2, 16, "not supported"),
    ("[CatalogHeader]\nCatalogVersion=two\n", 2, 16, "not a number"),
    ("[CatalogHeader]\nCatalogVersion=2\nHashAlgorithms=SHA256, MD5\n", 3, 24, "unknown algorithm"),
    ("[CatalogHeader]\nPageHashes=yes\n", 2, 12, "write true or false"),
    ("[CatalogHeader]\nEncodingType=0x100000000\n", 2, 14, "32 bits"),
    ("[CatalogHeader]\nName=a\nname=b\n", 3, 1, "Name is set twice (first at line 2)"),
    (_files("<HASH>a=x", "<HASH>aATTR1=0x11020001:File:abc"), 5, 30, "not valid base64"),
    (_files("<HASH>a=x", "<HASH>aATTR1=0x11020001:File:YWJj ZA=="), 5, 30, "not valid base64"),
    (_files("<HASH>a="), 4, 9, "has no path"),
    (_files("<HASH>=x"), 4, 1, "has no tag"),
    (_files("=x"), 4, 1, "empty key"),
    (_files("<HASH>a=x", "<HASH>aALTSIPID=DE351A42"), 5, 17, "not a braced GUID"),
    (_files("<HASH>a=x", "aATTR1=0x10010001:F:v"), 5, 1, "write <HASH>aATTR1"),
    (
        _files("<HASH>a=x", "<HASH>aATTR1=0x10010001:F:v", "<HASH>aATTR1ATTR1=0x10010001:F:v"),
        6,
        1,
        "itself an ATTR/ALTSIPID line",
    ),
    ("[CatalogHeader\nName=a\n", 1, 15, "not closed"),
    ("[CatalogHeader]\n[CatalogFiles]\n[catalogheader]\n", 3, 1, "appears again (first at line 1)"),
    ("[CatalogFiles]\n<HASH>a=b\n", 1, 1, "no [CatalogHeader]"),
    ("# only a comment\r\n\r\n", 1, 1, "no [CatalogHeader]"),
    ("", 1, 1, "empty"),
    ("[CatalogHeader]\nName=a\x00b\n", 2, 7, "NUL"),
]


@pytest.mark.parametrize(("text", "line", "column", "fragment"), MALFORMED)
def test_malformed(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(CdfInputError) as info:
        parse(text.encode("utf-8"), source="bad.cdf")
    error = info.value
    assert fragment in error.message
    assert (error.line, error.column) == (line, column)
    assert str(error).startswith(f"bad.cdf, line {line}, column {column}: ")


def test_line_numbers_count_crlf_and_utf16() -> None:
    text = "[CatalogHeader]\r\n\r\n# c\r\nName=a\r\n[Other]\r\n"
    for data in (text.encode(), codecs.BOM_UTF16_LE + text.encode("utf-16-le")):
        with pytest.raises(CdfInputError) as info:
            parse(data)
        assert (info.value.line, info.value.column) == (5, 2)


def test_invalid_utf8_names_the_position() -> None:
    with pytest.raises(CdfInputError) as info:
        parse(b"[CatalogHeader]\r\nName=caf\xe9.cat\r\n", source="latin1.cdf")
    assert (info.value.line, info.value.column) == (2, 9)
    assert "not valid UTF-8" in info.value.message
    assert "e9" in info.value.message


def test_truncated_utf16() -> None:
    data = codecs.BOM_UTF16_LE + "[CatalogHeader]\n".encode("utf-16-le") + b"N"
    with pytest.raises(CdfInputError, match="UTF-16"):
        parse(data)


def test_warnings() -> None:
    text = (
        "[CatalogHeader]\n"
        "; semicolon comment\n"
        "; another one (warned once)\n"
        "Bogus=1\n"
        "CATATTR2=0x10010001:OSAttr:2:6.2\n"
        "[CatalogFiles]\n"
        "<HASH>a=a.exe\n"
        "<HASH>aATTR1=0x10010001:File:a.exe\n"
        "<HASH>aATTR3=0x10010001:More:x\n"
        "plain=p.txt"  # no newline at the end
    )
    result = parse(text)
    got = [(w.line, w.column, w.message.split(" ")[0]) for w in result.warnings]
    assert got == [
        (2, 1, "';'"),
        (4, 1, "unknown"),
        (1, 1, "no"),  # no Name
        (5, 1, "CATATTR"),  # numbers [2]
        (10, 1, "member"),  # plain has no <HASH>
        (8, 1, "<HASH>a"),  # ATTR numbers [1, 3]
        (10, 12, "the"),  # no final newline
    ]
    assert str(result.warnings[0]).startswith("line 2, column 1: ")
    assert (
        parse("[CatalogHeader]\nName=a\n")
        .warnings[0]
        .message.startswith("no [CatalogFiles] section")
    )
    assert parse(MINIMAL).warnings[0].message == "[CatalogFiles] lists no members"


def test_twenty_thousand_members() -> None:
    """A big Package Inspector-sized definition parses (timed by hand, not here)."""
    lines = ["[CatalogHeader]", "Name=big.cat", "CatalogVersion=2", "HashAlgorithms=SHA256"]
    lines.append("[CatalogFiles]")
    for i in range(20_000):
        path = f"C:\\Program Files\\Big App\\dir{i % 97}\\file{i:05d}.dll"
        lines.append(f"<HASH>{path}={path}")
        lines.append(f"<HASH>{path}ATTR1=0x11010001:File:file{i:05d}.dll")
    definition = parse("\r\n".join(lines) + "\r\n").definition
    assert len(definition.members) == 20_000
    assert definition.members[12_345].path.endswith("\\file12345.dll")
    assert definition.members[12_345].attributes[0].value == "file12345.dll"


def test_blanks_after_hash_prefix_are_not_part_of_the_tag() -> None:
    members = parse(_files("<HASH>  b  =  spaced path\\x.exe  ")).definition.members
    assert members == (CdfMember("b", "spaced path\\x.exe"),)


def test_lone_surrogate_in_str_input() -> None:
    with pytest.raises(CdfInputError, match="surrogate") as info:
        parse("[CatalogHeader]\nName=a\ud800\n")
    assert (info.value.line, info.value.column) == (2, 7)


def test_same_path_twice_is_a_warning() -> None:
    result = parse(_files("<HASH>a=C:\\App\\x.exe", "<HASH>b=c:/app/X.EXE"))
    assert len(result.definition.members) == 2
    assert [(w.line, w.column) for w in result.warnings] == [(5, 9)]
    assert "listed again (first at line 4)" in result.warnings[0].message

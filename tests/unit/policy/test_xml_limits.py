"""Hostile policy files (issue 11 items 11, 13): XML depth, DTDs, sizes, element count, encodings.

Every refusal is a ``PolicyInputError`` (exit 3) naming the file and the line; nothing recurses
without bound, nothing expands entities. The accepted encodings must give the same model as the
UTF-8 original (the model read from the UTF-8 bytes is the reference; the comparison itself does
not depend on what the reader computes for either).
"""

from __future__ import annotations

import codecs

import pytest

import policy.xml.parse as parse_module
from policy.errors import PolicyInputError
from policy.xml import MAX_DEPTH, MAX_XML_BYTES, looks_like_xml, read_policy_xml

HEAD = '<?xml version="1.0" encoding="{enc}"?>\r\n'
BODY = (
    '<SiPolicy xmlns="urn:schemas-microsoft-com:sipolicy" PolicyType="Base Policy"'
    ' FriendlyName="Grüße ✓">\r\n'
    "  <VersionEx>1.0.0.0</VersionEx>\r\n"
    "  <PlatformID>{2E07F7E4-194C-4D20-B7C9-6F44A6C5A234}</PlatformID>\r\n"
    "  <PolicyID>{11111111-1111-1111-1111-111111111111}</PolicyID>\r\n"
    "  <BasePolicyID>{11111111-1111-1111-1111-111111111111}</BasePolicyID>\r\n"
    "  <Rules />{extra}\r\n"
    "</SiPolicy>"
)


def document(extra: str = "", enc: str = "utf-8") -> str:
    return HEAD.format(enc=enc) + BODY.replace("{extra}", extra)


def nested(levels: int) -> str:
    return "<Deep>" * levels + "</Deep>" * levels


def test_deep_nesting_is_bad_input_naming_file_and_line() -> None:
    # 100,000 levels: the recursive model builder raised RecursionError before.
    data = document("\r\n" + nested(100_000)).encode("utf-8")
    with pytest.raises(PolicyInputError) as info:
        read_policy_xml(data, "deep.xml")
    message = str(info.value)
    assert message.startswith("deep.xml: line 8:")  # the line where <Deep> starts
    assert f"deeper than {MAX_DEPTH}" in message


def test_nesting_up_to_the_limit_is_kept() -> None:
    # SiPolicy is level 1, so MAX_DEPTH - 1 levels of an unknown child still fit.
    ok = read_policy_xml(document(nested(MAX_DEPTH - 1)).encode(), "ok.xml")
    node = ok.extra_children[0]
    depth = 1
    while node.children:
        (node,) = node.children
        depth += 1
    assert depth == MAX_DEPTH - 1
    with pytest.raises(PolicyInputError, match="deeper than"):
        read_policy_xml(document(nested(MAX_DEPTH)).encode(), "over.xml")


BILLION_LAUGHS = (
    '<!DOCTYPE SiPolicy [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]>"
)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-16-be"])
def test_dtds_and_entities_are_refused_in_every_encoding(codec: str) -> None:
    # UTF-16 hid the DOCTYPE from a byte search: the entity was expanded into the policy.
    text = document().replace("<SiPolicy ", BILLION_LAUGHS + "<SiPolicy ", 1)
    text = text.replace('FriendlyName="Grüße ✓"', 'FriendlyName="&i;"')
    data = text.replace('encoding="utf-8"', f'encoding="{codec}"').encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    with pytest.raises(PolicyInputError) as info:
        read_policy_xml(data, "laughs.xml")
    assert "laughs.xml: line 2:" in str(info.value)
    assert "DOCTYPE" in str(info.value)


def test_a_document_over_the_size_limit_is_refused_before_parsing() -> None:
    data = document().encode() + b" " * (MAX_XML_BYTES + 1 - len(document().encode()))
    assert len(data) == MAX_XML_BYTES + 1
    with pytest.raises(PolicyInputError, match=r"big\.xml: .* bytes is more than"):
        read_policy_xml(data, "big.xml")


def test_element_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_module, "MAX_ELEMENTS", 50)
    many = "".join("<Extra />" for _ in range(60))
    with pytest.raises(PolicyInputError, match=r"many\.xml: line 7: more than 50 elements"):
        read_policy_xml(document(many).encode(), "many.xml")


def _encodings() -> list[tuple[str, bytes]]:
    utf16 = document(enc="utf-16")
    return [
        ("utf-8 BOM", codecs.BOM_UTF8 + document().encode("utf-8")),
        ("utf-16 LE BOM", codecs.BOM_UTF16_LE + utf16.encode("utf-16-le")),
        ("utf-16 BE BOM", codecs.BOM_UTF16_BE + utf16.encode("utf-16-be")),
        ("utf-16 LE, no BOM", utf16.encode("utf-16-le")),
        ("utf-16 BE, no BOM", utf16.encode("utf-16-be")),
        ("utf-32 BOM", document(enc="utf-32").encode("utf-32")),
        ("windows-1252", document(enc="windows-1252").replace(" ✓", "").encode("cp1252")),
    ]


@pytest.mark.parametrize(("label", "data"), _encodings(), ids=[e[0] for e in _encodings()])
def test_every_xml_encoding_reads_like_utf8(label: str, data: bytes) -> None:
    reference_text = document()
    if label == "windows-1252":
        reference_text = reference_text.replace(" ✓", "")
    reference = read_policy_xml(reference_text.encode("utf-8"), "utf8.xml")
    assert looks_like_xml(data)
    assert read_policy_xml(data, label) == reference


@pytest.mark.parametrize(
    "head",
    [b"\x07\x00\x00\x00", b"\x08\x00\x00\x00", b"\x30\x82\x01\x00", b"", b"\x00\x00\x00\x00"],
)
def test_binary_policies_are_not_taken_for_xml(head: bytes) -> None:
    assert not looks_like_xml(head + b"\x00" * 60)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (document(enc="utf-16").encode("utf-8"), "says utf-16 but the file has no byte order mark"),
        (document(enc="klingon").encode("utf-8"), "unknown encoding 'klingon'"),
        (document().encode("utf-8").replace(b"Gr\xc3\xbc", b"Gr\xfc"), "line 2 (byte offset"),
    ],
)
def test_encoding_errors_name_file_and_line(data: bytes, fragment: str) -> None:
    with pytest.raises(PolicyInputError) as info:
        read_policy_xml(data, "enc.xml")
    assert str(info.value).startswith("enc.xml: line")
    assert fragment in str(info.value)


def test_a_binary_over_the_size_limit_is_refused_before_reading() -> None:
    from policy.binary import MAX_BINARY_BYTES, decompile_policy

    data = b"\x08\x00\x00\x00" + b"\x00" * MAX_BINARY_BYTES
    with pytest.raises(PolicyInputError, match=r"huge\.cip: .* bytes is more than"):
        decompile_policy(data, "huge.cip")

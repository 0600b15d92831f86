"""Policy XML bytes -> an element tree, safely: encoding sniffing, no DTDs, bounded size and depth.

sipolicy.md section 2.1: Microsoft's tools write UTF-8 (the block-list files with a BOM), but a
policy edited in Windows PowerShell 5.1 (``Out-File``, ``>``, ``Set-Content -Encoding Unicode``) is
saved as UTF-16 with a BOM, so the encoding is decided as the XML specification's appendix F does:
byte order mark first, then the first characters of the declaration, then its ``encoding=``.
``looks_like_xml`` makes that decision for callers that must tell a policy XML from a binary policy
(a raw binary starts with its format version 07/08 00 00 00, a signed one with 0x30; neither can be
mistaken for a BOM or ``<``).

Everything in a policy file is attacker-controlled when a policy comes from elsewhere, so the
parser refuses what a policy never needs: any document type declaration (entity expansion, "billion
laughs", external entities), documents over ``MAX_XML_BYTES``, nesting deeper than ``MAX_DEPTH``
and more than ``MAX_ELEMENTS`` elements. Each refusal is a ``PolicyInputError`` naming the file and
the line.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

from policy.errors import PolicyInputError

MAX_XML_BYTES = 32 * 1024 * 1024
"""Largest policy XML accepted: Microsoft's 1869-rule block list is 0.54 MB."""
MAX_DEPTH = 32
"""Deepest element nesting accepted. The schema's deepest path has 7 levels (SiPolicy,
SigningScenarios, SigningScenario, ProductSigners, AllowedSigners, AllowedSigner,
ExceptDenyRule); the rest leaves room for elements of newer schemas kept verbatim."""
MAX_ELEMENTS = 1_000_000
"""Most elements accepted in one document (the block list has 4,833)."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Appendix F without a byte order mark: '<' (or '<?') in a 16-bit encoding.
_NO_BOM_16 = ((b"<\0", "utf-16-le"), (b"\0<", "utf-16-be"))
_DECLARED = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_WHITESPACE = b" \t\r\n"


def sniff_encoding(data: bytes) -> tuple[str, int] | None:
    """``(codec, BOM length)`` when ``data`` starts like an XML document, else ``None``.

    A byte order mark decides; without one, ``<`` in a 16-bit layout does; otherwise the text is
    8-bit and its declaration's ``encoding=`` (default UTF-8) names the codec.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    for start, codec in _NO_BOM_16:
        if data.startswith(start):
            return codec, 0
    text = data.lstrip(_WHITESPACE)
    if text[:1] != b"<":
        return None
    declared = _DECLARED.match(text)
    return (declared.group(1).decode("ascii") if declared else "utf-8"), 0


def looks_like_xml(data: bytes) -> bool:
    """Whether a policy file is XML (any encoding) rather than a raw or signed binary policy."""
    return sniff_encoding(data) is not None


def decode_xml(data: bytes, source: str) -> str:
    """The document's text, decoded as its BOM or declaration says (section 2.1)."""
    sniffed = sniff_encoding(data)
    if sniffed is None:
        raise PolicyInputError(
            f"{source}: not an XML document (it does not start with '<' or a byte order mark)"
        )
    codec, skip = sniffed
    try:
        info = codecs.lookup(codec)
    except LookupError:
        raise PolicyInputError(
            f"{source}: line 1: unknown encoding {codec!r} in the XML declaration; save the "
            "policy as UTF-8"
        ) from None
    eight_bit = skip == 0 and not data.startswith(tuple(s for s, _ in _NO_BOM_16))
    if eight_bit and info.name.startswith(("utf-16", "utf-32")):
        raise PolicyInputError(
            f"{source}: line 1: the declaration says {codec} but the file has no byte order mark "
            "and is stored as 8-bit text; fix the declaration or save the file as UTF-8"
        )
    try:
        return info.decode(data[skip:])[0]
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = data[:offset].count(b"\n") + 1
        raise PolicyInputError(
            f"{source}: line {line} (byte offset {offset}): not valid {info.name} text; save "
            "the policy as UTF-8"
        ) from None


class _RefusedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_xml(data: bytes, source: str) -> ET.Element:
    """The root element of a policy document, or ``PolicyInputError`` naming file and line."""
    if len(data) > MAX_XML_BYTES:
        raise PolicyInputError(
            f"{source}: {len(data):,} bytes is more than the {MAX_XML_BYTES:,} a policy XML may "
            "have; this is not a policy (split it, or check what was given)"
        )
    text = decode_xml(data, source).removeprefix("\ufeff")
    parser = expat.ParserCreate(encoding="utf-8", namespace_separator="}")
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()
    depth = 0
    elements = 0

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def start(tag: str, attrs: list[str]) -> None:
        nonlocal depth, elements
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise _RefusedError(
                f"elements nest deeper than {MAX_DEPTH} levels (a SiPolicy needs 7); refused"
            )
        if elements > MAX_ELEMENTS:
            raise _RefusedError(f"more than {MAX_ELEMENTS:,} elements; refused")
        pairs = iter(attrs)
        builder.start(name(tag), {name(k): v for k, v in zip(pairs, pairs, strict=True)})

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(name(tag))

    def doctype(*_: object) -> None:
        raise _RefusedError(
            "a DOCTYPE declaration is not allowed in a policy (no DTD, no entities); remove it"
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(text.encode("utf-8"), True)
    except _RefusedError as refused:
        raise PolicyInputError(
            f"{source}: line {parser.CurrentLineNumber}: {refused.message}"
        ) from None
    except expat.ExpatError as exc:
        raise PolicyInputError(
            f"{source}: malformed XML at line {exc.lineno}, column {exc.offset + 1}: "
            f"{expat.ErrorString(exc.code)}"
        ) from None
    return builder.close()

"""The package's one DER codec (X.690): encoders, and a zero-copy tag-length-value reader.

Catalogs must match MakeCat to the byte (explicit NULLs, DER SET OF sorting, a CTL that sits
directly under ``[0]`` rather than in an OCTET STRING; formats.md 4.1-4.3), signatures are
hand-assembled so the same inputs give the same bytes (formats.md 6.1), building 10,000 members
must take well under a second, and a reader must name the byte offset where a damaged file stops
making sense. A schema library gives none of these cheaply, so the catalog builder, the catalog
reader, the PKCS#7 signer/parser and the embedded-signature decoder all use this module.

Encoders return complete TLVs as ``bytes``. The reader works on ``bytes`` or ``memoryview`` without
copying: a ``Tlv`` is four integers into the caller's buffer. Only definite lengths and single-byte
tags are accepted (DER forbids the indefinite form; no catalog or Authenticode structure uses a tag
number above 30). Every failure is a ``DerError`` (a ``CatalogInputError``) naming the offset and,
when the caller said, what was expected there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.errors import CatalogInputError

Buffer = bytes | memoryview

TAG_BOOLEAN = 0x01
TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_UTC_TIME = 0x17
TAG_GENERALIZED_TIME = 0x18
TAG_BMP_STRING = 0x1E
TAG_SEQUENCE = 0x30
TAG_SET = 0x31

# --- encoding ------------------------------------------------------------------------------------


def der_length(n: int) -> bytes:
    """The DER length octets for ``n`` content bytes (short form below 128, else minimal long)."""
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def der_tlv(tag: int, content: bytes) -> bytes:
    """One TLV with a single-byte ``tag`` (every tag the catalog formats use fits in one byte)."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + der_length(n) + content


def der_sequence(*parts: bytes) -> bytes:
    return der_tlv(TAG_SEQUENCE, b"".join(parts))


def der_set_of(parts: Sequence[bytes], tag: int = TAG_SET) -> bytes:
    """A DER ``SET OF``: the element encodings sorted as octet strings (X.690 11.6).

    ``tag`` allows an IMPLICIT context tag over a SET OF (unauthenticatedAttributes ``[1]``).
    """
    return der_tlv(tag, b"".join(sorted(parts)))


def der_octet_string(value: bytes) -> bytes:
    return der_tlv(TAG_OCTET_STRING, value)


def der_integer(value: int) -> bytes:
    """Minimal two's-complement INTEGER (``0x80`` -> ``02 02 00 80``, ``-128`` -> ``02 01 80``)."""
    length = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return der_tlv(TAG_INTEGER, value.to_bytes(length, "big", signed=True))


DER_NULL = b"\x05\x00"


def der_bmp_string(text: str) -> bytes:
    """BMPString: UTF-16 big-endian, no terminator (CAT_NAMEVALUE tags, MEMBERINFO GUIDs)."""
    return der_tlv(TAG_BMP_STRING, text.encode("utf-16-be"))


_OID_CACHE: dict[str, bytes] = {}


def der_oid_content(dotted: str) -> bytes:
    """The contents octets of an OBJECT IDENTIFIER (X.690 8.19); ``ValueError`` when ``dotted``
    is not one."""
    try:
        arcs = [int(a) for a in dotted.split(".")]
    except ValueError:
        raise ValueError(f"not an object identifier: {dotted!r}") from None
    if len(arcs) < 2 or min(arcs) < 0 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise ValueError(f"not an object identifier: {dotted!r}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return bytes(body)


def der_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER TLV from its dotted form (cached: catalogs repeat a handful of OIDs)."""
    cached = _OID_CACHE.get(dotted)
    if cached is not None:
        return cached
    encoded = der_tlv(TAG_OID, der_oid_content(dotted))
    if len(_OID_CACHE) < 1024:
        _OID_CACHE[dotted] = encoded
    return encoded


def der_algorithm_identifier(dotted: str) -> bytes:
    """AlgorithmIdentifier with explicit NULL parameters, as MakeCat and Windows write them."""
    return der_sequence(der_oid(dotted), DER_NULL)


def der_attribute(oid: str, value: bytes) -> bytes:
    """X.501 ``Attribute { type, SET OF value }`` with a single (already encoded) value."""
    return der_sequence(der_oid(oid), der_tlv(TAG_SET, value))


def der_time(when: dt.datetime) -> bytes:
    """RFC 5280 Time: UTCTime for 1950-2049, else GeneralizedTime; UTC, whole seconds."""
    utc = when.astimezone(dt.UTC)
    if 1950 <= utc.year < 2050:
        return der_tlv(TAG_UTC_TIME, utc.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return der_tlv(TAG_GENERALIZED_TIME, f"{utc.year:04d}{utc:%m%d%H%M%S}Z".encode("ascii"))


# --- decoding ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tlv:
    """One DER element in a buffer: its tag byte, where it starts, where its contents start/end."""

    tag: int
    start: int
    content_start: int
    end: int

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


class DerError(CatalogInputError):
    """Malformed DER at ``offset``; callers add the file name (``CatalogInputError`` branch)."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"at byte offset {offset}: {message}")
        self.offset = offset


_TAG_NAMES = {
    TAG_BOOLEAN: "BOOLEAN",
    TAG_INTEGER: "INTEGER",
    TAG_BIT_STRING: "BIT STRING",
    TAG_OCTET_STRING: "OCTET STRING",
    TAG_NULL: "NULL",
    TAG_OID: "OBJECT IDENTIFIER",
    TAG_UTC_TIME: "UTCTime",
    TAG_GENERALIZED_TIME: "GeneralizedTime",
    TAG_BMP_STRING: "BMPString",
    TAG_SEQUENCE: "SEQUENCE",
    TAG_SET: "SET",
}


def tag_name(tag: int) -> str:
    """A readable name for a tag byte (``[0] constructed`` for context tags)."""
    name = _TAG_NAMES.get(tag)
    if name is not None:
        return name
    if tag & 0xC0 == 0x80:
        kind = "constructed" if tag & 0x20 else "primitive"
        return f"[{tag & 0x1F}] {kind}"
    return f"tag 0x{tag:02X}"


def _label(what: str) -> str:
    return f" ({what})" if what else ""


def read_tlv(
    data: Buffer, offset: int, limit: int | None = None, expected: int | None = None, what: str = ""
) -> Tlv:
    """Decode the element at ``offset`` that must end by ``limit`` (default: the buffer's end).

    ``expected`` checks the tag; ``what`` names the element in messages. Hot path of the catalog
    reader: messages are only formatted on failure.
    """
    if limit is None:
        limit = len(data)
    if offset >= limit:
        want = tag_name(expected) if expected is not None else "a DER element"
        raise DerError(offset, f"expected {want}{_label(what)}, found the end of its container")
    tag = data[offset]
    if expected is not None and tag != expected:
        raise DerError(
            offset, f"expected {tag_name(expected)}{_label(what)}, found {tag_name(tag)}"
        )
    if tag & 0x1F == 0x1F:
        raise DerError(offset, f"multi-byte tag 0x{tag:02X}{_label(what)} is not supported")
    if offset + 1 >= limit:
        raise DerError(offset, f"truncated header: no length octet{_label(what)}")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DerError(offset, f"indefinite length{_label(what)} is not DER")
    else:
        count = first & 0x7F
        if count > 4:
            raise DerError(offset, f"{count}-octet length{_label(what)} is too large")
        if pos + count > limit:
            raise DerError(offset, f"truncated length{_label(what)}")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > limit:
        raise DerError(
            offset,
            f"{tag_name(tag)}{_label(what)} claims {length} content bytes but only "
            f"{limit - pos} remain (truncated file?)",
        )
    return Tlv(tag, offset, pos, end)


def children(data: Buffer, parent: Tlv, expected: int | None = None, what: str = "") -> list[Tlv]:
    """The elements inside ``parent``, in order; ``expected`` checks the parent's own tag first."""
    if expected is not None and parent.tag != expected:
        raise DerError(
            parent.start,
            f"expected {tag_name(expected)}{_label(what)}, found {tag_name(parent.tag)}",
        )
    out: list[Tlv] = []
    pos = parent.content_start
    end = parent.end
    while pos < end:
        child = read_tlv(data, pos, end, None, what)
        out.append(child)
        pos = child.end
    return out


_OID_NAMES: dict[bytes, str] = {}


def decode_oid(content: Buffer) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content octets; ``ValueError`` when malformed."""
    key = bytes(content)
    cached = _OID_NAMES.get(key)
    if cached is not None:
        return cached
    if not key or key[-1] & 0x80:
        raise ValueError("truncated object identifier")
    arcs: list[int] = []
    value = 0
    for byte in key:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    dotted = ".".join(str(a) for a in head + arcs[1:])
    if len(_OID_NAMES) < 1024:  # catalogs repeat a handful; a hostile file cannot grow this
        _OID_NAMES[key] = dotted
    return dotted


def oid_of(data: Buffer, tlv: Tlv, what: str = "") -> str:
    """The dotted OID held by ``tlv``; ``DerError`` if it is not a well-formed OBJECT IDENTIFIER."""
    if tlv.tag != TAG_OID:
        raise DerError(
            tlv.start, f"expected OBJECT IDENTIFIER{_label(what)}, found {tag_name(tlv.tag)}"
        )
    try:
        return decode_oid(data[tlv.content_start : tlv.end])
    except ValueError as exc:
        raise DerError(tlv.start, f"{exc}{_label(what)}") from None


def read_oid(data: Buffer, offset: int, limit: int, what: str = "") -> tuple[str, Tlv]:
    """Read the OBJECT IDENTIFIER at ``offset``: its dotted form and its ``Tlv``."""
    tlv = read_tlv(data, offset, limit, TAG_OID, what)
    return oid_of(data, tlv, what), tlv

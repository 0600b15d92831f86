"""ASN.1 schemas, OIDs and a minimal DER codec for Authenticode and catalogs (formats.md 2.3, 4, 6).

The only module that imports signify. Only ``signify.asn1.*`` is used: ``signify.authenticode``
imports oscrypto, which fails on OpenSSL >= 3.0.10, so it must never be imported by the product.

The DER codec at the end (``der_*`` encoders, ``DerReader``) is what the catalog builder and reader
use: catalogs must match MakeCat to the byte (explicit NULLs, DER SET sorting, a CTL that sits
directly under ``[0]``), building 10,000 members must take well under a second, and a reader must
name the byte offset where a damaged file stops making sense - a general schema library gives
none of the three cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from signify.asn1 import ctl as _ctl
from signify.asn1 import spc as _spc

# Authenticode (SPC) structures.
SpcIndirectDataContent = _spc.SpcIndirectDataContent
SpcPeImageData = _spc.SpcPeImageData
SpcLink = _spc.SpcLink
SpcSerializedObject = _spc.SpcSerializedObject
SpcString = _spc.SpcString
SpcSpOpusInfo = _spc.SpcSpOpusInfo
SpcStatementType = _spc.SpcStatementType

# Catalog (CTL) structures.
CertificateTrustList = _ctl.CertificateTrustList
TrustedSubject = _ctl.TrustedSubject

# Object identifiers (dotted strings) used across the package.
OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
OID_SPC_PE_IMAGE_DATA = "1.3.6.1.4.1.311.2.1.15"
OID_SPC_CAB_DATA = "1.3.6.1.4.1.311.2.1.25"
OID_PAGE_HASHES_V1 = "1.3.6.1.4.1.311.2.3.1"
OID_PAGE_HASHES_V2 = "1.3.6.1.4.1.311.2.3.2"
OID_CTL = "1.3.6.1.4.1.311.10.1"
OID_CATALOG_LIST = "1.3.6.1.4.1.311.12.1.1"
OID_CATALOG_LIST_MEMBER = "1.3.6.1.4.1.311.12.1.2"
OID_CATALOG_LIST_MEMBER2 = "1.3.6.1.4.1.311.12.1.3"
OID_CAT_NAMEVALUE = "1.3.6.1.4.1.311.12.2.1"
OID_CAT_MEMBERINFO = "1.3.6.1.4.1.311.12.2.2"
OID_CAT_MEMBERINFO2 = "1.3.6.1.4.1.311.12.2.3"
OID_SHA1 = "1.3.14.3.2.26"
OID_SHA256 = "2.16.840.1.101.3.4.2.1"
# The class id of the serialized page-hash moniker, in RFC 4122 (big-endian) byte order.
SPC_PAGE_HASH_CLASS_ID = bytes.fromhex("a6b586d5b4a12466ae05a217da8e60d6")
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
# The data.type MakeCat wrote for the CAB member of a v2 catalog (formats.md 4.3, observed only).
OID_SPC_CAB_PAGE_DATA = "1.3.6.1.4.1.311.2.1.28"

# SIP subject GUIDs as written in v1 CAT_MEMBERINFO (uppercase, braces; formats.md 4.3).
SIP_GUID_PE = "{C689AAB8-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_CAB = "{C689AABA-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_FLAT = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"
# CAT_MEMBERINFO2: an empty context-tagged primitive; the tag number names the SIP (formats.md 4.3).
MEMBERINFO2_PE = 0
MEMBERINFO2_CAB = 1
MEMBERINFO2_FLAT = 2

# ---------------------------------------------------------------------------------------------
# Minimal DER codec (X.690). Encoders return complete TLVs as bytes.

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


def der_set_of(parts: list[bytes] | tuple[bytes, ...]) -> bytes:
    """A DER ``SET OF``: the element encodings sorted as octet strings (X.690 11.6)."""
    return der_tlv(TAG_SET, b"".join(sorted(parts)))


def der_octet_string(value: bytes) -> bytes:
    return der_tlv(TAG_OCTET_STRING, value)


def der_integer(value: int) -> bytes:
    """Minimal two's-complement INTEGER (``0x10010001`` -> ``02 04 10 01 00 01``)."""
    length = value.bit_length() // 8 + 1
    return der_tlv(TAG_INTEGER, value.to_bytes(length, "big", signed=True))


def der_null() -> bytes:
    return b"\x05\x00"


def der_bmp_string(text: str) -> bytes:
    """BMPString: UTF-16 big-endian, no terminator (CAT_NAMEVALUE tags, MEMBERINFO GUIDs)."""
    return der_tlv(TAG_BMP_STRING, text.encode("utf-16-be"))


_OID_CACHE: dict[str, bytes] = {}


def der_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER TLV from its dotted form (cached: catalogs repeat a handful of OIDs)."""
    cached = _OID_CACHE.get(dotted)
    if cached is not None:
        return cached
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise ValueError(f"not an object identifier: {dotted!r}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    encoded = der_tlv(TAG_OID, bytes(body))
    _OID_CACHE[dotted] = encoded
    return encoded


def decode_oid(content: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content octets; ``ValueError`` when malformed."""
    if not content or content[-1] & 0x80:
        raise ValueError("truncated object identifier")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def der_algorithm_identifier(dotted: str) -> bytes:
    """AlgorithmIdentifier with explicit NULL parameters, as MakeCat and Windows write them."""
    return der_sequence(der_oid(dotted), der_null())


@dataclass(frozen=True, slots=True)
class Tlv:
    """One decoded TLV: its tag byte and where its header and content sit in the buffer."""

    tag: int
    start: int
    content_start: int
    end: int

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


class DerError(ValueError):
    """Malformed DER at ``offset``; the catalog reader turns it into a ``CatalogInputError``."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"at byte offset {offset}: {message}")
        self.offset = offset


_TAG_NAMES = {
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
    if tag in _TAG_NAMES:
        return _TAG_NAMES[tag]
    if tag & 0xC0 == 0x80:
        kind = "constructed" if tag & 0x20 else "primitive"
        return f"[{tag & 0x1F}] {kind}"
    return f"tag 0x{tag:02X}"


class DerReader:
    """Walks DER in a buffer without copying; every failure names the offset (``DerError``).

    Only definite lengths and single-byte tags are accepted: DER forbids the indefinite form, and
    no catalog structure uses a tag number above 30.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, offset: int, limit: int, expected: int | None = None, what: str = "") -> Tlv:
        """Decode the TLV at ``offset`` that must end by ``limit``; check its tag if given."""
        data = self.data
        label = f" ({what})" if what else ""
        if offset >= limit:
            want = tag_name(expected) if expected is not None else "a DER element"
            raise DerError(offset, f"expected {want}{label}, found the end of its container")
        tag = data[offset]
        if tag & 0x1F == 0x1F:
            raise DerError(offset, f"multi-byte tag 0x{tag:02X}{label} is not used by catalogs")
        if expected is not None and tag != expected:
            raise DerError(offset, f"expected {tag_name(expected)}{label}, found {tag_name(tag)}")
        if offset + 1 >= limit:
            raise DerError(offset + 1, f"truncated: no length octet{label}")
        first = data[offset + 1]
        pos = offset + 2
        if first < 0x80:
            length = first
        elif first == 0x80:
            raise DerError(offset + 1, f"indefinite length{label} is not DER")
        else:
            count = first & 0x7F
            if count > 4 or pos + count > limit:
                raise DerError(offset + 1, f"truncated or oversized length{label}")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        end = pos + length
        if end > limit:
            raise DerError(
                offset,
                f"{tag_name(tag)}{label} claims {length} content bytes but only "
                f"{limit - pos} remain (truncated file?)",
            )
        return Tlv(tag, offset, pos, end)

    def children(self, parent: Tlv) -> list[Tlv]:
        """The TLVs inside a constructed element, in order."""
        out: list[Tlv] = []
        pos = parent.content_start
        while pos < parent.end:
            child = self.read(pos, parent.end)
            out.append(child)
            pos = child.end
        return out

    def content(self, tlv: Tlv) -> bytes:
        return self.data[tlv.content_start : tlv.end]

    def raw(self, tlv: Tlv) -> bytes:
        return self.data[tlv.start : tlv.end]

    def oid(self, offset: int, limit: int, what: str = "") -> tuple[str, Tlv]:
        tlv = self.read(offset, limit, TAG_OID, what)
        try:
            return decode_oid(self.content(tlv)), tlv
        except ValueError as exc:
            raise DerError(offset, f"{exc}{f' ({what})' if what else ''}") from None

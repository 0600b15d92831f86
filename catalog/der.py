"""A minimal DER reader: tag-length-value walking over a buffer, without copying.

Used where a schema library would get in the way: PKCS#7 ``content [0] EXPLICIT ANY`` holding a
bare SEQUENCE (Authenticode and catalogs), which asn1crypto's CMS classes expect as an OCTET STRING
(formats.md 4.1). Only definite lengths (DER) are accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from catalog.errors import CatalogInputError


@dataclass(frozen=True, slots=True)
class Tlv:
    """One DER element: its tag byte, where it starts, where its contents start and end."""

    tag: int
    start: int
    content_start: int
    end: int

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


def read_tlv(data: bytes | memoryview, offset: int, limit: int | None = None) -> Tlv:
    """Read the element at ``offset``; ``CatalogInputError`` naming the offset if malformed."""
    end_limit = len(data) if limit is None else limit
    if offset + 2 > end_limit:
        raise CatalogInputError(f"DER element at offset {offset}: truncated header")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise CatalogInputError(f"DER element at offset {offset}: multi-byte tags are unsupported")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise CatalogInputError(
                f"DER element at offset {offset}: unsupported length encoding {first:#04x}"
            )
        if pos + count > end_limit:
            raise CatalogInputError(f"DER element at offset {offset}: truncated length")
        length = int.from_bytes(bytes(data[pos : pos + count]), "big")
        pos += count
    if pos + length > end_limit:
        raise CatalogInputError(
            f"DER element at offset {offset}: length {length} runs past the end of its container "
            f"(offset {end_limit})"
        )
    return Tlv(tag, offset, pos, pos + length)


def children(data: bytes | memoryview, parent: Tlv) -> Iterator[Tlv]:
    """The elements inside a constructed element, in order."""
    pos = parent.content_start
    while pos < parent.end:
        child = read_tlv(data, pos, parent.end)
        yield child
        pos = child.end


def child_list(data: bytes | memoryview, parent: Tlv, expected_tag: int | None = None) -> list[Tlv]:
    """``children`` as a list, optionally checking the parent's tag first."""
    if expected_tag is not None and parent.tag != expected_tag:
        raise CatalogInputError(
            f"DER element at offset {parent.start}: tag {parent.tag:#04x}, "
            f"expected {expected_tag:#04x}"
        )
    return list(children(data, parent))

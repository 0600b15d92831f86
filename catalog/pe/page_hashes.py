"""The page-hash table's wire forms (formats.md 2.2, 2.3): the one encoder and the one decoder.

Binary table: ``u32le offset || digest`` per entry, terminator included (what catalogs and
signatures store). Moniker: SpcPeImageData's ``[0] EXPLICIT SpcLink`` holding an
SpcSerializedObject (class id ``a6b586d5...``) whose serialized data is
``SET { SEQUENCE { OID (V1 = SHA1, V2 = SHA256), SET { OCTET STRING table } } }``.

``catalog.ctl.build`` encodes with ``encode_page_hash_link``; ``catalog.ctl.read`` (catalogs) and
``catalog.pe.signature`` (a PE's own signature) decode with ``decode_page_hash_moniker``. The
JSON form (reports, trace journals) is ``PageHashTable.to_json``/``from_json`` in
``catalog.records``. Pure.
"""

from __future__ import annotations

from catalog.asn1 import (
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    TAG_SET,
    DerError,
    children,
    der,
    oids,
    read_oid,
)
from catalog.records import HashAlgorithm, PageHashTable

PAGE_HASH_OIDS = {
    HashAlgorithm.SHA1: oids.OID_PAGE_HASHES_V1,
    HashAlgorithm.SHA256: oids.OID_PAGE_HASHES_V2,
}
PAGE_HASH_ALGORITHMS = {oid: alg for alg, oid in PAGE_HASH_OIDS.items()}


def table_bytes(table: PageHashTable) -> bytes:
    """The binary form stored in catalogs and signatures: ``u32le offset || digest`` each."""
    return b"".join(offset.to_bytes(4, "little") + digest for offset, digest in table.entries)


def table_from_bytes(algorithm: HashAlgorithm, data: bytes | memoryview) -> PageHashTable:
    """Split a binary table; raise ``ValueError`` when its length is not whole entries."""
    raw = bytes(data)
    step = 4 + algorithm.digest_size
    if not raw or len(raw) % step:
        raise ValueError(
            f"page-hash table of {len(raw)} bytes is not a whole number of "
            f"{step}-byte {algorithm.value} entries"
        )
    return PageHashTable.from_entries(
        algorithm,
        (
            (int.from_bytes(raw[i : i + 4], "little"), raw[i + 4 : i + step])
            for i in range(0, len(raw), step)
        ),
    )


def encode_page_hash_link(table: PageHashTable) -> bytes:
    """SpcPeImageData's ``[0] EXPLICIT SpcLink`` carrying the page-hash moniker (formats.md 2.3)."""
    serialized = der.der_tlv(
        der.TAG_SET,
        der.der_sequence(
            der.der_oid(PAGE_HASH_OIDS[table.algorithm]),
            der.der_tlv(der.TAG_SET, der.der_octet_string(table_bytes(table))),
        ),
    )
    moniker = der.der_tlv(
        0xA1,
        der.der_octet_string(oids.SPC_PAGE_HASH_CLASS_ID) + der.der_octet_string(serialized),
    )
    return der.der_tlv(0xA0, moniker)


def decode_page_hash_moniker(
    class_id: bytes | memoryview, data: bytes | memoryview, start: int, end: int
) -> tuple[str | None, PageHashTable | None]:
    """The page-hash type OID and table of an SpcSerializedObject.

    ``class_id`` is the moniker's class id; ``data[start:end]`` its serialized data (offsets in
    errors are ``data``'s). A moniker of another class gives ``(None, None)``; an unknown page-hash
    OID gives ``(oid, None)``. Malformed DER raises ``DerError`` at its offset.
    """
    if bytes(class_id) != oids.SPC_PAGE_HASH_CLASS_ID:
        return None, None
    outer = der.read_tlv(data, start, end, TAG_SET, "page-hash SET")
    first: str | None = None
    for attribute in children(data, outer):
        if attribute.tag != TAG_SEQUENCE:
            raise DerError(attribute.start, "expected SEQUENCE (page-hash attribute)")
        oid, oid_tlv = read_oid(data, attribute.content_start, attribute.end, "page-hash type")
        values = der.read_tlv(data, oid_tlv.end, attribute.end, TAG_SET, "page-hash values")
        first = first or oid
        alg = PAGE_HASH_ALGORITHMS.get(oid)
        if alg is None:
            continue
        raw = der.read_tlv(
            data, values.content_start, values.end, TAG_OCTET_STRING, "page-hash table"
        )
        try:
            return oid, table_from_bytes(alg, memoryview(data)[raw.content_start : raw.end])
        except ValueError as exc:
            raise DerError(raw.content_start, str(exc)) from None
    return first, None


__all__ = [
    "PAGE_HASH_ALGORITHMS",
    "PAGE_HASH_OIDS",
    "decode_page_hash_moniker",
    "encode_page_hash_link",
    "table_bytes",
    "table_from_bytes",
]

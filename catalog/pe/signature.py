"""Decode what a signed PE's own Authenticode signature claims (formats.md 2.3).

Input: the certificate table bytes (WIN_CERTIFICATE entries). Output: the digest algorithm, the
digest and the page-hash table inside SpcIndirectDataContent. The signature itself is not verified
here; these values are what Windows compares the recomputed hashes with.
"""

from __future__ import annotations

import struct

from catalog.asn1 import (
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    TAG_SET,
    Tlv,
    children,
    oid_of,
    oids,
    read_tlv,
)
from catalog.errors import CatalogInputError
from catalog.records import EmbeddedSignature, HashAlgorithm, PageHashTable

WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
_PAGE_OIDS = {
    oids.OID_PAGE_HASHES_V1: HashAlgorithm.SHA1,
    oids.OID_PAGE_HASHES_V2: HashAlgorithm.SHA256,
}


def decode_certificate_table(table: bytes) -> EmbeddedSignature:
    """The first PKCS#7 signature in a certificate table; ``CatalogInputError`` if malformed."""
    if len(table) < 8:
        raise CatalogInputError(f"certificate table of {len(table)} bytes has no WIN_CERTIFICATE")
    length, revision, cert_type = struct.unpack_from("<IHH", table, 0)
    if cert_type != WIN_CERT_TYPE_PKCS_SIGNED_DATA:
        raise CatalogInputError(
            f"first certificate-table entry has type {cert_type:#06x}, not PKCS#7 signed data"
        )
    if length < 8 or length > len(table):
        raise CatalogInputError(
            f"WIN_CERTIFICATE length {length} does not fit the {len(table)}-byte table"
        )
    del revision  # 0x0100 or 0x0200; Windows accepts both
    return decode_signed_data(table[8:length])


def decode_signed_data(der: bytes) -> EmbeddedSignature:
    """SpcIndirectDataContent values from a DER ContentInfo(SignedData)."""
    view = memoryview(der)
    outer = read_tlv(view, 0)
    content_info = children(view, outer, TAG_SEQUENCE, "ContentInfo")
    if (
        len(content_info) != 2
        or oid_of(view, content_info[0], "contentType") != oids.OID_SIGNED_DATA
    ):
        raise CatalogInputError("signature is not a PKCS#7 SignedData ContentInfo")
    (signed_data,) = children(view, content_info[1], 0xA0, "ContentInfo content")
    fields = children(view, signed_data, TAG_SEQUENCE, "SignedData")
    if len(fields) < 3:
        raise CatalogInputError("PKCS#7 SignedData has fewer than three fields")
    encap = children(view, fields[2], TAG_SEQUENCE, "contentInfo")
    if len(encap) != 2 or oid_of(view, encap[0], "inner contentType") != oids.OID_SPC_INDIRECT_DATA:
        raise CatalogInputError("signed content is not SpcIndirectDataContent")
    (inner,) = children(view, encap[1], 0xA0, "inner content")
    # SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue,
    #                                       messageDigest DigestInfo }
    indirect = children(view, inner, TAG_SEQUENCE, "SpcIndirectDataContent")
    if len(indirect) != 2:
        raise CatalogInputError("SpcIndirectDataContent does not hold data and messageDigest")
    data_field, digest_info = indirect
    digest_parts = children(view, digest_info, TAG_SEQUENCE, "DigestInfo")
    if len(digest_parts) != 2 or digest_parts[1].tag != TAG_OCTET_STRING:
        raise CatalogInputError("SpcIndirectDataContent DigestInfo is not {algorithm, digest}")
    algorithm, digest_tlv = digest_parts
    algorithm_parts = children(view, algorithm, TAG_SEQUENCE, "digestAlgorithm")
    if not algorithm_parts:
        raise CatalogInputError("SpcIndirectDataContent digestAlgorithm is empty")
    oid = oid_of(view, algorithm_parts[0], "digest algorithm")
    digest = bytes(view[digest_tlv.content_start : digest_tlv.end])
    pages = _page_hashes(view, data_field)
    return EmbeddedSignature(oids.DIGEST_NAMES.get(oid, oid), digest, pages)


def _page_hashes(view: memoryview, data_field: Tlv) -> PageHashTable | None:
    """The page-hash table of SpcPeImageData's serialized moniker, if it carries one."""
    # SpcAttributeTypeAndOptionalValue ::= SEQUENCE { type OID, value ANY OPTIONAL }
    parts = children(view, data_field, TAG_SEQUENCE, "SpcAttributeTypeAndOptionalValue")
    if len(parts) < 2 or oid_of(view, parts[0], "data type") != oids.OID_SPC_PE_IMAGE_DATA:
        return None
    # SpcPeImageData ::= SEQUENCE { flags BIT STRING, file [0] EXPLICIT SpcLink OPTIONAL }
    image = children(view, parts[1], TAG_SEQUENCE, "SpcPeImageData")
    file_link = [t for t in image if t.tag == 0xA0]
    if not file_link:
        return None
    links = children(view, file_link[0], 0xA0, "SpcPeImageData file")
    # SpcLink ::= CHOICE { url [0], moniker [1] IMPLICIT SpcSerializedObject, file [2] }
    if len(links) != 1 or links[0].tag != 0xA1:
        return None
    object_fields = children(view, links[0], 0xA1, "SpcSerializedObject")
    if len(object_fields) != 2 or any(t.tag != TAG_OCTET_STRING for t in object_fields):
        raise CatalogInputError("SpcSerializedObject is not two OCTET STRINGs")
    class_id, serialized_tlv = object_fields
    if bytes(view[class_id.content_start : class_id.end]) != oids.SPC_PAGE_HASH_CLASS_ID:
        return None
    serialized = bytes(view[serialized_tlv.content_start : serialized_tlv.end])
    view = memoryview(serialized)
    root = read_tlv(view, 0)
    for attribute in children(view, root, TAG_SET, "page-hash SET"):
        oid_tlv, values = children(view, attribute, TAG_SEQUENCE, "page-hash attribute")
        alg = _PAGE_OIDS.get(oid_of(view, oid_tlv, "page-hash type"))
        if alg is None:
            continue
        for value in children(view, values, TAG_SET, "page-hash values"):
            if value.tag == TAG_OCTET_STRING:
                return PageHashTable.from_bytes(alg, bytes(view[value.content_start : value.end]))
    return None

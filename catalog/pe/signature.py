"""Decode what a signed PE's own Authenticode signature claims (formats.md 2.3).

Input: the certificate table bytes (WIN_CERTIFICATE entries). Output: the digest algorithm, the
digest and the page-hash table inside SpcIndirectDataContent. The signature itself is not verified
here; these values are what Windows compares the recomputed hashes with.
"""

from __future__ import annotations

import struct

from catalog.asn1 import oids
from catalog.asn1 import schemas as asn1
from catalog.asn1.der import TAG_SEQUENCE, children, oid_of, read_tlv
from catalog.errors import CatalogInputError
from catalog.pe.page_hashes import decode_page_hash_moniker
from catalog.records import EmbeddedSignature, PageHashTable

WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002


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
    try:
        indirect = asn1.SpcIndirectDataContent.load(bytes(view[inner.start : inner.end]))
        digest_info = indirect["message_digest"]
        oid = digest_info["digest_algorithm"]["algorithm"].dotted
        digest = bytes(digest_info["digest"].contents)
        pages = _page_hashes(indirect)
    except (ValueError, TypeError, KeyError) as exc:
        raise CatalogInputError(f"SpcIndirectDataContent does not decode: {exc}") from exc
    return EmbeddedSignature(oids.DIGEST_NAMES.get(oid, oid), digest, pages)


def _page_hashes(indirect: asn1.SpcIndirectDataContent) -> PageHashTable | None:
    data = indirect["data"]
    if data["type"].dotted != oids.OID_SPC_PE_IMAGE_DATA:
        return None
    image = data["value"].parsed if hasattr(data["value"], "parsed") else data["value"]
    link = image["file"]
    if link.native is None or link.chosen.__class__.__name__ == "Void":
        return None
    if link.name != "moniker":
        return None
    moniker = link.chosen
    serialized = bytes(moniker["serialized_data"].contents)
    return decode_page_hash_moniker(moniker["class_id"].contents, serialized, 0, len(serialized))[1]

"""ASN.1 schemas and OIDs for Authenticode and catalogs (formats.md 2.3, 4, 6).

The only module that imports signify. Only ``signify.asn1.*`` is used: ``signify.authenticode``
imports oscrypto, which fails on OpenSSL >= 3.0.10, so it must never be imported by the product.

The DER encoders and the byte-offset reader live in ``catalog.der``.
"""

from __future__ import annotations

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

"""Object identifiers, SIP GUIDs and digest names used across the package (formats.md 2.3, 4, 6).

Plain constants with no third-party imports: one definition of each, shared by the DER writers
and readers of every sub-package (through the ``catalog.asn1`` face).
"""

from __future__ import annotations

# Authenticode (SPC).
OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
OID_SPC_PE_IMAGE_DATA = "1.3.6.1.4.1.311.2.1.15"
OID_SPC_CAB_DATA = "1.3.6.1.4.1.311.2.1.25"
# The data.type MakeCat wrote for the CAB member of a v2 catalog (formats.md 4.3, observed only).
OID_SPC_CAB_PAGE_DATA = "1.3.6.1.4.1.311.2.1.28"
OID_SPC_STATEMENT_TYPE = "1.3.6.1.4.1.311.2.1.11"
OID_SPC_SP_OPUS_INFO = "1.3.6.1.4.1.311.2.1.12"
OID_SPC_INDIVIDUAL_SP_KEY_PURPOSE = "1.3.6.1.4.1.311.2.1.21"
OID_PAGE_HASHES_V1 = "1.3.6.1.4.1.311.2.3.1"
OID_PAGE_HASHES_V2 = "1.3.6.1.4.1.311.2.3.2"
OID_MS_RFC3161_TIMESTAMP = "1.3.6.1.4.1.311.3.3.1"
# The class id of the serialized page-hash moniker, in RFC 4122 (big-endian) byte order.
SPC_PAGE_HASH_CLASS_ID = bytes.fromhex("a6b586d5b4a12466ae05a217da8e60d6")

# Catalogs (CTL) and WDAC policies.
OID_CTL = "1.3.6.1.4.1.311.10.1"
OID_CATALOG_LIST = "1.3.6.1.4.1.311.12.1.1"
OID_CATALOG_LIST_MEMBER = "1.3.6.1.4.1.311.12.1.2"
OID_CATALOG_LIST_MEMBER2 = "1.3.6.1.4.1.311.12.1.3"
OID_CAT_NAMEVALUE = "1.3.6.1.4.1.311.12.2.1"
OID_CAT_MEMBERINFO = "1.3.6.1.4.1.311.12.2.2"
OID_CAT_MEMBERINFO2 = "1.3.6.1.4.1.311.12.2.3"
OID_SIPOLICY = "1.3.6.1.4.1.311.79.1"

# PKCS#7 / PKCS#9.
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"

# Digest algorithms.
OID_SHA1 = "1.3.14.3.2.26"
OID_SHA256 = "2.16.840.1.101.3.4.2.1"
OID_SHA384 = "2.16.840.1.101.3.4.2.2"
OID_SHA512 = "2.16.840.1.101.3.4.2.3"
DIGEST_NAMES: dict[str, str] = {
    OID_SHA1: "sha1",
    OID_SHA256: "sha256",
    OID_SHA384: "sha384",
    OID_SHA512: "sha512",
}
"""Digest algorithm OID -> hashlib name."""

# SIP subject GUIDs as written in v1 CAT_MEMBERINFO (uppercase, braces; formats.md 4.3).
SIP_GUID_PE = "{C689AAB8-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_CAB = "{C689AABA-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_FLAT = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"
# CAT_MEMBERINFO2: an empty context-tagged primitive; the tag number names the SIP (formats.md 4.3).
MEMBERINFO2_PE = 0
MEMBERINFO2_CAB = 1
MEMBERINFO2_FLAT = 2

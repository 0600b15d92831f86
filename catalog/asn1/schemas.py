"""ASN.1 schemas and OIDs for Authenticode and catalogs (formats.md 2.3, 4, 6).

The only module that imports signify. Only ``signify.asn1.*`` is used: ``signify.authenticode``
imports oscrypto, which fails on OpenSSL >= 3.0.10, so it must never be imported by the product.

The DER encoders and the byte-offset reader live in ``catalog.asn1.der``; the OIDs, SIP GUIDs and
digest names live in the signify-free ``catalog.asn1.oids`` and are re-exported here.
"""

from __future__ import annotations

from signify.asn1 import spc as _spc

from catalog.asn1.oids import DIGEST_NAMES as DIGEST_NAMES
from catalog.asn1.oids import MEMBERINFO2_CAB as MEMBERINFO2_CAB
from catalog.asn1.oids import MEMBERINFO2_FLAT as MEMBERINFO2_FLAT
from catalog.asn1.oids import MEMBERINFO2_PE as MEMBERINFO2_PE
from catalog.asn1.oids import OID_CAT_MEMBERINFO as OID_CAT_MEMBERINFO
from catalog.asn1.oids import OID_CAT_MEMBERINFO2 as OID_CAT_MEMBERINFO2
from catalog.asn1.oids import OID_CAT_NAMEVALUE as OID_CAT_NAMEVALUE
from catalog.asn1.oids import OID_CATALOG_LIST as OID_CATALOG_LIST
from catalog.asn1.oids import OID_CATALOG_LIST_MEMBER as OID_CATALOG_LIST_MEMBER
from catalog.asn1.oids import OID_CATALOG_LIST_MEMBER2 as OID_CATALOG_LIST_MEMBER2
from catalog.asn1.oids import OID_CTL as OID_CTL
from catalog.asn1.oids import OID_PAGE_HASHES_V1 as OID_PAGE_HASHES_V1
from catalog.asn1.oids import OID_PAGE_HASHES_V2 as OID_PAGE_HASHES_V2
from catalog.asn1.oids import OID_SHA1 as OID_SHA1
from catalog.asn1.oids import OID_SHA256 as OID_SHA256
from catalog.asn1.oids import OID_SIGNED_DATA as OID_SIGNED_DATA
from catalog.asn1.oids import OID_SPC_CAB_DATA as OID_SPC_CAB_DATA
from catalog.asn1.oids import OID_SPC_CAB_PAGE_DATA as OID_SPC_CAB_PAGE_DATA
from catalog.asn1.oids import OID_SPC_INDIRECT_DATA as OID_SPC_INDIRECT_DATA
from catalog.asn1.oids import OID_SPC_PE_IMAGE_DATA as OID_SPC_PE_IMAGE_DATA
from catalog.asn1.oids import SIP_GUID_CAB as SIP_GUID_CAB
from catalog.asn1.oids import SIP_GUID_FLAT as SIP_GUID_FLAT
from catalog.asn1.oids import SIP_GUID_PE as SIP_GUID_PE
from catalog.asn1.oids import SPC_PAGE_HASH_CLASS_ID as SPC_PAGE_HASH_CLASS_ID

# Authenticode (SPC) structures. The catalog structures are read with ``catalog.asn1.der`` instead.
SpcIndirectDataContent = _spc.SpcIndirectDataContent

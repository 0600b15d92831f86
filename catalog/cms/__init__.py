"""CMS/PKCS#7 signing: SignedData build and parse, signing identities (the signing seam),
RFC 3161 timestamps, certificate chain validation. The home of cryptography. May import
``catalog.asn1``."""

from __future__ import annotations

from catalog.cms.chain import (
    REVOCATION_OFF,
    ChainVerdict,
    Crl,
    Purpose,
    TrustStatus,
    certificate_names,
    load_crls,
    validate_chain,
)
from catalog.cms.keys import (
    ChainValidationError,
    PasswordRequiredError,
    SigningIdentity,
    SigningIdentityError,
    identity_from_pem,
    identity_from_pfx,
    preflight,
)
from catalog.cms.signed_data import (
    OID_SIPOLICY,
    CheckedSignerInfo,
    Signer,
    SignOptions,
    Timestamper,
    build_signed_data,
    check_signer_info,
    content_info_for,
    find_certificate,
    parse_signed_data,
    resign,
    signer_reference,
)
from catalog.cms.timestamp import (
    Rfc3161Timestamper,
    TimestampInfo,
    Transport,
    http_transport,
    verify_token,
)

__all__ = [
    "OID_SIPOLICY",
    "REVOCATION_OFF",
    "ChainValidationError",
    "ChainVerdict",
    "CheckedSignerInfo",
    "Crl",
    "PasswordRequiredError",
    "Purpose",
    "Rfc3161Timestamper",
    "SignOptions",
    "Signer",
    "SigningIdentity",
    "SigningIdentityError",
    "TimestampInfo",
    "Timestamper",
    "Transport",
    "TrustStatus",
    "build_signed_data",
    "certificate_names",
    "check_signer_info",
    "content_info_for",
    "find_certificate",
    "http_transport",
    "identity_from_pem",
    "identity_from_pfx",
    "load_crls",
    "parse_signed_data",
    "preflight",
    "resign",
    "signer_reference",
    "validate_chain",
    "verify_token",
]

"""CMS/PKCS#7 signing: SignedData build and parse, signing identities (the signing seam),
RFC 3161 timestamps, certificate chain validation. The home of cryptography. May import
``catalog.asn1``."""

from __future__ import annotations

from catalog.cms.backends import backend_of
from catalog.cms.backends.azure import (
    TokenSource,
    open_keyvault_signer,
    open_trusted_signing_signer,
    parse_metadata,
    parse_trusted_signing_uri,
)
from catalog.cms.backends.command import open_command_signer_for
from catalog.cms.backends.file import open_file_signer
from catalog.cms.backends.pkcs11 import open_pkcs11_signer
from catalog.cms.chain import (
    ChainVerdict,
    Purpose,
    TrustStatus,
    certificate_names,
    validate_chain,
)
from catalog.cms.crlfetch import FetchLimits, fetch_crls
from catalog.cms.keys import (
    ChainValidationError,
    PasswordRequiredError,
    SigningIdentity,
    SigningIdentityError,
    identity_from_pem,
    identity_from_pfx,
    preflight,
)
from catalog.cms.links import signature_verifies
from catalog.cms.revocation import (
    REVOCATION_OFF,
    CertificateRevocation,
    Crl,
    CrlSource,
    DistributionPoints,
    Fetched,
    RevocationSources,
    RevocationState,
    crl_urls,
    load_crls,
    plan_fetches,
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
from catalog.cms.signer import Signer as KeySigner
from catalog.cms.signer import (
    SignerEnvironmentError,
    SignerInputError,
    SignerVerificationError,
    certificate_ekus,
    load_chain,
    preflight_signer,
    require_timestamp,
)
from catalog.cms.timestamp import (
    Rfc3161Timestamper,
    TimestampInfo,
    Transport,
    http_transport,
    verify_token,
)
from catalog.cms.tsa import TimestampServers, TimestampUnavailableError, timestamp_servers

__all__ = [
    "OID_SIPOLICY",
    "REVOCATION_OFF",
    "CertificateRevocation",
    "ChainValidationError",
    "ChainVerdict",
    "CheckedSignerInfo",
    "Crl",
    "CrlSource",
    "DistributionPoints",
    "FetchLimits",
    "Fetched",
    "KeySigner",
    "PasswordRequiredError",
    "Purpose",
    "RevocationSources",
    "RevocationState",
    "Rfc3161Timestamper",
    "SignOptions",
    "Signer",
    "SignerEnvironmentError",
    "SignerInputError",
    "SignerVerificationError",
    "SigningIdentity",
    "SigningIdentityError",
    "TimestampInfo",
    "TimestampServers",
    "TimestampUnavailableError",
    "Timestamper",
    "TokenSource",
    "Transport",
    "TrustStatus",
    "backend_of",
    "build_signed_data",
    "certificate_ekus",
    "certificate_names",
    "check_signer_info",
    "content_info_for",
    "crl_urls",
    "fetch_crls",
    "find_certificate",
    "http_transport",
    "identity_from_pem",
    "identity_from_pfx",
    "load_chain",
    "load_crls",
    "open_command_signer_for",
    "open_file_signer",
    "open_keyvault_signer",
    "open_pkcs11_signer",
    "open_trusted_signing_signer",
    "parse_metadata",
    "parse_signed_data",
    "parse_trusted_signing_uri",
    "plan_fetches",
    "preflight",
    "preflight_signer",
    "require_timestamp",
    "resign",
    "signature_verifies",
    "signer_reference",
    "timestamp_servers",
    "validate_chain",
    "verify_token",
]

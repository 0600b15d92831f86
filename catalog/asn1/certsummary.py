"""What signer rules compare in a certificate, decoded once (asn1crypto stays in catalog.asn1).

WDAC signer rules (sipolicy.md 2.2) read: the TBS value (formats.md 6.2), the subject and issuer
common names (CertPublisher, CertIssuer), the subject's O/OU values, the EKUs (CertEKU), and, to
build and name chains, the normalised subject/issuer names and the key identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from asn1crypto import x509

from catalog.asn1.x509 import tbs_hash_of
from catalog.errors import CatalogError, CatalogInputError


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    der: bytes
    subject_cn: str
    issuer_cn: str
    subject_key: str
    """The subject Name normalised for comparison (RFC 5280 7.1): chains match ``issuer_key``."""
    issuer_key: str
    tbs_hash: str
    """Uppercase hex WDAC TBS value; ``""`` when the signature algorithm has none."""
    ekus: tuple[str, ...]
    """Dotted EKU OIDs (empty without the extension)."""
    key_id: str | None
    authority_key_id: str | None
    self_issued: bool
    organizations: tuple[str, ...]
    """The subject's O and OU values, in that order."""


def _cn(name: x509.Name) -> str:
    value = name.native.get("common_name")
    if isinstance(value, list):
        value = value[0]
    return value if isinstance(value, str) else ""


def summarize_certificate(der: bytes, source: str = "certificate") -> CertificateSummary:
    """Decode ``der``; ``CatalogInputError`` naming ``source`` when it is not a certificate."""
    try:
        cert = x509.Certificate.load(der)
        ekus = cert.extended_key_usage_value
        orgs: list[str] = []
        for key in ("organization_name", "organizational_unit_name"):
            value = cert.subject.native.get(key)
            orgs += value if isinstance(value, list) else [value] if isinstance(value, str) else []
        summary = CertificateSummary(
            der=der,
            subject_cn=_cn(cert.subject),
            issuer_cn=_cn(cert.issuer),
            subject_key=cert.subject.hashable,
            issuer_key=cert.issuer.hashable,
            tbs_hash="",
            ekus=tuple(e.dotted for e in ekus) if ekus is not None else (),
            key_id=cert.key_identifier.hex().upper() if cert.key_identifier else None,
            authority_key_id=(
                cert.authority_key_identifier.hex().upper()
                if cert.authority_key_identifier
                else None
            ),
            self_issued=cert.subject == cert.issuer,
            organizations=tuple(orgs),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise CatalogInputError(f"{source}: not a readable X.509 certificate ({exc})") from exc
    try:
        tbs = tbs_hash_of(der, source).tbs_hash
    except CatalogError:
        tbs = ""
    return replace(summary, tbs_hash=tbs)

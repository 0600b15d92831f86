"""Revocation of a validated certificate path against CRLs (RFC 5280 5, 6.3), pure.

The CRLs come from files (``--crl``) or were fetched from the certificates' own CRL distribution
points (``--online``; the fetching is ``catalog.cms.crlfetch``, the only network code). Either way a
CRL counts for a certificate only when it is usable: issued under the certificate's issuer name,
signed by the issuer's key in the validated path, current at the clock (thisUpdate <= clock <=
nextUpdate), a complete CRL (delta CRLs, indirect CRLs and CRLs partitioned by reason are
ignored), its issuingDistributionPoint scope (user/CA certificates, distribution point name) covers
the certificate, and it has no unknown critical extension. Each certificate below the root then
gets one status: revoked (listed with a revocation date on or before the validation time), good
(which CRL said so) or unknown (why: every reason a CRL or a URL gave nothing usable).

CRL currency is judged at the clock, not at the signing time: a CRL fetched today is always
issued after a timestamped signature, and the revocation date it lists is what is compared with
the validation time.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from catalog.errors import CatalogInputError

Crl = x509.CertificateRevocationList
"""A parsed CRL (``load_crls``)."""

REVOCATION_OFF = "not checked (no CRL given; pass --crl FILE or --online to check)"
ONLINE_SCHEMES = ("http://", "https://")
"""The only URL schemes ``--online`` fetches; ldap://, file://, ftp:// are reported, not tried."""


def load_crls(data: bytes, source: str) -> list[Crl]:
    """CRLs in a PEM bundle or one DER CRL; ``CatalogInputError`` naming ``source`` if bad."""
    try:
        if b"-----BEGIN" in data:
            blocks = data.split(b"-----END X509 CRL-----")
            found = [
                x509.load_pem_x509_crl(b + b"-----END X509 CRL-----\n")
                for b in blocks
                if b"-----BEGIN X509 CRL-----" in b
            ]
            if found:
                return found
            raise ValueError("no X509 CRL block in the PEM text")
        return [x509.load_der_x509_crl(data)]
    except ValueError as exc:
        raise CatalogInputError(
            f"{source}: not a readable CRL ({exc}); give a PEM or DER X.509 CRL"
        ) from exc


@dataclass(frozen=True, slots=True)
class DistributionPoints:
    """The CRL distribution point URLs of one certificate of a validated path."""

    subject: str
    serial: int
    urls: tuple[str, ...]
    """Every fullName URI of the cRLDistributionPoints extension, in order, any scheme."""


def crl_urls(path: Sequence[bytes]) -> tuple[DistributionPoints, ...]:
    """Per certificate of ``path`` (DER, leaf first, root last) below the root: its CRL DP URLs.

    The root is not listed: a trust anchor is not checked for revocation.
    """
    out: list[DistributionPoints] = []
    for der in path[:-1]:
        cert = x509.load_der_x509_certificate(der)
        out.append(
            DistributionPoints(cert.subject.rfc4514_string(), cert.serial_number, _dp_uris(cert))
        )
    return tuple(out)


def _dp_uris(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(
        name.value
        for point in points
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    )


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one CRL URL gave: the body, or why there is none (never both)."""

    url: str
    body: bytes | None = None
    failure: str | None = None


def plan_fetches(
    points: Sequence[DistributionPoints], limit: int
) -> tuple[list[str], list[Fetched]]:
    """(URLs to fetch, URLs not fetched with why): http(s) only, each once, at most ``limit``."""
    wanted: list[str] = []
    refused: list[Fetched] = []
    seen: set[str] = set()
    for url in (u for p in points for u in p.urls):
        if url in seen:
            continue
        seen.add(url)
        if not url.lower().startswith(ONLINE_SCHEMES):
            scheme = url.split(":", 1)[0] if ":" in url else "no scheme"
            refused.append(Fetched(url, failure=f"skipped: {scheme} URLs are not fetched"))
        elif len(wanted) >= limit:
            refused.append(Fetched(url, failure=f"not fetched: over the limit of {limit} CRL URLs"))
        else:
            wanted.append(url)
    return wanted, refused


@dataclass(frozen=True, slots=True)
class CrlSource:
    """A parsed CRL and where it came from (a file path or the URL it was fetched from)."""

    crl: Crl
    origin: str


@dataclass(frozen=True, slots=True)
class RevocationSources:
    """Everything revocation is checked against."""

    crls: tuple[CrlSource, ...] = ()
    failures: tuple[Fetched, ...] = ()
    """URLs that gave no CRL, with why (unreachable, HTTP status, too big, not a CRL, skipped)."""
    online: bool = False
    """Fetched from the certificates (--online): an unknown status is reported, not a failure."""
    clock: dt.datetime | None = None
    """When CRLs must be current (None: the validation time)."""

    @classmethod
    def of(
        cls,
        files: Sequence[Crl | CrlSource] = (),
        fetched: Sequence[Fetched] = (),
        *,
        online: bool = False,
        clock: dt.datetime | None = None,
    ) -> RevocationSources:
        """Given CRLs plus fetched bodies (parsed here; an unreadable body is a failure)."""
        crls = [c if isinstance(c, CrlSource) else CrlSource(c, "a given CRL") for c in files]
        failures: list[Fetched] = []
        for item in fetched:
            if item.body is None:
                failures.append(item)
                continue
            try:
                crls += [CrlSource(c, item.url) for c in load_crls(item.body, item.url)]
            except CatalogInputError:
                failures.append(Fetched(item.url, failure="the response is not a DER or PEM CRL"))
        return cls(tuple(crls), tuple(failures), online, clock)


class RevocationState(enum.Enum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CertificateRevocation:
    """One certificate's revocation status."""

    subject: str
    serial: str
    """Uppercase hex."""
    state: RevocationState
    source: str = ""
    """The CRL (file or URL) that decided (good or revoked)."""
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    """The CRL entry's reasonCode, when present."""
    detail: str = ""
    """Why the status is unknown, or a note on a good status."""
    urls: tuple[str, ...] = field(default=())
    """The certificate's CRL distribution point URLs."""

    def describe(self) -> str:
        if self.state is RevocationState.REVOKED:
            when = "" if self.revoked_at is None else f" on {self.revoked_at:%Y-%m-%d %H:%M:%S}Z"
            why = f", reason {self.reason}" if self.reason else ""
            return f"revoked{when}{why} (CRL {self.source})"
        if self.state is RevocationState.GOOD:
            note = f"; {self.detail}" if self.detail else ""
            return f"good (CRL {self.source}){note}"
        return f"unknown - could not check: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "serial": self.serial,
            "status": self.state.value,
            "source": self.source or None,
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
            "reason": self.reason,
            "detail": self.detail,
            "crl_urls": list(self.urls),
        }


def signed_by(crl: Crl, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return False  # Authenticode CAs are RSA or ECDSA
    return crl.is_signature_valid(key)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _unusable(
    crl: Crl, cert: x509.Certificate, issuer: x509.Certificate, clock: dt.datetime
) -> str | None:
    """None when ``crl`` may decide ``cert``'s status; else why not."""
    if not signed_by(crl, issuer):
        return f"its signature does not verify with the key of {_subject(issuer)!r}"
    for ext in crl.extensions:
        if isinstance(ext.value, x509.DeltaCRLIndicator):
            return "it is a delta CRL (delta CRLs are not used)"
        if ext.critical and isinstance(ext.value, x509.UnrecognizedExtension):
            return f"it has an unknown critical extension {ext.oid.dotted_string}"
        if isinstance(ext.value, x509.IssuingDistributionPoint):
            why = _out_of_scope(ext.value, cert)
            if why:
                return why
    this, nxt = crl.last_update_utc, crl.next_update_utc
    if this > clock:
        return f"it is not yet valid (thisUpdate {this:%Y-%m-%d %H:%M:%S}Z)"
    if nxt is None:
        return "it has no nextUpdate, so its currency cannot be judged"
    if nxt < clock:
        return (
            f"it is stale (nextUpdate {nxt:%Y-%m-%d %H:%M:%S}Z, before {clock:%Y-%m-%d %H:%M:%S}Z)"
        )
    return None


def _out_of_scope(idp: x509.IssuingDistributionPoint, cert: x509.Certificate) -> str | None:
    if idp.indirect_crl:
        return "it is an indirect CRL (not used)"
    if idp.only_some_reasons:
        return "it covers only some revocation reasons (partitioned CRLs are not used)"
    if idp.only_contains_attribute_certs:
        return "it covers attribute certificates only"
    ca = _is_ca(cert)
    if idp.only_contains_user_certs and ca:
        return "it covers end-entity certificates only"
    if idp.only_contains_ca_certs and not ca:
        return "it covers CA certificates only"
    if idp.full_name:
        names = {n.value for n in idp.full_name if isinstance(n, x509.UniformResourceIdentifier)}
        if not names & set(_dp_uris(cert)):
            return "its issuingDistributionPoint is none of the certificate's distribution points"
    return None


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _reason(entry: x509.RevokedCertificate) -> str | None:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
    except x509.ExtensionNotFound:
        return None


def _status(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    sources: RevocationSources,
    when: dt.datetime,
    clock: dt.datetime,
) -> CertificateRevocation:
    urls = _dp_uris(cert)
    base = CertificateRevocation(
        _subject(cert), f"{cert.serial_number:X}", RevocationState.UNKNOWN, urls=urls
    )
    usable: list[CrlSource] = []
    rejected: list[str] = []
    for src in sources.crls:
        if src.crl.issuer != cert.issuer:
            if src.origin in urls:
                rejected.append(
                    f"the CRL from {src.origin} is issued by {src.crl.issuer.rfc4514_string()!r}, "
                    f"not by {cert.issuer.rfc4514_string()!r}"
                )
            continue
        why = _unusable(src.crl, cert, issuer, clock)
        if why is None:
            usable.append(src)
        else:
            rejected.append(f"the CRL from {src.origin} is not used: {why}")
    good_note = ""
    for src in usable:
        entry = src.crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is None:
            continue
        at = entry.revocation_date_utc
        if at <= when:
            return _replace(
                base,
                RevocationState.REVOKED,
                source=src.origin,
                revoked_at=at,
                reason=_reason(entry),
            )
        good_note = (
            f"listed as revoked on {at:%Y-%m-%d %H:%M:%S}Z, after the validation time "
            f"{when:%Y-%m-%d %H:%M:%S}Z"
        )
    if usable:
        return _replace(base, RevocationState.GOOD, source=usable[0].origin, detail=good_note)
    reasons = rejected + [f"{f.url}: {f.failure}" for f in sources.failures if f.url in urls]
    if not reasons:
        if not sources.online:
            reasons = [f"no CRL signed by {_subject(issuer)!r} among the given CRLs covers it"]
        elif not urls:
            reasons = ["the certificate has no CRL distribution point (and no --crl covers it)"]
        else:
            reasons = ["no CRL from its distribution points covers it"]
    return _replace(base, RevocationState.UNKNOWN, detail="; ".join(reasons))


def _replace(
    base: CertificateRevocation, state: RevocationState, **kw: Any
) -> CertificateRevocation:
    return CertificateRevocation(
        base.subject,
        base.serial,
        state,
        source=kw.get("source", ""),
        revoked_at=kw.get("revoked_at"),
        reason=kw.get("reason"),
        detail=kw.get("detail", ""),
        urls=base.urls,
    )


def check_revocation(
    path: Sequence[x509.Certificate], sources: RevocationSources, when: dt.datetime
) -> tuple[str, list[str], tuple[CertificateRevocation, ...]]:
    """(summary, problems, per-certificate statuses) for every certificate of ``path`` (leaf
    first) below its root, at validation time ``when``.

    Problems fail the chain: a revoked certificate always; an unknown status only when the CRLs
    were given as files (``--crl`` promises that every certificate is covered). Online, an unknown
    status is reported in the statuses and the summary, never hidden.
    """
    clock = (sources.clock or when).astimezone(dt.UTC)
    statuses = tuple(
        _status(cert, issuer, sources, when, clock) for cert, issuer in itertools.pairwise(path)
    )
    problems: list[str] = []
    for s in statuses:
        if s.state is RevocationState.REVOKED:
            reason = f" ({s.reason})" if s.reason else ""
            at = s.revoked_at or when
            problems.append(
                f"certificate {s.subject!r} (serial {s.serial}) was revoked on "
                f"{at:%Y-%m-%d %H:%M:%S}Z{reason}, before the validation time "
                f"{when:%Y-%m-%d %H:%M:%S}Z (CRL {s.source})"
            )
        elif s.state is RevocationState.UNKNOWN and not sources.online:
            problems.append(f"revocation unknown for {s.subject!r}: {s.detail}")
    decided = sum(s.state is not RevocationState.UNKNOWN for s in statuses)
    summary = (
        f"checked {decided} of {len(statuses)} certificate(s) against {len(sources.crls)} CRL(s)"
    )
    unknown = [s for s in statuses if s.state is RevocationState.UNKNOWN]
    if unknown:
        summary += f"; NOT checked for {len(unknown)}: " + "; ".join(
            f"{s.subject}: {s.detail}" for s in unknown
        )
    return summary, problems, statuses

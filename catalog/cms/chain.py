"""Certificate chain validation for catalog, policy and timestamp signatures (formats.md 6.1, 7).

Path building and the X.509 rules are cryptography's maintained validator
(``cryptography.x509.verification``), not hand-written: basicConstraints cA on every issuer and its
pathLenConstraint, keyUsage keyCertSign on CAs, name chaining with each link's signature, validity
of every certificate at the validation time, and refusal of any unrecognised critical extension.
Its web-PKI profile is adjusted where Authenticode differs, through its extension policies only:

* EKU: the leaf needs codeSigning (timeStamping for a TSA) or anyExtendedKeyUsage; a leaf or CA
  without an EKU extension is valid for every purpose, as in Windows (CryptoAPI intersects EKUs
  down the chain, so a CA that lists EKUs must list the purpose or anyExtendedKeyUsage). The EKU may
  be critical (RFC 3161 requires it for a TSA).
* The leaf needs no subjectAltName and no authorityKeyIdentifier (code-signing certificates are
  not web certificates); a keyUsage, when present, must allow digitalSignature.
* lifetimeSigning (1.3.6.1.4.1.311.10.3.13) on the leaf is reported: Windows then ignores the
  timestamp and checks validity at the current time; the caller picks the time.

What the validator keeps from the web PKI: signatures on certificates must be RSA-PKCS1/PSS or
ECDSA with SHA-256/384/512 and RSA issuer keys at least 2048 bits, so a chain signed with SHA-1 is
reported invalid with that reason. A self-signed leaf that is itself one of the trusted roots
(test-signing certificates) is accepted after the same leaf checks, as CryptoAPI and OpenSSL do.

Revocation is optional and off by default (``catalog.cms.revocation``): given CRLs (DER or PEM),
every certificate of the validated path below the root must be covered by a current CRL signed by
its issuer, and must not be listed as revoked on or before the validation time. Online (CRLs
fetched from the path's distribution points, which the verdict lists), a certificate no usable CRL
covers is reported as unknown with the reason instead of failing the chain. Without CRLs the
verdict says so.
"""

from __future__ import annotations

import datetime as dt
import enum
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from catalog.cms.revocation import (
    REVOCATION_OFF,
    CertificateRevocation,
    Crl,
    DistributionPoints,
    RevocationSources,
    check_revocation,
    crl_urls,
)

OID_LIFETIME_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.13")
MAX_CHAIN_DEPTH = 8
"""Intermediate CAs allowed between the leaf and the root (cryptography's default)."""


class TrustStatus(enum.Enum):
    TRUSTED = "trusted"
    """The chain reaches one of the given roots and every check passed."""
    UNTRUSTED_ROOT = "untrusted root"
    """The chain ends at a certificate that is not among the given roots (or none were given)."""
    INVALID = "invalid"
    """The chain reaches a root but breaks a rule (CA flag, path length, key usage, EKU, validity,
    critical extension, revocation)."""


class Purpose(enum.Enum):
    """What the leaf certificate must be good for."""

    CODE_SIGNING = "codeSigning"
    TIME_STAMPING = "timeStamping"

    @property
    def oid(self) -> x509.ObjectIdentifier:
        if self is Purpose.CODE_SIGNING:
            return ExtendedKeyUsageOID.CODE_SIGNING
        return ExtendedKeyUsageOID.TIME_STAMPING


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """The outcome of validating one signer's certificate chain."""

    trust: TrustStatus
    chain: tuple[str, ...]
    """Subjects (RFC 4514) from the leaf up to the root, or to the last certificate found."""
    problems: tuple[str, ...]
    """Why the chain is not trusted (empty when trusted)."""
    revocation: str
    """``not checked (no CRL given)`` or what the CRLs said."""
    lifetime_signing: bool
    """The leaf carries the lifetimeSigning EKU (validity is then checked at the current time)."""
    revocation_checks: tuple[CertificateRevocation, ...] = ()
    """Per certificate below the root: revoked, good or unknown (empty when not checked)."""
    distribution_points: tuple[DistributionPoints, ...] = ()
    """CRL distribution point URLs per certificate of the validated path below the root (empty
    when the chain did not validate): what ``--online`` fetches."""

    @property
    def ok(self) -> bool:
        return self.trust is TrustStatus.TRUSTED


@dataclass(frozen=True, slots=True)
class CertificateNames:
    """What a verdict shows about one certificate."""

    subject: str
    issuer: str
    lifetime_signing: bool


def certificate_names(der: bytes) -> CertificateNames:
    """Subject and issuer (RFC 4514) of a DER certificate, and whether it is lifetime-signing."""
    cert = x509.load_der_x509_certificate(der)
    return CertificateNames(
        cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), is_lifetime_signing(cert)
    )


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """``parent`` issued ``child``: names chain and the signature verifies with its key."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


_EKU_NAMES = {
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
}


def validity_problems(certs: Sequence[x509.Certificate], when: dt.datetime) -> list[str]:
    """One message per certificate not valid at ``when`` (expired or not yet valid), in order."""
    when = when.astimezone(dt.UTC)
    problems: list[str] = []
    for cert in certs:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if not start <= when <= end:
            state = "expired" if when > end else "not yet valid"
            problems.append(
                f"certificate {cert.subject.rfc4514_string()!r} is {state} at "
                f"{when:%Y-%m-%d %H:%M:%S}Z (valid {start:%Y-%m-%d} to {end:%Y-%m-%d})"
            )
    return problems


def eku_problem(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    """None when ``cert``'s extended key usage includes ``oid``; else what is wrong with it.

    The text continues a sentence about the certificate: "has no extended key usage (codeSigning)"
    or "lacks the codeSigning EKU".
    """
    name = _EKU_NAMES.get(oid, oid.dotted_string)
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return f"has no extended key usage ({name})"
    if oid not in eku:
        return f"lacks the {name} EKU"
    return None


def has_eku(cert: x509.Certificate, purpose: Purpose) -> bool:
    """The certificate may be used for ``purpose``: no EKU extension, the EKU, or anyEKU."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return purpose.oid in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku


def is_lifetime_signing(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return OID_LIFETIME_SIGNING in eku


def _extension_policies(purpose: Purpose) -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """(CA policy, leaf policy): the web-PKI defaults with the Authenticode differences."""

    def ca_eku(_policy: Policy, cert: x509.Certificate, _ext: object) -> None:
        if not has_eku(cert, purpose):
            raise ValueError(
                f"CA {_subject(cert)!r} restricts its extended key usage and {purpose.value} "
                "is not among it"
            )

    def leaf_eku(_policy: Policy, cert: x509.Certificate, _ext: object) -> None:
        if not has_eku(cert, purpose):
            raise ValueError(f"signer {_subject(cert)!r} lacks the {purpose.value} EKU")

    def leaf_key_usage(_policy: Policy, cert: x509.Certificate, ku: x509.KeyUsage | None) -> None:
        if ku is None:
            return
        if ku.key_cert_sign:
            raise ValueError(f"signer {_subject(cert)!r} is a leaf but may sign certificates")
        if not ku.digital_signature:
            raise ValueError(f"signer {_subject(cert)!r} has a keyUsage without digitalSignature")

    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, ca_eku
    )
    leaf = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, leaf_eku)
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None)
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, leaf_key_usage)
    )
    return ca, leaf


def _load(ders: Sequence[bytes]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for der in ders:
        try:
            out.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue  # an unreadable extra certificate cannot be part of a valid path
    return out


def _same_cert(a: x509.Certificate, b: x509.Certificate) -> bool:
    """Same certificate, or the same CA re-issued (same subject and key): both anchor trust."""
    return a == b or (a.subject == b.subject and a.public_key() == b.public_key())


def _names_path(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], roots: Sequence[x509.Certificate]
) -> tuple[list[x509.Certificate], bool]:
    """Follow issuer names (and link signatures) upwards: what to show, and whether a root is
    reached. Only for display and for the untrusted-root diagnosis; trust is the validator's."""
    path = [leaf]
    current = leaf
    candidates = [*pool, *roots]
    while len(path) <= MAX_CHAIN_DEPTH + 2:
        if any(_same_cert(current, r) for r in roots):
            return path, True
        parent = next(
            (c for c in candidates if all(c != p for p in path) and issued_by(current, c)), None
        )
        if parent is None:
            return path, False
        path.append(parent)
        current = parent
    return path, False


def _library_check(
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    when: dt.datetime,
    purpose: Purpose,
) -> tuple[list[x509.Certificate] | None, str | None]:
    """(validated path, None) or (None, the validator's reason)."""
    ca_policy, leaf_policy = _extension_policies(purpose)
    verifier = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(when)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(ca_policy=ca_policy, ee_policy=leaf_policy)
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(leaf, list(pool)).chain), None
    except VerificationError as exc:
        return None, _reason(str(exc))


def _reason(text: str) -> str:
    """The validator's message without its Python object dump."""
    text = text.removeprefix("validation failed: ")
    cut = text.find(" (encountered processing <Certificate(")
    if cut >= 0:
        subject_start = text.find("subject=<Name(", cut)
        subject = ""
        if subject_start >= 0:
            end = text.find(")>", subject_start)
            subject = text[subject_start + len("subject=<Name(") : end]
        text = text[:cut] + (f" (certificate {subject!r})" if subject else "")
    return text.replace("candidates exhausted: ", "no valid path: ")


def _explained(
    why: str, names: Sequence[x509.Certificate], when: dt.datetime, purpose: Purpose
) -> list[str]:
    """The validator's reason, with the dates spelled out when it is about validity and the
    offending issuer named when the validator only says that no path was valid."""
    if "not valid at validation time" in why:
        dated = validity_problems(names, when)
        if dated:
            return dated
    if why.startswith("no valid path") and len(names) > 1:
        culprit = _first_bad_issuer(names, when, purpose)
        if culprit is not None:
            why += f" (the issuer at fault: {_subject(culprit)!r})"
        why += f"; path by names: {' <- '.join(_subject(c) for c in names)}"
    return [why]


def _first_bad_issuer(
    names: Sequence[x509.Certificate], when: dt.datetime, purpose: Purpose
) -> x509.Certificate | None:
    """The lowest issuer that, taken as the anchor, already makes the path fail: the validator
    checks an anchor's own CA rules and path length like any issuer's."""
    leaf = names[0]
    for k in range(1, len(names)):
        _, why = _library_check(leaf, names[1:k], [names[k]], when, purpose)
        if why is not None:
            return names[k]
    return None


def _self_signed_root_leaf(
    leaf: x509.Certificate, when: dt.datetime, purpose: Purpose
) -> list[str]:
    """Checks for a self-signed leaf trusted directly as a root (test-signing certificates)."""
    problems = validity_problems([leaf], when)
    if not has_eku(leaf, purpose):
        problems.append(f"signer {_subject(leaf)!r} lacks the {purpose.value} EKU")
    for ext in leaf.extensions:
        if ext.critical and isinstance(ext.value, x509.UnrecognizedExtension):
            problems.append(
                f"signer {_subject(leaf)!r} has an unrecognised critical extension "
                f"{ext.oid.dotted_string}"
            )
    return problems


def validate_chain(
    leaf_der: bytes,
    intermediates: Sequence[bytes],
    roots: Sequence[bytes],
    when: dt.datetime,
    purpose: Purpose = Purpose.CODE_SIGNING,
    crls: Sequence[Crl] | RevocationSources | None = None,
) -> ChainVerdict:
    """Validate ``leaf_der`` up to one of ``roots`` at ``when`` for ``purpose``.

    ``intermediates``: untrusted candidates (the certificates embedded in the signature).
    ``roots``: trust anchors (DER). ``crls``: None leaves revocation unchecked; a plain list is
    CRLs given as files (every certificate below the root must be covered); ``RevocationSources``
    adds fetched CRLs and the online rules (``catalog.cms.revocation``).
    """
    with warnings.catch_warnings():
        # Real-world roots bundles hold certificates cryptography warns about (negative serials,
        # over-long names); they are data, not our code's problem, and must not abort a verify.
        warnings.simplefilter("ignore")
        return _validate(leaf_der, intermediates, roots, when, purpose, crls)


def _validate(
    leaf_der: bytes,
    intermediates: Sequence[bytes],
    roots: Sequence[bytes],
    when: dt.datetime,
    purpose: Purpose,
    crls: Sequence[Crl] | RevocationSources | None,
) -> ChainVerdict:
    leaf = x509.load_der_x509_certificate(leaf_der)
    when = when.astimezone(dt.UTC)
    pool = _load(intermediates)
    anchors = _load(roots)
    lifetime = is_lifetime_signing(leaf)
    names, reached = _names_path(leaf, pool, anchors)
    revocation = REVOCATION_OFF if crls is None else "not checked (chain not validated)"
    problems: list[str] = []
    path: list[x509.Certificate] | None = None
    if any(_same_cert(leaf, a) for a in anchors) and leaf.issuer == leaf.subject:
        path, problems = [leaf], _self_signed_root_leaf(leaf, when, purpose)
    elif reached:
        path, why = _library_check(leaf, pool, anchors, when, purpose)
        if why is not None:
            problems += _explained(why, names, when, purpose)
    else:
        # Not anchored: still say what is structurally wrong below the last certificate found,
        # validating against it as a provisional anchor.
        top = names[-1]
        if len(names) > 1:
            _, why = _library_check(leaf, names[1:-1], [top], when, purpose)
            if why is not None:
                problems += _explained(why, names, when, purpose)
        else:
            problems += validity_problems([leaf], when)
            if not has_eku(leaf, purpose):
                problems.append(f"signer {_subject(leaf)!r} lacks the {purpose.value} EKU")
    checks: tuple[CertificateRevocation, ...] = ()
    points: tuple[DistributionPoints, ...] = ()
    if path is not None and not problems:
        points = crl_urls([c.public_bytes(Encoding.DER) for c in path])
        if crls is not None:
            sources = crls if isinstance(crls, RevocationSources) else RevocationSources.of(crls)
            revocation, revoked, checks = check_revocation(path, sources, when)
            problems += revoked
    shown = path if path is not None else names
    if not reached:
        top = names[-1]
        if top.issuer == top.subject:
            why = f"untrusted root: {_subject(top)!r} is self-signed and not among the given roots"
        else:
            why = (
                f"untrusted root: the issuer {top.issuer.rfc4514_string()!r} of {_subject(top)!r} "
                "is neither embedded nor among the given roots"
            )
        if not anchors:
            why += " (no --roots given)"
        return ChainVerdict(
            TrustStatus.UNTRUSTED_ROOT,
            tuple(_subject(c) for c in shown),
            (why, *problems),
            revocation,
            lifetime,
        )
    trust = TrustStatus.INVALID if problems else TrustStatus.TRUSTED
    return ChainVerdict(
        trust,
        tuple(_subject(c) for c in shown),
        tuple(problems),
        revocation,
        lifetime,
        checks,
        points,
    )

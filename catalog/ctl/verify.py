"""Verify a catalog's signature and which files it covers (formats.md 4.3, 6.1, 7).

Signature: for EVERY SignerInfo, the messageDigest is recomputed over the CTL contents octets, the
RSA (or ECDSA) signature is checked over the DER SET of authenticated attributes, the contentType
attribute must be szOID_CTL, and the signer certificate must be among the embedded certificates -
any failure raises ``CatalogVerificationError`` naming the signer. Each signer's chain is then
validated by ``catalog.cms.chain`` (CA flags, path lengths, key usages, EKUs, critical extensions,
validity at the signing time - the RFC 3161 timestamp when present and verified, else signingTime,
else now - and, when CRLs are given, revocation); the outcome is a ``SignatureVerdict`` naming the
signer that decided it (an untrusted root is a verdict, not an exception: Windows trusts catalogs
through WDAC policy TBS values, not only through a PKI).

Membership: a file is a member when one of its SIP digests is a subject identifier (v2: raw SHA256
or the raw SHA1 compatibility id; v1: UTF-16LE uppercase hex of the SHA1 + NUL), the member's
SpcIndirectDataContent digest agrees, and its page hashes (when the catalog has them and the hasher
computed the same table) are equal. A file that is not found but whose name matches a member's
``File`` attribute is a hash mismatch (the file changed since cataloguing).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from catalog.asn1 import OID_CTL, OID_MS_RFC3161_TIMESTAMP
from catalog.cms import (
    REVOCATION_OFF,
    CertificateRevocation,
    CheckedSignerInfo,
    Crl,
    DistributionPoints,
    Purpose,
    RevocationSources,
    RevocationState,
    TimestampInfo,
    certificate_names,
    check_signer_info,
    validate_chain,
    verify_token,
)
from catalog.cms import TrustStatus as TrustStatus
from catalog.ctl.build import v1_identifier
from catalog.ctl.read import CatalogEntry, MemberType, ParsedCatalog
from catalog.errors import CatalogError, CatalogVerificationError
from catalog.records import FileDigests, FileFailure, HashAlgorithm, HashResult


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """The outcome of checking a catalog's signature (the cryptography itself already passed).

    A catalog may carry several SignerInfos; each is checked, and the verdict is the worst of them.
    The fields describe the signer that made the verdict (``signer_index``, 1-based: the first
    signer whose chain failed, or the first signer when all passed); ``signers`` holds every
    signer's own verdict in order.
    """

    content_type: str
    signer_subject: str
    signer_issuer: str
    digest_algorithm: str
    message_digest: str
    """Uppercase hex of the messageDigest (equal to the recomputed value, else we raised)."""
    chain: tuple[str, ...]
    """Subjects from the signer up to the last certificate found (the root when trusted)."""
    trust: TrustStatus
    problems: tuple[str, ...]
    """Why the chain is not trusted or invalid (empty when trusted)."""
    checked_at: dt.datetime
    """The time validity was checked at."""
    time_source: str
    """``timestamp``, ``signingTime``, ``now`` or ``now (lifetime signing)``."""
    timestamp: dt.datetime | None = None
    timestamp_authority: str | None = None
    revocation: str = REVOCATION_OFF
    """Whether revocation was checked (off unless CRLs are given) and what the CRLs said."""
    signer_index: int = 1
    signer_count: int = 1
    signers: tuple[SignatureVerdict, ...] = ()
    """Every signer's own verdict (empty inside those per-signer verdicts)."""
    revocation_checks: tuple[CertificateRevocation, ...] = ()
    """Per certificate below the root (signer's chain, then the TSA's): revoked, good, unknown."""
    distribution_points: tuple[DistributionPoints, ...] = ()
    """CRL URLs of the validated paths (signer's, then the TSA's) below the root."""

    @property
    def ok(self) -> bool:
        return self.trust is TrustStatus.TRUSTED

    @property
    def revocation_unknown(self) -> tuple[CertificateRevocation, ...]:
        """Certificates, of every signer, whose revocation could not be checked."""
        every = self.signers or (self,)
        return tuple(
            c for v in every for c in v.revocation_checks if c.state is RevocationState.UNKNOWN
        )

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ok": self.ok,
            "content_type": self.content_type,
            "signer_subject": self.signer_subject,
            "signer_issuer": self.signer_issuer,
            "digest_algorithm": self.digest_algorithm,
            "message_digest": self.message_digest,
            "chain": list(self.chain),
            "trust": self.trust.value,
            "problems": list(self.problems),
            "checked_at": self.checked_at.isoformat(),
            "time_source": self.time_source,
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
            "timestamp_authority": self.timestamp_authority,
            "revocation": self.revocation,
            "revocation_checks": [c.to_dict() for c in self.revocation_checks],
            "signer_index": self.signer_index,
            "signer_count": self.signer_count,
        }
        if self.signers:
            doc["signers"] = [s.to_dict() for s in self.signers]
        return doc


def _timestamp(
    checked: CheckedSignerInfo, certificates: Sequence[bytes], source: str
) -> TimestampInfo | None:
    for oid, values in checked.unsigned_attributes:
        if oid == OID_MS_RFC3161_TIMESTAMP and values:
            return verify_token(
                values[0], checked.encrypted_digest, source, extra_certificates=certificates
            )
    return None


def _check_signer(
    catalog: ParsedCatalog,
    index: int,
    source: str,
    roots: Sequence[bytes],
    now: dt.datetime | None,
    crls: Sequence[Crl] | RevocationSources | None,
) -> SignatureVerdict:
    count = len(catalog.signer_infos)
    where = source if count == 1 else f"{source} (signer {index} of {count})"
    checked = check_signer_info(
        catalog.signer_infos[index - 1], catalog.ctl_contents, catalog.certificates, where
    )
    if checked.content_type != OID_CTL:
        raise CatalogVerificationError(
            f"{where}: the signed contentType is {checked.content_type}, not the catalog's "
            f"{OID_CTL}; the signature belongs to other content"
        )
    problems: list[str] = []
    stamp: TimestampInfo | None = None
    try:
        stamp = _timestamp(checked, catalog.certificates, where)
    except CatalogError as exc:
        problems.append(f"timestamp: {exc}")
    clock = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    when: dt.datetime
    tsa_checks: tuple[CertificateRevocation, ...] = ()
    tsa_points: tuple[DistributionPoints, ...] = ()
    if stamp is not None:
        when, time_source = stamp.gen_time, "timestamp"
        tsa = validate_chain(
            stamp.tsa_certificate,
            catalog.certificates,
            roots,
            stamp.gen_time,
            Purpose.TIME_STAMPING,
            crls,
        )
        problems += [f"timestamp authority chain: {p}" for p in tsa.problems]
        tsa_checks, tsa_points = tsa.revocation_checks, tsa.distribution_points
    elif checked.signing_time is not None:
        when, time_source = checked.signing_time, "signingTime"
    else:
        when, time_source = clock, "now"
    leaf = certificate_names(checked.certificate)
    if leaf.lifetime_signing and time_source != "now":
        # Windows: a lifetimeSigning certificate's signatures expire with it, timestamp or not.
        when, time_source = clock, "now (lifetime signing)"
    when = when.astimezone(dt.UTC)
    verdict = validate_chain(
        checked.certificate, catalog.certificates, roots, when, Purpose.CODE_SIGNING, crls
    )
    trust = verdict.trust
    if trust is TrustStatus.TRUSTED and problems:
        trust = TrustStatus.INVALID
    return SignatureVerdict(
        content_type=checked.content_type,
        signer_subject=leaf.subject,
        signer_issuer=leaf.issuer,
        digest_algorithm=checked.digest_algorithm,
        message_digest=checked.message_digest.hex().upper(),
        chain=verdict.chain,
        trust=trust,
        problems=(*verdict.problems, *problems),
        checked_at=when,
        time_source=time_source,
        timestamp=None if stamp is None else stamp.gen_time,
        timestamp_authority=None if stamp is None else stamp.tsa_subject,
        revocation=verdict.revocation,
        signer_index=index,
        signer_count=count,
        revocation_checks=(*verdict.revocation_checks, *tsa_checks),
        distribution_points=(*verdict.distribution_points, *tsa_points),
    )


_RANK = {TrustStatus.TRUSTED: 0, TrustStatus.UNTRUSTED_ROOT: 1, TrustStatus.INVALID: 2}


def verify_signature(
    catalog: ParsedCatalog,
    source: str,
    roots: Sequence[bytes] = (),
    now: dt.datetime | None = None,
    crls: Sequence[Crl] | RevocationSources | None = None,
) -> SignatureVerdict:
    """Check every signature of the catalog; ``CatalogVerificationError`` when one is bad.

    ``roots``: DER certificates trusted as anchors. ``now``: the clock when a signature carries
    neither a timestamp nor a signingTime (default: the current time). ``crls``: check revocation
    against these CRLs (None: revocation is not checked, and the verdict says so;
    ``RevocationSources``: fetched CRLs too, see ``catalog.cms.revocation``).
    The verdict is the worst signer's (as osslsigncode and ``openssl cms -verify``, which require
    every signer to verify); it names which signer made it.
    """
    if not catalog.signer_infos:
        raise CatalogVerificationError(
            f"{source}: the catalog is not signed (no SignerInfo); sign it with `inspector sign`"
        )
    verdicts = [
        _check_signer(catalog, i, source, roots, now, crls)
        for i in range(1, len(catalog.signer_infos) + 1)
    ]
    worst = max(verdicts, key=lambda v: (_RANK[v.trust], -v.signer_index))
    return dataclasses.replace(worst, signers=tuple(verdicts))


# --- membership ----------------------------------------------------------------------------------


class MemberStatus(enum.Enum):
    MEMBER = "member"
    NOT_MEMBER = "not a member"
    HASH_MISMATCH = "hash mismatch"
    PAGE_HASH_MISMATCH = "page hash mismatch"
    ERROR = "error"
    """The file could not be hashed (its reason is in ``detail``)."""


@dataclass(frozen=True, slots=True)
class MembershipVerdict:
    path: str
    status: MemberStatus
    identifier: str | None = None
    """The matching subject identifier (hex, or the v1 text tag)."""
    identifier_kind: str | None = None
    """``sha256``, ``sha1 (compatibility entry)`` or ``sha1 (v1 tag)``."""
    page_hashes: str = "absent"
    """``checked``, ``absent`` (catalog has none), ``not computed`` (the hasher gave none)."""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is MemberStatus.MEMBER

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "status": self.status.value,
            "identifier": self.identifier,
            "identifier_kind": self.identifier_kind,
            "page_hashes": self.page_hashes,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class MemberIndex:
    """Catalog subjects by identifier and by lower-cased ``File`` name, for batch lookups."""

    by_identifier: dict[bytes, CatalogEntry]
    by_name: dict[str, tuple[CatalogEntry, ...]]

    @classmethod
    def of(cls, catalog: ParsedCatalog) -> MemberIndex:
        by_id: dict[bytes, CatalogEntry] = {}
        by_name: dict[str, list[CatalogEntry]] = {}
        for entry in catalog.members:
            by_id.setdefault(entry.identifier, entry)
            if entry.file_name:
                by_name.setdefault(entry.file_name.lower(), []).append(entry)
        return cls(by_id, {k: tuple(v) for k, v in by_name.items()})


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _candidates(digests: FileDigests) -> list[tuple[bytes, str, HashAlgorithm]]:
    out: list[tuple[bytes, str, HashAlgorithm]] = []
    sha256 = digests.sip_digest(HashAlgorithm.SHA256)
    sha1 = digests.sip_digest(HashAlgorithm.SHA1)
    if sha256 is not None:
        out.append((sha256, "sha256", HashAlgorithm.SHA256))
    if sha1 is not None:
        out.append((sha1, "sha1 (compatibility entry)", HashAlgorithm.SHA1))
        out.append((v1_identifier(sha1), "sha1 (v1 tag)", HashAlgorithm.SHA1))
    return out


def check_member(index: MemberIndex, result: HashResult) -> MembershipVerdict:
    """Where does one hashed file stand in the catalog (formats.md 4.3)?"""
    if isinstance(result, FileFailure):
        return MembershipVerdict(result.path, MemberStatus.ERROR, detail=result.error)
    digests = result
    for ident, kind, alg in _candidates(digests):
        entry = index.by_identifier.get(ident)
        if entry is None:
            continue
        shown = entry.identifier_text
        expected = digests.sip_digest(alg)
        if (
            entry.digest is not None
            and entry.digest_algorithm == alg.value
            and (entry.digest != expected)
        ):
            return MembershipVerdict(
                digests.path,
                MemberStatus.HASH_MISMATCH,
                shown,
                kind,
                detail="the subject identifier matches but its SpcIndirectData digest differs",
            )
        if entry.page_hashes is None:
            return MembershipVerdict(digests.path, MemberStatus.MEMBER, shown, kind)
        table = digests.page_table(entry.page_hashes.algorithm)
        if table is None:
            note = digests.page_hash_note or "the hasher computed no page hashes for this file"
            return MembershipVerdict(
                digests.path, MemberStatus.MEMBER, shown, kind, "not computed", note
            )
        if table != entry.page_hashes:  # compact fields; pairs are built only to name a difference
            bad = next(
                (
                    f"first difference at offset 0x{a[0]:X}"
                    for a, b in zip(table.entries, entry.page_hashes.entries, strict=False)
                    if a != b
                ),
                f"{len(table)} computed entries vs {len(entry.page_hashes)}",
            )
            return MembershipVerdict(
                digests.path, MemberStatus.PAGE_HASH_MISMATCH, shown, kind, "mismatch", bad
            )
        return MembershipVerdict(digests.path, MemberStatus.MEMBER, shown, kind, "checked")
    named = index.by_name.get(_basename(digests.path).lower())
    if named:
        have = (digests.sip_digest(HashAlgorithm.SHA256) or b"").hex().upper()
        why = "it changed since it was catalogued"
        if named[0].member_type is MemberType.CAB:
            # MakeCat hashes CABs with the CAB SIP, which this tool does not implement (formats.md
            # 4.3); the flat hash we compute can never match such a member.
            why = "the catalog used the CAB SIP digest, which inspector does not compute"
        return MembershipVerdict(
            digests.path,
            MemberStatus.HASH_MISMATCH,
            named[0].identifier_text,
            detail=(
                f"the catalog lists a file named {named[0].file_name!r} with another digest; "
                f"this file's SIP SHA256 is {have} ({why})"
            ),
        )
    return MembershipVerdict(
        digests.path,
        MemberStatus.NOT_MEMBER,
        detail="none of the file's SIP digests is a subject of the catalog",
    )


def check_members(catalog: ParsedCatalog, results: Sequence[HashResult]) -> list[MembershipVerdict]:
    index = MemberIndex.of(catalog)
    return [check_member(index, r) for r in results]

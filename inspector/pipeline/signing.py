"""The jobs of ``inspector sign``, ``verify`` and ``catalog tbs`` (formats.md 6, 7).

Reads the files, calls the pure catalog functions, writes outputs atomically (temp file in the
target folder, then rename: an error never leaves a partial catalog) and returns records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import CatalogError
from catalog.asn1 import TbsHash, certificates_in, tbs_hash_of
from catalog.cms import (
    CertificateRevocation,
    CrlSource,
    Fetched,
    FetchLimits,
    KeySigner,
    RevocationSources,
    SigningIdentity,
    SignOptions,
    Transport,
    fetch_crls,
    http_transport,
    load_crls,
    open_file_signer,
    plan_fetches,
    require_timestamp,
    timestamp_servers,
)
from catalog.ctl import (
    MembershipVerdict,
    ParsedCatalog,
    SignatureVerdict,
    check_members,
    parse_catalog,
    sign_catalog_der,
    verify_signature,
)
from catalog.pe import HashOptions, HashProgress, hash_paths
from inspector.pipeline.files import (
    MAX_CATALOG,
    MAX_CERTIFICATE,
    check_arguments,
    read_input,
    write_atomically,
)

SCHEMA_VERSION = 1


def load_identity(
    *,
    cert: Path | None = None,
    key: Path | None = None,
    pfx: Path | None = None,
    chain: Path | None = None,
    password: bytes | None = None,
) -> SigningIdentity:
    """A signing identity from ``cert`` + ``key`` (PEM/DER) or ``pfx``; ``chain`` adds CAs."""

    def read(path: Path | None, what: str) -> tuple[bytes, str] | None:
        return None if path is None else (read_input(path, what, limit=MAX_CERTIFICATE), str(path))

    return open_file_signer(
        cert=read(cert, "certificate"),
        key=read(key, "private key"),
        pfx=read(pfx, "PFX"),
        chain=read(chain, "certificate chain"),
        password=password,
    )


@dataclass(frozen=True, slots=True)
class SignResult:
    catalog: str
    output: str
    size: int
    sha256: str
    signer: str
    issuer: str
    certificates: int
    members: int
    timestamped: bool
    backend: str = "file"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "catalog": self.catalog,
            "output": self.output,
            "size": self.size,
            "sha256": self.sha256,
            "signer": self.signer,
            "issuer": self.issuer,
            "certificates": self.certificates,
            "members": self.members,
            "timestamped": self.timestamped,
            "backend": self.backend,
        }


def sign_catalog_bytes(
    data: bytes,
    source: str,
    identity: KeySigner,
    *,
    options: SignOptions | None = None,
    now: dt.datetime | None = None,
    timestamp_url: str | None = None,
    transport: Transport = http_transport,
    timestamp_urls: Sequence[str] = (),
    allow_unstamped: bool = False,
) -> tuple[bytes, int]:
    """Pre-flight the signer, check ``data`` is a catalog, and (re-)sign it.

    ``timestamp_urls`` (and ``timestamp_url``) are tried in order; the token is verified before
    the signature is returned. Returns the signed bytes and the number of trusted subjects.
    """
    urls = [*([timestamp_url] if timestamp_url else []), *timestamp_urls]
    stamper = timestamp_servers(urls, transport)
    require_timestamp(identity, stamper is not None, allow_unstamped)
    return sign_catalog_der(
        data,
        source,
        identity,
        now=now or dt.datetime.now(dt.UTC),
        options=options,
        stamper=stamper,
    )


def sign_catalog(
    catalog: Path,
    identity: KeySigner,
    *,
    output: Path | None = None,
    options: SignOptions | None = None,
    now: dt.datetime | None = None,
    timestamp_url: str | None = None,
    transport: Transport = http_transport,
    timestamp_urls: Sequence[str] = (),
    allow_unstamped: bool = False,
) -> SignResult:
    """Sign ``catalog`` (MakeCat's or ours, signed or not) into ``output`` (default: in place)."""
    data = read_input(catalog, "catalog", limit=MAX_CATALOG)
    signed, subjects = sign_catalog_bytes(
        data,
        str(catalog),
        identity,
        options=options,
        now=now,
        timestamp_url=timestamp_url,
        transport=transport,
        timestamp_urls=timestamp_urls,
        allow_unstamped=allow_unstamped,
    )
    target = output or catalog
    write_atomically(target, signed)
    return SignResult(
        catalog=str(catalog),
        output=str(target),
        size=len(signed),
        sha256=hashlib.sha256(signed).hexdigest().upper(),
        signer=identity.certificate.subject.rfc4514_string(),
        issuer=identity.certificate.issuer.rfc4514_string(),
        certificates=1 + len(identity.chain),
        members=subjects,
        timestamped=bool(timestamp_url or timestamp_urls),
        backend=identity.backend,
    )


@dataclass(frozen=True, slots=True)
class VerifyReport:
    catalog: str
    signature: SignatureVerdict | None
    signature_error: str | None
    """Why the signature is bad (set instead of ``signature``)."""
    members: tuple[MembershipVerdict, ...]
    online: bool = False
    """CRLs were fetched from the certificates' distribution points (``--online``)."""
    fetches: tuple[Fetched, ...] = ()
    """Every CRL URL of the validated paths: fetched (body size) or why not."""

    @property
    def ok(self) -> bool:
        return self.signature is not None and self.signature.ok and all(m.ok for m in self.members)

    @property
    def revocation_unknown(self) -> tuple[CertificateRevocation, ...]:
        """Certificates whose revocation could not be checked (online: not a failure)."""
        return () if self.signature is None else self.signature.revocation_unknown

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "catalog": self.catalog,
            "ok": self.ok,
            "online": self.online,
            "revocation_complete": self.signature is not None
            and bool(self.signature.revocation_checks)
            and not self.revocation_unknown,
            "crl_fetches": [
                {
                    "url": f.url,
                    "bytes": None if f.body is None else len(f.body),
                    "failure": f.failure,
                }
                for f in self.fetches
            ],
            "signature": None if self.signature is None else self.signature.to_dict(),
            "signature_error": self.signature_error,
            "members": [m.to_dict() for m in self.members],
        }


def load_roots(paths: Sequence[Path]) -> list[bytes]:
    roots: list[bytes] = []
    for path in paths:
        roots += certificates_in(
            read_input(path, "root certificate", limit=MAX_CERTIFICATE), str(path)
        )
    return roots


def load_crl_files(paths: Sequence[Path]) -> list[CrlSource]:
    crls: list[CrlSource] = []
    for path in paths:
        crls += [CrlSource(c, str(path)) for c in load_crls(read_input(path, "CRL"), str(path))]
    return crls


def _online_sources(
    parsed: ParsedCatalog,
    source: str,
    anchors: Sequence[bytes],
    now: dt.datetime | None,
    given: RevocationSources,
    limits: FetchLimits,
) -> tuple[RevocationSources, tuple[Fetched, ...]]:
    """Validate once to learn the paths, then fetch their CRL distribution points (http(s) only,
    each URL once, at most ``limits.max_urls``): the sources for the real check."""
    try:
        first = verify_signature(parsed, source, anchors, now, given)
    except CatalogError:
        return given, ()  # the signature itself is bad: nothing to check revocation for
    points = [p for v in (first.signers or (first,)) for p in v.distribution_points]
    wanted, refused = plan_fetches(points, limits.max_urls)
    fetched = (*fetch_crls(wanted, limits), *refused)
    sources = RevocationSources.of(given.crls, fetched, online=True, clock=given.clock)
    return sources, fetched


def verify_catalog(
    catalog: Path,
    files: Sequence[Path] = (),
    *,
    roots: Sequence[Path] = (),
    now: dt.datetime | None = None,
    workers: int | None = None,
    progress: HashProgress | None = None,
    crls: Sequence[Path] | None = None,
    online: bool = False,
    limits: FetchLimits = FetchLimits(),  # noqa: B008
) -> VerifyReport:
    """Check the catalog's signature and chain, then which of ``files`` (folders expand) it covers.

    A catalog that is not a catalog raises ``CatalogInputError``; a bad signature is reported in
    ``signature_error`` so that membership is still listed. ``crls``: CRL files to check
    revocation against (None: revocation is not checked, and the verdict says so). ``online``: also
    fetch the CRLs named by the validated paths' certificates (within ``limits``); a certificate no
    usable CRL covers is then reported as unknown, not failed.
    """
    data = read_input(catalog, "catalog", limit=MAX_CATALOG)
    parsed = parse_catalog(data, str(catalog))
    anchors = load_roots(roots)
    sources: RevocationSources | None = None
    fetches: tuple[Fetched, ...] = ()
    if crls is not None or online:
        clock = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        sources = RevocationSources.of(load_crl_files(crls or ()), clock=clock)
    if online and sources is not None:
        sources, fetches = _online_sources(parsed, str(catalog), anchors, now, sources, limits)
    verdict: SignatureVerdict | None = None
    error: str | None = None
    try:
        verdict = verify_signature(parsed, str(catalog), anchors, now, sources)
    except CatalogError as exc:
        error = str(exc)
    members: list[MembershipVerdict] = []
    if files:
        options = HashOptions(metadata=False, signature=False)
        usable, bad_arguments = check_arguments(files)
        results = hash_paths(usable, options, workers=workers, progress=progress)
        named = {str(f) for f in files}
        # The catalog often sits in the folder it covers: found by expanding a folder, it is
        # not a candidate member (named explicitly, it is checked like any file).
        members = check_members(
            parsed,
            [
                *bad_arguments,
                *(r for r in results if r.path in named or not _same_file(r.path, catalog)),
            ],
        )
    return VerifyReport(str(catalog), verdict, error, tuple(members), online, fetches)


def _same_file(path: str, other: Path) -> bool:
    try:
        return Path(path).samefile(other)
    except OSError:
        return False


def tbs_report(path: Path) -> list[TbsHash]:
    """TBS hash of every certificate in a PEM/DER certificate, a .cat/.p7b or a signed PE."""
    data = read_input(path, "certificate or signed file", limit=MAX_CATALOG)
    return [tbs_hash_of(der, str(path)) for der in certificates_in(data, str(path))]

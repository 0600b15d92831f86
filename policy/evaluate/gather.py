"""Facts from a file's bytes and the catalogs given: the hasher, signature checks, membership.

Pure (bytes in, records out); the pipeline reads the files. It reuses the catalog package: the
hasher (``hash_buffer``: Authenticode, page and flat hashes, version resource, embedded
SpcIndirectDataContent), the SignedData reader and SignerInfo verifier, the catalog reader and its
membership check (formats.md 2-4, 6). A signature counts only when everything verifies (Windows
treats a file with a broken signature as unsigned): the SignerInfo's messageDigest and signature,
the digest it signs against the recomputed image hash (and its page hashes, when embedded, against
the recomputed ones), and every link of the chain built from the embedded certificates. A catalog
signature counts for a file only when that verified catalog lists the file's current SIP hash.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from catalog import CatalogError, FileDigests, FileKind, HashAlgorithm
from catalog.asn1 import (
    OID_CTL,
    OID_MS_RFC3161_TIMESTAMP,
    OID_SPC_INDIRECT_DATA,
    CertificateSummary,
    summarize_certificate,
)
from catalog.cms import (
    CheckedSignerInfo,
    check_signer_info,
    parse_signed_data,
    signature_verifies,
    verify_token,
)
from catalog.ctl import MemberIndex, check_member, parse_catalog
from catalog.pe import HashOptions, decode_signed_data, hash_buffer, parse_pe_layout
from policy.evaluate.facts import CertFacts, FileFacts, SignatureFacts, parse_version
from policy.evaluate.roots import microsoft_roots

_OPTIONS = HashOptions(flat=False)
_MAX_CHAIN = 8
_MAX_NESTED = 4
OID_NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"
"""szOID_NESTED_SIGNATURE: a further Authenticode signature (dual SHA-1/SHA-256 signing)."""


def cert_facts(summary: CertificateSummary) -> CertFacts:
    return CertFacts(
        subject_cn=summary.subject_cn,
        issuer_cn=summary.issuer_cn,
        tbs_hash=summary.tbs_hash,
        ekus=summary.ekus,
        key_id=summary.key_id,
        authority_key_id=summary.authority_key_id,
        self_signed=summary.self_issued,
        subject_attributes=summary.organizations,
    )


def _summaries(ders: Sequence[bytes]) -> list[CertificateSummary]:
    found = []
    for der in ders:
        try:
            found.append(summarize_certificate(der))
        except CatalogError:
            continue
    return found


def verified_chain(
    leaf_der: bytes, pool: Sequence[bytes], roots: Sequence[bytes] = ()
) -> tuple[tuple[CertFacts, ...], str | None]:
    """The chain from the leaf upwards through ``pool``; every link's signature is checked.

    When the embedded certificates stop below the root, the chain is completed with the one of
    ``roots`` (trusted root certificates) whose key verifies the top certificate. Returns the chain
    and the first problem (an embedded link whose signature does not verify), if any.
    """
    try:
        current = summarize_certificate(leaf_der, "signer certificate")
    except CatalogError as exc:
        return (), str(exc)
    loaded = _summaries(pool)
    chain = [cert_facts(current)]
    used = {current.der}
    while not current.self_issued and len(chain) < _MAX_CHAIN:
        parents = [c for c in loaded if c.der not in used and c.subject_key == current.issuer_key]
        if not parents:
            break
        good = next((p for p in parents if signature_verifies(current.der, p.der)), None)
        if good is None:
            return tuple(chain), (
                f"the certificate {current.subject_cn!r} does not verify with its issuer's key"
            )
        chain.append(cert_facts(good))
        used.add(good.der)
        current = good
    if not current.self_issued:
        for root in _summaries(roots):
            if root.subject_key == current.issuer_key and signature_verifies(current.der, root.der):
                chain.append(cert_facts(root))
                break
    return tuple(chain), None


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    """A catalog given to the evaluator: its signature (verified once) and its members."""

    path: str
    signature: SignatureFacts
    members: MemberIndex


def read_catalog(data: bytes, source: str, roots: Sequence[bytes] | None = None) -> CatalogFacts:
    """Parse and verify one catalog; ``CatalogError`` when it is not a catalog at all."""
    parsed = parse_catalog(data, source)
    index = MemberIndex.of(parsed)
    if not parsed.signer_infos:
        sig = SignatureFacts(
            "catalog", False, problem=f"{source}: the catalog is not signed", catalog=source
        )
        return CatalogFacts(source, sig, index)
    try:
        checked = check_signer_info(
            parsed.signer_infos[0], parsed.ctl_contents, parsed.certificates, source
        )
        if checked.content_type != OID_CTL:
            raise CatalogError(f"{source}: the signed content is not a CTL")
    except CatalogError as exc:
        sig = SignatureFacts("catalog", False, problem=str(exc), catalog=source)
        return CatalogFacts(source, sig, index)
    anchors = microsoft_roots() if roots is None else roots
    chain, problem = verified_chain(checked.certificate, parsed.certificates, anchors)
    when = _signing_time(checked, parsed.certificates, source)
    sig = SignatureFacts("catalog", problem is None, chain, problem, source, None, when)
    return CatalogFacts(source, sig, index)


def _signing_time(
    checked: CheckedSignerInfo, certificates: Sequence[bytes], source: str
) -> dt.datetime | None:
    """The verified RFC 3161 timestamp's time, else the signed signingTime attribute, else None.

    Authenticode tools rarely sign a signingTime; the time that counts (SignTimeAfter) is the
    timestamp's. A timestamp that does not verify is ignored (the time is then unknown).
    """
    for oid, values in checked.unsigned_attributes:
        if oid == OID_MS_RFC3161_TIMESTAMP and values:
            try:
                stamp = verify_token(
                    values[0], checked.encrypted_digest, source, extra_certificates=certificates
                )
            except CatalogError:
                continue
            return stamp.gen_time
    return checked.signing_time


def _subsystem(data: bytes) -> int | None:
    if len(data) < 0x40 or data[:2] != b"MZ":
        return None
    (e_lfanew,) = struct.unpack_from("<I", data, 0x3C)
    at = e_lfanew + 24 + 68  # Subsystem: same offset in PE32 and PE32+ optional headers
    if data[e_lfanew : e_lfanew + 4] != b"PE\0\0" or at + 2 > len(data):
        return None
    return int(struct.unpack_from("<H", data, at)[0])


def _embedded(
    data: bytes, digests: FileDigests, source: str, roots: Sequence[bytes]
) -> list[SignatureFacts]:
    """The file's own signatures: the primary one and those nested in it (dual signing)."""
    if not digests.signed or digests.kind is not FileKind.PE:
        return []
    try:
        layout = parse_pe_layout(data, len(data))
        table = data[layout.cert_table_offset : layout.cert_table_offset + layout.cert_table_size]
        (length,) = struct.unpack_from("<I", table, 0)
    except (CatalogError, struct.error) as exc:
        return [SignatureFacts("embedded", False, problem=f"{source}: {exc}")]
    return _authenticode(table[8:length], digests, source, roots, depth=0)


def _authenticode(
    blob: bytes, digests: FileDigests, source: str, roots: Sequence[bytes], depth: int
) -> list[SignatureFacts]:
    """Verify one Authenticode SignedData against the file's recomputed hashes."""
    try:
        claimed = decode_signed_data(blob)
    except CatalogError as exc:
        return [SignatureFacts("embedded", False, problem=f"unreadable signature: {exc}")]
    try:
        alg = HashAlgorithm.parse(claimed.digest_algorithm)
    except ValueError:
        alg = None
    if alg is None or digests.authenticode(alg) != claimed.digest:
        why = (
            "the file's image hash differs from the digest its signature covers (the file "
            "was changed after signing)"
        )
        return [SignatureFacts("embedded", False, problem=why)]
    pages = claimed.page_hashes
    computed = digests.page_table(pages.algorithm) if pages is not None else None
    if pages is not None and computed is not None and computed != pages:
        why = "the page hashes in the signature do not match the file"
        return [SignatureFacts("embedded", False, problem=why)]
    try:
        parts = parse_signed_data(blob, source)
        if parts.content_type != OID_SPC_INDIRECT_DATA or not parts.signer_infos:
            raise CatalogError(f"{source}: the signature holds no Authenticode content")
        checked: CheckedSignerInfo = check_signer_info(
            parts.signer_infos[0], parts.content_octets, parts.certificates, source
        )
    except CatalogError as exc:
        return [SignatureFacts("embedded", False, problem=str(exc))]
    chain, problem = verified_chain(checked.certificate, parts.certificates, roots)
    when = _signing_time(checked, parts.certificates, source)
    found = [SignatureFacts("embedded", problem is None, chain, problem, None, None, when)]
    if depth == 0:
        for oid, values in checked.unsigned_attributes:
            if oid == OID_NESTED_SIGNATURE:
                for nested in values[:_MAX_NESTED]:
                    found += _authenticode(nested, digests, source, roots, depth + 1)
    return found


def _hashes(d: FileDigests) -> tuple[tuple[str, bytes], ...]:
    out: list[tuple[str, bytes]] = []
    prefix = "Authenticode" if d.kind is FileKind.PE else "Flat"
    for alg, name in ((HashAlgorithm.SHA1, "SHA1"), (HashAlgorithm.SHA256, "SHA256")):
        sip = d.sip_digest(alg)
        if sip is not None:
            out.append((f"{prefix} {name}", sip))
    for alg, name in ((HashAlgorithm.SHA1, "SHA1"), (HashAlgorithm.SHA256, "SHA256")):
        page = d.first_page_hash(alg)
        if page is not None:
            out.append((f"Page {name}", page))
    return tuple(out)


def gather_facts(
    data: bytes,
    path: str,
    catalogs: Sequence[CatalogFacts] = (),
    roots: Sequence[bytes] | None = None,
) -> FileFacts:
    """Every fact a policy can test about the file ``data`` found at ``path``.

    ``roots``: trusted root certificates (DER) that complete chains; default Microsoft's roots
    from the root program list (``policy.evaluate.roots``).
    """
    digests = hash_buffer(data, path, _OPTIONS)
    notes: list[str] = []
    if digests.kind is FileKind.PE_NONCONFORMANT:
        notes.append(f"not a conformant PE ({digests.reason}): Windows uses its flat hash")
    signatures: list[SignatureFacts] = []
    anchors = microsoft_roots() if roots is None else roots
    signatures += _embedded(data, digests, path, anchors)
    for cat in catalogs:
        verdict = check_member(cat.members, digests)
        if verdict.ok:
            s = cat.signature
            signatures.append(
                SignatureFacts(
                    "catalog",
                    s.valid,
                    s.chain,
                    s.problem,
                    cat.path,
                    verdict.identifier,
                    s.signing_time,
                )
            )
        elif verdict.identifier is not None or verdict.status.value != "not a member":
            notes.append(f"catalog {cat.path}: {verdict.status.value}: {verdict.detail}")
    meta = digests.metadata
    version = None
    if meta is not None:
        # WDAC compares the binary VS_FIXEDFILEINFO version; the string is a fallback.
        version = parse_version(meta.binary_file_version or meta.file_version)
        if meta.binary_file_version is None and meta.file_version:
            notes.append("no binary FileVersion: the FileVersion string was used")
    return FileFacts(
        path=path,
        name=path.replace("\\", "/").rsplit("/", 1)[-1],
        hashes=_hashes(digests),
        kind=digests.kind.value,
        subsystem=_subsystem(data),
        original_filename=meta.original_filename if meta else None,
        internal_name=meta.internal_name if meta else None,
        file_description=meta.file_description if meta else None,
        product_name=meta.product_name if meta else None,
        file_version=version,
        signatures=tuple(signatures),
        notes=tuple(notes),
    )

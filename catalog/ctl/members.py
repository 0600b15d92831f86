"""Catalog rules shared by every catalog writer: member kind, thisUpdate, attributes (formats.md 4).

Pure: hashed files (``FileDigests``) and .cdf attributes in, ``CatalogMember``/``NameValue``
records and a ``datetime`` out. ``makecat``, ``catalog build``, the tracer's ``stop``/``scan`` and
the catalog benchmark all build their members here, so a file gets the same member whichever
command catalogues it.

Member rules (each reported as a note):
* conformant PE -> PE member (image hashes; page hashes when asked and the file has them);
* non-conformant PE -> flat member (Windows falls back to the flat hash, formats.md 3);
* a PE forced to the flat SIP (``ALTSIPID``) -> flat member.

Time rule: thisUpdate is ``when`` if given, else ``SOURCE_DATE_EPOCH`` (from the ``env`` the
caller passes), else the newest member's modification time in whole seconds, else the caller's
``fallback`` - so the same files give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from catalog.ctl.build import CatalogMember, MemberKind, NameValue
from catalog.errors import CatalogInputError
from catalog.records import FileDigests, FileKind, HashAlgorithm
from cdf.model import CdfAttribute

NOTE_NONCONFORMANT = "non-conformant PE: catalogued as a flat member (Windows uses its flat hash)"
NOTE_FORCED_FLAT = "ALTSIPID forces the flat SIP: catalogued with its flat hash"


def resolve_time(when: datetime | None, env: Mapping[str, str]) -> datetime | None:
    """``when``, else ``SOURCE_DATE_EPOCH`` from ``env`` (reproducible builds), else None."""
    if when is not None:
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError):
            raise CatalogInputError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds: fix or unset it"
            ) from None
    return None


def catalog_time(
    when: datetime | None,
    newest_mtime_ns: int,
    fallback: datetime,
    env: Mapping[str, str],
) -> datetime:
    """A catalog's thisUpdate: ``when``, else ``SOURCE_DATE_EPOCH``, else the newest member's
    modification time (whole seconds, so the same files give the same catalog), else
    ``fallback`` (the caller's clock or the recording's stop time)."""
    resolved = resolve_time(when, env)
    if resolved is not None:
        return resolved
    if newest_mtime_ns > 0:
        return datetime.fromtimestamp(newest_mtime_ns // 1_000_000_000, UTC)
    return fallback


def catalog_attributes(attributes: Sequence[CdfAttribute]) -> tuple[NameValue, ...]:
    """.cdf ATTRn entries (catalog or member) as the name-value attributes the CTL stores."""
    return tuple(NameValue(a.name, a.flags, a.stored_value()) for a in attributes)


def catalog_member(
    name: str,
    digests: FileDigests,
    *,
    version: int,
    page_hashes: bool,
    attributes: tuple[NameValue, ...] = (),
    force_flat: bool = False,
) -> tuple[CatalogMember, list[str]]:
    """The catalog member for one hashed file, and notes on how it was catalogued.

    Conformant PEs become PE members (image hashes, page hashes when asked); everything else,
    and PEs forced to the flat SIP, become flat members, as MakeCat would write them.
    """
    notes: list[str] = []
    kind = MemberKind.PE if digests.kind is FileKind.PE and not force_flat else MemberKind.FLAT
    if force_flat and digests.kind is FileKind.PE:
        notes.append(NOTE_FORCED_FLAT)
    elif digests.kind is FileKind.PE_NONCONFORMANT:
        notes.append(f"{NOTE_NONCONFORMANT}: {digests.reason}")
    if kind is MemberKind.PE:
        sha1 = digests.authenticode(HashAlgorithm.SHA1)
        sha256 = digests.authenticode(HashAlgorithm.SHA256)
    else:
        sha1 = digests.flat(HashAlgorithm.SHA1)
        sha256 = digests.flat(HashAlgorithm.SHA256)
    alg = HashAlgorithm.SHA1 if version == 1 else HashAlgorithm.SHA256
    table = digests.page_table(alg) if kind is MemberKind.PE and page_hashes else None
    if kind is MemberKind.PE and page_hashes and table is None:
        notes.append(f"no page hashes: {digests.page_hash_note or 'not computable'}")
    member = CatalogMember(
        name=name,
        kind=kind,
        sha1=sha1,
        sha256=sha256 if version == 2 else None,
        page_table_sha1=table if version == 1 else None,
        page_table_sha256=table if version == 2 else None,
        attributes=attributes,
    )
    return member, notes


__all__ = [
    "NOTE_FORCED_FLAT",
    "NOTE_NONCONFORMANT",
    "catalog_attributes",
    "catalog_member",
    "catalog_time",
    "resolve_time",
]

"""The jobs of ``inspector makecat``, ``catalog build`` and ``catalog show`` (formats.md 4, 5).

``makecat``: MakeCat's job - parse a .cdf, resolve member paths against the .cdf's folder, hash
every member in one pass on all cores, build the catalog (``catalog.ctl.build``) and write
``Name`` into ``ResultDir`` atomically. ``build_from_paths``: the same from files and folders,
writing the definition (``cdf.builder``/``cdf.writer``) beside the catalog when asked, so that
the .cdf given to ``makecat`` yields the same catalog. ``read_catalog``: parse one catalog for
``catalog show``.

Member rules (each reported per file):
* conformant PE -> PE member (page hashes when the definition asks and the file has them);
* non-conformant PE -> flat member (Windows falls back to the flat hash, formats.md 3);
* CAB (``MSCF``) -> flat member: the CAB SIP is not implemented; MakeCat would write a CAB
  member, so Windows' CAB SIP will not match ours (WDAC does not need CAB members);
* ``ALTSIPID`` = the flat SIP GUID forces a flat member; any other SIP GUID except the PE one is
  refused for that member;
* members without ``<HASH>`` (identified by their literal tag) are refused: WDAC finds catalog
  members by hash only.

Failure policy (MakeCat's -r/-n, MSD-MAKECAT): by default every bad member is reported (with its
.cdf line) and nothing is written; ``fail_fast`` (-r) stops at the first bad member;
``keep_going`` (-n) writes the catalog without the bad members. A run never leaves a partial file.

Time and identifier: the list identifier is derived from the content and thisUpdate is
``when`` if given, else ``SOURCE_DATE_EPOCH``, else the newest member's modification time - so the
same files give the same bytes. ``random_id`` restores MakeCat's random GUID and current time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog import (
    CatalogError,
    CatalogInputError,
    FileDigests,
    FileFailure,
    FileKind,
    HashAlgorithm,
)
from catalog.asn1 import SIP_GUID_PE
from catalog.ctl import (
    CatalogMember,
    CatalogSpec,
    MemberKind,
    NameValue,
    ParsedCatalog,
    SignerSummary,
    build_catalog,
    parse_catalog,
    signer_summaries,
)
from catalog.pe import HashOptions, HashProgress, iter_files
from cdf.builder import build_package_definition
from cdf.errors import CdfInputError
from cdf.model import FLAT_SIP_GUID, CatalogDefinition, CdfAttribute, CdfMember
from cdf.parser import parse
from cdf.paths import resolve_member_path, windows_basename
from cdf.writer import render_bytes
from inspector.pipeline.files import read_input, write_atomically
from inspector.pipeline.fleet import FleetOptions, hash_stream

SCHEMA_VERSION = 1
CAB_MAGIC = b"MSCF"

NOTE_NONCONFORMANT = "non-conformant PE: catalogued as a flat member (Windows uses its flat hash)"
NOTE_CAB = (
    "CAB file: catalogued as a flat member (CAB SIP not implemented; MakeCat would write a CAB "
    "member, which Windows' CAB verification expects)"
)
NOTE_FORCED_FLAT = "ALTSIPID forces the flat SIP: catalogued with its flat hash"


@dataclass(frozen=True, slots=True)
class MemberReport:
    """One member as catalogued."""

    tag: str
    path: str
    line: int | None
    kind: str
    """``pe`` or ``flat``."""
    identifier: str
    """The primary subject identifier as shown by ``catalog show`` (hex, or v1 text)."""
    page_hashes: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "path": self.path,
            "line": self.line,
            "kind": self.kind,
            "identifier": self.identifier,
            "page_hashes": self.page_hashes,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class MemberFailure:
    """A member that could not be catalogued, with where it is defined."""

    tag: str
    path: str
    line: int | None
    error: str
    category: str
    """``input`` or ``environment``."""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.tag}: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "path": self.path,
            "line": self.line,
            "error": self.error,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True)
class CatalogRun:
    """What a makecat/build run did. ``output`` is None when nothing was written."""

    output: Path | None
    cdf_output: Path | None
    version: int
    list_identifier: bytes
    this_update: datetime
    members: tuple[MemberReport, ...]
    failures: tuple[MemberFailure, ...]
    collapsed: tuple[str, ...]
    warnings: tuple[str, ...]
    target: Path
    """Where the catalog goes (or would have gone)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "output": None if self.output is None else str(self.output),
            "cdf_output": None if self.cdf_output is None else str(self.cdf_output),
            "target": str(self.target),
            "version": self.version,
            "list_identifier": self.list_identifier.hex().upper(),
            "this_update": self.this_update.isoformat(),
            "members": [m.to_dict() for m in self.members],
            "failures": [f.to_dict() for f in self.failures],
            "collapsed_duplicates": list(self.collapsed),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class CatalogView:
    """``catalog show``: the parsed catalog and its signers."""

    path: Path
    catalog: ParsedCatalog
    signers: tuple[SignerSummary, ...]


def resolve_time(when: datetime | None, env: Mapping[str, str] | None = None) -> datetime | None:
    """``when``, else ``SOURCE_DATE_EPOCH`` (reproducible-builds convention), else None."""
    if when is not None:
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    epoch = (os.environ if env is None else env).get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError):
            raise CatalogInputError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds: fix or unset it"
            ) from None
    return None


def catalog_time(
    when: datetime | None, newest_mtime_ns: int, fallback: datetime | None = None
) -> datetime:
    """A catalog's thisUpdate: ``when``, else ``SOURCE_DATE_EPOCH``, else the newest member's
    modification time (whole seconds, so the same files give the same catalog), else
    ``fallback``, else now."""
    resolved = resolve_time(when)
    if resolved is not None:
        return resolved
    if newest_mtime_ns > 0:
        return datetime.fromtimestamp(newest_mtime_ns // 1_000_000_000, UTC)
    return fallback if fallback is not None else datetime.now(UTC)


def _is_cab(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == CAB_MAGIC
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class _Job:
    member: CdfMember
    path: str
    line: int | None


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


def _catalog_member(
    job: _Job, digests: FileDigests, version: int, page_hashes: bool
) -> tuple[CatalogMember, MemberReport]:
    force_flat = job.member.alt_sip_id is not None and job.member.alt_sip_id.upper() == (
        FLAT_SIP_GUID
    )
    member, notes = catalog_member(
        job.member.tag,
        digests,
        version=version,
        page_hashes=page_hashes,
        attributes=catalog_attributes(job.member.attributes),
        force_flat=force_flat,
    )
    if digests.kind is FileKind.FLAT and _is_cab(job.path):
        notes.append(NOTE_CAB)
    primary = member.sha1 if version == 1 else member.sha256
    ident = "" if primary is None else primary.hex().upper()
    report = MemberReport(
        tag=job.member.tag,
        path=job.path,
        line=job.line,
        kind=member.kind.value,
        identifier=ident,
        page_hashes=(member.page_table_sha1 or member.page_table_sha256) is not None,
        notes=tuple(notes),
    )
    return member, report


def build_definition(
    definition: CatalogDefinition,
    *,
    base_dir: Path,
    target: Path,
    when: datetime | None = None,
    random_id: bool = False,
    list_identifier: bytes | None = None,
    fail_fast: bool = False,
    keep_going: bool = False,
    drive_map: Mapping[str, str] | None = None,
    workers: int | None = None,
    progress: HashProgress | None = None,
    fleet: FleetOptions | None = None,
    warnings: Sequence[str] = (),
    extra_output: tuple[Path, bytes] | None = None,
    prior_failures: Sequence[MemberFailure] = (),
) -> CatalogRun:
    """Hash the definition's members (paths relative to ``base_dir``) and write ``target``.

    ``extra_output`` (path, bytes) is written atomically after the catalog (the .cdf of
    ``catalog build``), and only when the catalog is written.
    """
    version = definition.effective_catalog_version
    if version not in (1, 2):
        raise CatalogInputError(f"CatalogVersion={version} is not supported: use 1 or 2")
    page_hashes = definition.effective_page_hashes
    failures: list[MemberFailure] = list(prior_failures)
    jobs: list[_Job] = []

    def fail(member: CdfMember, path: str, line: int | None, error: str, category: str) -> None:
        failure = MemberFailure(member.tag, path, line, error, category)
        if fail_fast:
            raise CatalogInputError(f"{target.name}: stopped at the first bad member: {failure}")
        failures.append(failure)

    for member in definition.members:
        line = member.line
        if not member.hashed:
            fail(
                member,
                member.path,
                line,
                "members without <HASH> are identified by their tag, which WDAC cannot use: "
                "write <HASH> before the tag",
                "input",
            )
            continue
        sip = member.alt_sip_id
        if sip is not None and sip.upper() not in (FLAT_SIP_GUID, SIP_GUID_PE):
            fail(
                member,
                member.path,
                line,
                f"ALTSIPID {sip} is not supported: only the flat SIP {FLAT_SIP_GUID} "
                "(or the PE SIP) can be forced",
                "input",
            )
            continue
        try:
            host = str(resolve_member_path(member.path, base_dir, drive_map))
        except CdfInputError as exc:
            fail(member, member.path, line, exc.message, "input")
            continue
        host_path = Path(host)
        if not host_path.is_file():
            reason = (
                "is a folder, not a file"
                if host_path.is_dir()
                else "file not found (paths are relative to the .cdf's folder)"
            )
            fail(member, host, line, f"{host}: {reason}", "input")
            continue
        jobs.append(_Job(member, host, line))

    flat_needed = any(j.member.alt_sip_id is not None for j in jobs)
    options = HashOptions(
        algorithms=frozenset(
            {HashAlgorithm.SHA1} if version == 1 else {HashAlgorithm.SHA1, HashAlgorithm.SHA256}
        ),
        page_hashes=page_hashes,
        metadata=False,
        signature=False,
        flat=flat_needed,
    )
    members: list[CatalogMember] = []
    reports: list[MemberReport] = []
    newest = 0
    results = hash_stream(
        [j.path for j in jobs], options, workers=workers, progress=progress, fleet=fleet
    )
    try:
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, FileFailure):
                fail(job.member, job.path, job.line, result.error, result.category)
                continue
            catalogued, report = _catalog_member(job, result, version, page_hashes)
            members.append(catalogued)
            reports.append(report)
            with contextlib.suppress(OSError):
                newest = max(newest, Path(job.path).stat().st_mtime_ns)
    finally:
        # stop the hashing threads early when -r ends the run at the first bad member
        close = getattr(results, "close", None)
        if close is not None:
            close()

    # MakeCat's behaviour (--random-id) is a random identifier and the current time.
    this_update = catalog_time(when, 0 if random_id else newest)
    if list_identifier is None and random_id:
        list_identifier = secrets.token_bytes(16)
    attributes = catalog_attributes(definition.attributes)
    built = build_catalog(
        CatalogSpec(
            version=version,
            this_update=this_update.replace(microsecond=0),
            members=tuple(members),
            attributes=attributes,
            list_identifier=list_identifier,
        )
    )
    write = not failures or keep_going
    output: Path | None = None
    cdf_output: Path | None = None
    if write:
        write_atomically(target, built.der)
        output = target
        if extra_output is not None:
            write_atomically(extra_output[0], extra_output[1])
            cdf_output = extra_output[0]
    return CatalogRun(
        output=output,
        cdf_output=cdf_output,
        version=version,
        list_identifier=built.list_identifier,
        this_update=this_update.replace(microsecond=0),
        members=tuple(reports),
        failures=tuple(failures),
        collapsed=built.collapsed,
        warnings=tuple(warnings),
        target=target,
    )


def _target(
    definition: CatalogDefinition,
    cdf_path: Path,
    base_dir: Path,
    drive_map: Mapping[str, str] | None,
    warnings: list[str],
) -> Path:
    """ResultDir/Name, both relative to the .cdf's folder (where OSS-SAMPLE ran MakeCat).

    WinAppCli writes ``Name`` as a full Windows path; when its drive has no host folder in
    ``drive_map``, the file name is kept and put in ResultDir (or beside the .cdf), with a warning.
    """
    folder = base_dir
    if definition.result_dir:
        try:
            folder = Path(str(resolve_member_path(definition.result_dir, base_dir, drive_map)))
        except CdfInputError as exc:
            raise CatalogInputError(f"{cdf_path}: ResultDir: {exc.message}") from None
    name = definition.name or f"{cdf_path.stem}.cat"
    if "\\" not in name and "/" not in name:
        return folder / name
    try:
        return Path(str(resolve_member_path(name, folder, drive_map)))
    except CdfInputError as exc:
        fallback = folder / windows_basename(name)
        warnings.append(f"{cdf_path}: Name={name}: {exc.message}; writing {fallback} instead")
        return fallback


def makecat(
    cdf_path: Path,
    *,
    output: Path | None = None,
    when: datetime | None = None,
    random_id: bool = False,
    list_identifier: bytes | None = None,
    fail_fast: bool = False,
    keep_going: bool = False,
    drive_map: Mapping[str, str] | None = None,
    workers: int | None = None,
    progress: HashProgress | None = None,
) -> CatalogRun:
    """MakeCat's job for one .cdf; the catalog goes to ``output`` or ``ResultDir``/``Name``."""
    data = read_input(cdf_path, "catalog definition")
    source = str(cdf_path)
    parsed = parse(data, source=source)
    definition = parsed.definition
    base_dir = cdf_path.resolve().parent
    warnings = [f"{source}: {w}" for w in parsed.warnings]
    if output is None:
        output = _target(definition, cdf_path, base_dir, drive_map, warnings)
    return build_definition(
        definition,
        base_dir=base_dir,
        target=output,
        when=when,
        random_id=random_id,
        list_identifier=list_identifier,
        fail_fast=fail_fast,
        keep_going=keep_going,
        drive_map=drive_map,
        workers=workers,
        progress=progress,
        warnings=tuple(warnings),
    )


def build_from_paths(
    inputs: Sequence[Path],
    output: Path,
    *,
    cdf_output: Path | None = None,
    version: int = 2,
    page_hashes: bool = False,
    catalog_attributes: Sequence[str] = (),
    file_attributes: bool = True,
    when: datetime | None = None,
    random_id: bool = False,
    list_identifier: bytes | None = None,
    keep_going: bool = False,
    workers: int | None = None,
    progress: HashProgress | None = None,
    fleet: FleetOptions | None = None,
) -> CatalogRun:
    """Catalog files and folders (walked recursively) as a Package-Inspector-style definition.

    Paths are written to the .cdf as absolute host paths (the .cdf then rebuilds the same catalog
    with ``makecat`` on this machine). Unreadable folders are reported like bad members.
    """
    if version not in (1, 2):
        raise CatalogInputError(f"catalog version {version} is not 1 (SHA1) or 2 (SHA256)")
    files: list[str] = []
    walk_failures: list[MemberFailure] = []
    for item in iter_files([str(p.resolve()) for p in inputs]):
        if isinstance(item, FileFailure):
            walk_failures.append(MemberFailure(item.path, item.path, None, item.error, "input"))
        else:
            files.append(item)
    if not files and not walk_failures:
        raise CatalogInputError("no files to catalog: give files or non-empty folders")
    try:
        definition = build_package_definition(
            files,
            name=output.name,
            page_hashes=page_hashes,
            catalog_attributes=catalog_attributes,
            file_attributes=file_attributes,
        )
    except CdfInputError as exc:
        raise CatalogInputError(str(exc)) from exc
    if version == 1:
        definition = dataclasses.replace(definition, catalog_version=1, hash_algorithms=("SHA1",))
    extra = None
    if cdf_output is not None:
        extra = (cdf_output, render_bytes(definition))
    return build_definition(
        definition,
        base_dir=Path.cwd(),
        target=output,
        when=when,
        random_id=random_id,
        list_identifier=list_identifier,
        keep_going=keep_going,
        workers=workers,
        progress=progress,
        fleet=fleet,
        extra_output=extra,
        prior_failures=walk_failures,
    )


def read_catalog(path: Path) -> CatalogView:
    """Parse one catalog file for display."""
    data = read_input(path, "catalog")
    parsed = parse_catalog(data, str(path))
    try:
        signers = signer_summaries(parsed)
    except CatalogError:
        signers = ()
    return CatalogView(path, parsed, signers)


__all__ = [
    "CatalogRun",
    "CatalogView",
    "MemberFailure",
    "MemberReport",
    "build_definition",
    "build_from_paths",
    "catalog_attributes",
    "catalog_member",
    "catalog_time",
    "makecat",
    "read_catalog",
    "resolve_time",
    "write_atomically",
]

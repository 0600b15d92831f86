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
import re
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
    ParsedCatalog,
    SignerSummary,
    catalog_attributes,
    catalog_member,
    catalog_time,
    parse_catalog,
    signer_summaries,
)
from catalog.pe import HashOptions, HashProgress, hash_paths, iter_files
from cdf.builder import build_package_definition
from cdf.errors import CdfInputError
from cdf.model import FLAT_SIP_GUID, CatalogDefinition, CdfMember
from cdf.parser import decode, parse
from cdf.paths import resolve_member_path, windows_basename
from inspector.pipeline.files import MAX_CATALOG, check_arguments, read_input
from inspector.pipeline.outputs import build_catalog_der, write_catalog_outputs

SCHEMA_VERSION = 1
CAB_MAGIC = b"MSCF"

NOTE_CAB = (
    "CAB file: catalogued as a flat member (CAB SIP not implemented; MakeCat would write a CAB "
    "member, which Windows' CAB verification expects)"
)


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
        if self.error.startswith(f"{self.tag}: "):  # the message names the file already
            return f"{where}{self.error}"
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
    warnings: Sequence[str] = (),
    cdf_target: Path | None = None,
    prior_failures: Sequence[MemberFailure] = (),
) -> CatalogRun:
    """Hash the definition's members (paths relative to ``base_dir``) and write ``target``.

    ``cdf_target`` receives the definition as a .cdf, atomically after the catalog (the .cdf of
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
            if host_path.is_dir():
                reason = "is a folder, not a file"
            elif host_path.exists():
                reason = "not a regular file (a FIFO, socket or device); only files are catalogued"
            else:
                reason = "file not found (paths are relative to the .cdf's folder)"
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
    results = hash_paths([j.path for j in jobs], options, workers=workers, progress=progress)
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
    this_update = catalog_time(when, 0 if random_id else newest, datetime.now(UTC), os.environ)
    if list_identifier is None and random_id:
        list_identifier = secrets.token_bytes(16)
    built = build_catalog_der(
        definition, members, this_update=this_update, list_identifier=list_identifier
    )
    write = not failures or keep_going
    output: Path | None = None
    cdf_output: Path | None = None
    if write:
        write_catalog_outputs(definition, built, cat=target, cdf=cdf_target)
        output = target
        cdf_output = cdf_target
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


def _header_line(data: bytes, key: str) -> int | None:
    """The line number of ``key=`` in ``[CatalogHeader]`` (for messages), or None."""
    try:
        text = decode(data)[0]
    except CdfInputError:
        return None
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
        elif section == "catalogheader" and line.partition("=")[0].strip().lower() == key:
            return number
    return None


def _escape_reason(name: str) -> str | None:
    """Why the .cdf's ``Name`` could leave ResultDir (None: a name inside it)."""
    parts = re.split(r"[\\/]", name)
    if any(".." in p and p.strip(" .") == "" for p in parts):  # Windows drops trailing dots
        return "'..' climbs out of ResultDir"
    if name.startswith(("\\", "/")):
        return "an absolute path or UNC share is not a name inside ResultDir"
    if not parts[-1] or parts[-1] in (".", ".."):
        return "it names a folder, not a file"
    return None


def _target(
    definition: CatalogDefinition,
    cdf_path: Path,
    data: bytes,
    base_dir: Path,
    drive_map: Mapping[str, str] | None,
    warnings: list[str],
) -> Path:
    """ResultDir/Name, both relative to the .cdf's folder (where OSS-SAMPLE ran MakeCat).

    ``Name`` must stay inside ResultDir: ``..``, absolute POSIX paths and UNC shares are refused
    (``CatalogInputError`` naming the .cdf line). WinAppCli writes ``Name`` as a full Windows
    path (``C:\\Out\\app.cat``): it is honoured only inside the folder the user mapped that
    drive to with ``drive_map``; an unmapped drive keeps the file name, in ResultDir (or beside
    the .cdf), with a warning.
    """
    folder = base_dir
    if definition.result_dir:
        try:
            folder = Path(str(resolve_member_path(definition.result_dir, base_dir, drive_map)))
        except CdfInputError as exc:
            raise CatalogInputError(f"{cdf_path}: ResultDir: {exc.message}") from None
    name = definition.name or f"{cdf_path.stem}.cat"
    why = _escape_reason(name)
    if why is not None:
        line = _header_line(data, "name")
        where = f"line {line}: " if line is not None else ""
        raise CatalogInputError(
            f"{cdf_path}: {where}Name={name}: {why}; MakeCat writes the catalog into ResultDir "
            f"({folder}): give a file name such as {windows_basename(name) or 'package.cat'}"
        )
    if "\\" not in name and "/" not in name:
        return folder / name
    if re.match(r"[A-Za-z]:", name) is None:  # relative, with sub-folders: still inside
        return Path(str(resolve_member_path(name, folder, drive_map)))
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
        output = _target(definition, cdf_path, data, base_dir, drive_map, warnings)
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
) -> CatalogRun:
    """Catalog files and folders (walked recursively) as a Package-Inspector-style definition.

    Paths are written to the .cdf as absolute host paths (the .cdf then rebuilds the same catalog
    with ``makecat`` on this machine). Unreadable folders are reported like bad members.
    """
    if version not in (1, 2):
        raise CatalogInputError(f"catalog version {version} is not 1 (SHA1) or 2 (SHA256)")
    files: list[str] = []
    usable, bad_arguments = check_arguments(inputs)
    walk_failures = [
        MemberFailure(f.path, f.path, None, f.error, f.category) for f in bad_arguments
    ]
    for item in iter_files([str(Path(p).resolve()) for p in usable]):
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
        cdf_target=cdf_output,
        prior_failures=walk_failures,
    )


def read_catalog(path: Path) -> CatalogView:
    """Parse one catalog file for display."""
    data = read_input(path, "catalog", limit=MAX_CATALOG)
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
    "makecat",
    "read_catalog",
]

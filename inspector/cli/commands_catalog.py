"""``inspector makecat``, ``catalog build`` and ``catalog show`` (formats.md 4, 5).

Thin: options in, one ``inspector.pipeline.catalogs`` call, text or ``--json`` out, progress on
stderr. Exit codes: 0 written; 3 some members could not be catalogued (each listed with its .cdf
line; nothing is written unless ``-n``/``--keep-going``); 4 the environment failed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from catalog.ctl import FLAG_BASE64, CatalogEntry, display_value
from cdf import CdfInputError, parse_attribute_text
from inspector.cli.exit_codes import ExitCode
from inspector.cli.groups import catalog_app
from inspector.cli.options import CACHE_HELP, DASK_HELP, MAX_WORKERS, fleet_options, parse_iso_time
from inspector.cli.progress import FileProgress
from inspector.cli.text import count
from inspector.pipeline.catalogs import (
    SCHEMA_VERSION,
    CatalogRun,
    CatalogView,
    build_from_paths,
    makecat,
    read_catalog,
)
from inspector.pipeline.events import EventCatalogRun, catalog_from_events


def register(app: typer.Typer) -> None:
    app.command("makecat")(makecat_command)
    catalog_app.command("build")(build_command)
    catalog_app.command("show")(show_command)


def _time(text: str | None) -> datetime | None:
    return parse_iso_time(
        text,
        option="--time",
        message=f"{text!r} is not an ISO 8601 time such as 2026-01-31T12:00:00Z",
    )


def _catalog_attrs(items: list[str]) -> list[str]:
    """--catalog-attr values, checked here so that a malformed one is a usage error (exit 2)."""
    for number, text in enumerate(items, start=1):
        try:
            parse_attribute_text(text, number, source=f"--catalog-attr {text}")
        except CdfInputError as exc:
            raise typer.BadParameter(exc.message, param_hint="--catalog-attr") from exc
    return items


def _list_id(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        value = bytes.fromhex(text.replace("-", "").strip("{}"))
    except ValueError as exc:
        raise typer.BadParameter("give 32 hex digits", param_hint="--list-id") from exc
    if len(value) != 16:
        raise typer.BadParameter("give 32 hex digits (16 bytes)", param_hint="--list-id")
    return value


def makecat_command(
    cdf: Path = typer.Argument(..., help="The catalog definition (.cdf) to build."),  # noqa: B008
    verbose: bool = typer.Option(False, "-v", "--verbose", help="One line per member."),
    fail_fast: bool = typer.Option(
        False, "-r", help="Stop at the first member that cannot be hashed (MakeCat's -r)."
    ),
    keep_going: bool = typer.Option(
        False, "-n", help="Write the catalog without members that cannot be hashed (MakeCat's -n)."
    ),
    output: Path | None = typer.Option(  # noqa: B008
        None, "--output", "-o", help="Write here instead of ResultDir/Name."
    ),
    when: str | None = typer.Option(
        None, "--time", help="thisUpdate (ISO 8601); default SOURCE_DATE_EPOCH or newest member."
    ),
    random_id: bool = typer.Option(
        False, "--random-id", help="MakeCat's random list identifier and current time."
    ),
    list_id: str | None = typer.Option(None, "--list-id", help="Fixed list identifier (hex)."),
    drive: list[str] = typer.Option(  # noqa: B008
        [], "--drive", help="Map a Windows drive or share to a folder: C=/mnt/image (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    workers: int = typer.Option(
        0, "--workers", "-j", min=0, max=MAX_WORKERS, help="Threads; 0 means one per core."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal)."
    ),
) -> None:
    """Build the catalog a .cdf describes, as MakeCat does.

    Member paths and ResultDir are relative to the .cdf's folder.

    By default every member that cannot be hashed is listed with its .cdf
    line and nothing is written; -r stops at the first one; -n writes the
    catalog without them (exit code 3 either way).

    CAB files are catalogued as flat members. Output is deterministic
    unless --random-id is given.
    """
    if fail_fast and keep_going:
        raise typer.BadParameter("-r and -n contradict each other: pick one", param_hint="-r/-n")
    with FileProgress("hashing", progress) as bar:
        run = makecat(
            cdf,
            output=output,
            when=_time(when),
            random_id=random_id,
            list_identifier=_list_id(list_id),
            fail_fast=fail_fast,
            keep_going=keep_going,
            drive_map=_drives(drive),
            workers=workers or None,
            progress=bar,
        )
    _finish(run, as_json=as_json, verbose=verbose)


def _drives(items: list[str]) -> dict[str, str] | None:
    mapping: dict[str, str] = {}
    for item in items:
        key, sep, folder = item.partition("=")
        if not sep or not key or not folder:
            raise typer.BadParameter(
                f"{item!r}: write DRIVE=FOLDER, e.g. C=/mnt/image", param_hint="--drive"
            )
        mapping[key] = folder
    return mapping or None


def build_command(
    paths: list[Path] = typer.Argument(  # noqa: B008
        None, help="Files and folders to catalog (folders are walked recursively)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The catalog (.cat) to write."),  # noqa: B008
    cdf: Path | None = typer.Option(  # noqa: B008
        None, "--cdf", help="Also write the MakeCat definition (.cdf) that rebuilds it."
    ),
    sha1: bool = typer.Option(False, "--sha1", help="Version 1 catalog (SHA1)."),
    sha256: bool = typer.Option(False, "--sha256", help="Version 2 catalog (SHA256, default)."),
    page_hashes: bool = typer.Option(
        False, "--page-hashes/--no-page-hashes", help="Add page hashes to PE members."
    ),
    catalog_attr: list[str] = typer.Option(  # noqa: B008
        [],
        "--catalog-attr",
        help="Catalog attribute TYPE:NAME:VALUE, repeatable (default OSAttr 2:6.2).",
    ),
    file_attr: bool = typer.Option(
        True, "--file-attr/--no-file-attr", help="Store each member's file name (File attr)."
    ),
    when: str | None = typer.Option(
        None, "--time", help="thisUpdate (ISO 8601); default SOURCE_DATE_EPOCH or newest file."
    ),
    random_id: bool = typer.Option(
        False, "--random-id", help="MakeCat's random list identifier and current time."
    ),
    list_id: str | None = typer.Option(None, "--list-id", help="Fixed list identifier (hex)."),
    keep_going: bool = typer.Option(
        False, "--keep-going", "-n", help="Write the catalog without files that failed."
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="One line per member."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    workers: int = typer.Option(
        0, "--workers", "-j", min=0, max=MAX_WORKERS, help="Threads; 0 means one per core."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal)."
    ),
    cache: Path | None = typer.Option(None, "--cache", help=CACHE_HELP),  # noqa: B008
    dask: str | None = typer.Option(None, "--dask", help=DASK_HELP),
    from_events: list[Path] = typer.Option(  # noqa: B008
        [],
        "--from-events",
        help="Event files (EVTX/XML/CSV/JSON): their Authenticode digests become the members, "
        "no file is read - for files an installer already deleted.",
    ),
) -> None:
    """Catalog files and folders: hash them and write a catalog (and .cdf).

    Non-conformant PEs become flat members (each is listed). CAB files are
    catalogued as flat members (the CAB SIP is not implemented). With --from-events the members
    come from audit/block events instead of files.
    """
    if sha1 and sha256:
        raise typer.BadParameter("--sha1 and --sha256 contradict each other", param_hint="--sha1")
    if from_events:
        if paths:
            raise typer.BadParameter(
                "give files to hash or --from-events, not both", param_hint="--from-events"
            )
        events_run = catalog_from_events(
            from_events, output, version=1 if sha1 else 2, when=_time(when)
        )
        _finish_events(events_run, as_json=as_json, verbose=verbose)
        return
    if not paths:
        raise typer.BadParameter("give files or folders to catalog", param_hint="PATHS")
    with FileProgress("hashing", progress) as bar:
        run = build_from_paths(
            paths,
            output,
            cdf_output=cdf,
            version=1 if sha1 else 2,
            page_hashes=page_hashes,
            catalog_attributes=_catalog_attrs(catalog_attr),
            file_attributes=file_attr,
            when=_time(when),
            random_id=random_id,
            list_identifier=_list_id(list_id),
            keep_going=keep_going,
            workers=workers or None,
            progress=bar,
            fleet=fleet_options(cache, dask),
        )
    _finish(run, as_json=as_json, verbose=verbose)


def _finish_events(run: EventCatalogRun, *, as_json: bool, verbose: bool) -> None:
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=2))
    else:
        if verbose:
            for m in run.members:
                typer.echo(f"{m.tag}: {m.kind} (from event {m.source}) <- {m.path}")
        alg = "SHA1" if run.version == 1 else "SHA256"
        n = len(run.members)
        typer.echo(
            f"wrote {run.output}: version {run.version} ({alg}) catalog, {n} member"
            f"{'' if n == 1 else 's'} from events (no file read), list identifier "
            f"{run.list_identifier.hex().upper()}, thisUpdate {run.this_update.isoformat()}"
        )
    for path, reason in run.skipped:
        typer.echo(f"note: {path}: {reason}", err=True)
    for p in run.events.problems:
        times = f" ({p.count} times)" if p.count > 1 else ""
        typer.echo(f"note: {p.source}: {p.reason}{times}", err=True)
    for path, reason in run.events.failed_inputs:
        typer.echo(f"error: {path}: {reason}", err=True)
    if run.events.failed_inputs:
        raise typer.Exit(int(ExitCode.BAD_INPUT))


def _finish(run: CatalogRun, *, as_json: bool, verbose: bool) -> None:
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=2))
    else:
        typer.echo(render_run(run, verbose=verbose))
    for warning in run.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for failure in run.failures:
        typer.echo(f"error: {failure}", err=True)
    if run.failures:
        total = len(run.members) + len(run.failures)
        outcome = (
            f"the catalog was written without them: {run.output}"
            if run.output is not None
            else f"nothing was written ({run.target}); fix them, or use -n to leave them out"
        )
        typer.echo(
            f"{len(run.failures)} of {count(total, 'member')} could not be catalogued; {outcome}",
            err=True,
        )
        raise typer.Exit(int(ExitCode.BAD_INPUT))


COLLAPSED_SHOWN = 3
"""Duplicate members named one by one in the summary; more are counted (-v names them all)."""


def render_run(run: CatalogRun, *, verbose: bool) -> str:
    alg = "SHA1" if run.version == 1 else "SHA256"
    lines: list[str] = []
    if verbose:
        for m in run.members:
            where = f"line {m.line}: " if m.line is not None else ""
            pages = ", page hashes" if m.page_hashes else ""
            lines.append(f"{where}{m.tag}: {m.kind}{pages} {m.identifier}  <- {m.path}")
    for m in run.members:
        for note in m.notes:
            lines.append(f"note: {m.tag}: {note}")
    if verbose or len(run.collapsed) <= COLLAPSED_SHOWN:
        for name in run.collapsed:
            lines.append(f"note: {name}: same file as another member; listed once")
    else:
        shown = ", ".join(run.collapsed[:COLLAPSED_SHOWN])
        lines.append(
            f"note: {count(len(run.collapsed), 'member')} are the same file as another member "
            f"and are listed once ({shown}, ...; -v lists them all)"
        )
    if run.output is not None:
        lines.append(
            f"wrote {run.output}: version {run.version} ({alg}) catalog, "
            f"{count(len(run.members), 'member')}, list identifier "
            f"{run.list_identifier.hex().upper()}, thisUpdate {run.this_update.isoformat()}"
        )
    if run.cdf_output is not None:
        lines.append(f"wrote {run.cdf_output}")
    return "\n".join(lines)


def show_command(
    catalog: Path = typer.Argument(..., help="The catalog (.cat) to list."),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List a catalog's members, attributes and signers.

    Reads MakeCat's, Microsoft's and our catalogs, v1 and v2, signed or not.
    """
    view = read_catalog(catalog)
    if as_json:
        typer.echo(json.dumps(view_to_dict(view), indent=2))
    else:
        typer.echo(render_view(view))


def _entry_dict(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "identifier": entry.identifier_text,
        "identifier_hex": entry.identifier_hex,
        "file": entry.file_name,
        "type": entry.member_type.value,
        "compat_entry": entry.compat,
        "digest_algorithm": entry.digest_algorithm,
        "digest": None if entry.digest is None else entry.digest.hex().upper(),
        "page_hashes": entry.has_page_hashes,
        "page_hash_entries": None if entry.page_hashes is None else len(entry.page_hashes.entries),
        "attributes": [
            {"name": a.name, "flags": f"0x{a.flags:08X}", "value": display_value(a)}
            for a in entry.attributes
        ],
    }


def view_to_dict(view: CatalogView) -> dict[str, Any]:
    cat = view.catalog
    return {
        "schema_version": SCHEMA_VERSION,
        "path": str(view.path),
        "version": cat.version,
        "list_identifier": None
        if cat.list_identifier is None
        else cat.list_identifier.hex().upper(),
        "this_update": cat.this_update.isoformat(),
        "attributes": [
            {"name": a.name, "flags": f"0x{a.flags:08X}", "value": display_value(a)}
            for a in cat.attributes
        ],
        "members": [_entry_dict(m) for m in cat.members],
        "signed": cat.signed,
        "certificates": len(cat.certificates),
        "signers": [
            {
                "subject": s.subject,
                "serial": s.issuer_serial,
                "digest_algorithm": s.digest_algorithm,
            }
            for s in view.signers
        ],
    }


def render_view(view: CatalogView) -> str:
    cat = view.catalog
    alg = {1: "SHA1", 2: "SHA256"}.get(cat.version, cat.subject_algorithm)
    compat = sum(m.compat for m in cat.members)
    list_id = "-" if cat.list_identifier is None else cat.list_identifier.hex().upper()
    lines = [
        f"{view.path}: version {cat.version or '?'} ({alg}) catalog, "
        f"{count(len(cat.members), 'subject')} ({count(compat, 'SHA1 compatibility entry')})",
        f"list identifier {list_id}, thisUpdate {cat.this_update.isoformat()}",
    ]
    if cat.attributes:
        lines.append("catalog attributes:")
        for a in cat.attributes:
            kind = "base64" if a.flags & FLAG_BASE64 else "text"
            lines.append(f"  {a.name} = {display_value(a)}  (0x{a.flags:08X}, {kind})")
    lines.append("members:")
    width = max((len(m.identifier_text) for m in cat.members), default=10)
    lines.append(f"  {'IDENTIFIER':<{width}}  {'TYPE':<7} {'PAGES':<5}  DIGEST / FILE")
    for m in cat.members:
        if m.compat:
            digest = "(SHA1 compatibility entry)"
        elif m.digest is not None and m.digest.hex().upper() == m.identifier_text.upper():
            digest = f"{m.digest_algorithm} = identifier"
        elif m.digest is not None:
            digest = f"{m.digest_algorithm} {m.digest.hex().upper()}"
        else:
            digest = "-"
        pages = "yes" if m.has_page_hashes else "no"
        name = f"  {m.file_name}" if m.file_name else ""
        lines.append(
            f"  {m.identifier_text:<{width}}  {m.member_type.value:<7} {pages:<5}  {digest}{name}"
        )
    if not cat.signed:
        lines.append("unsigned")
    for s in view.signers:
        who = s.subject or f"certificate serial {s.issuer_serial} (not embedded)"
        lines.append(f"signed by {who} ({s.digest_algorithm})")
    return "\n".join(lines)


__all__ = ["register"]

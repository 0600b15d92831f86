"""``inspector hash``: Authenticode, page and flat hashes of files and folders."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from catalog import ALL_ALGORITHMS, FileDigests, FileKind, HashAlgorithm
from catalog.pe import HashOptions
from inspector.cli.exit_codes import ExitCode
from inspector.cli.options import CACHE_HELP, DASK_HELP, fleet_options
from inspector.cli.progress import FileProgress
from inspector.pipeline.hashing import HashRun, hash_inputs

SCHEMA_VERSION = 1


def register(app: typer.Typer) -> None:
    app.command("hash")(hash_command)


def hash_command(
    paths: list[Path] = typer.Argument(  # noqa: B008
        ..., help="Files and folders (folders are walked recursively; links to folders are not)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document for machines."),
    algorithms: str = typer.Option(
        "sha1,sha256", "--algorithms", "-a", help="Comma-separated digests: sha1, sha256."
    ),
    page_hashes: bool = typer.Option(
        True, "--page-hashes/--no-page-hashes", help="Compute page-hash tables (4096-byte pages)."
    ),
    metadata: bool = typer.Option(
        True, "--metadata/--no-metadata", help="Read version resources (OriginalFilename, ...)."
    ),
    workers: int = typer.Option(0, "--workers", "-j", help="Threads; 0 means one per core."),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: when a terminal)."
    ),
    cache: Path | None = typer.Option(None, "--cache", help=CACHE_HELP),  # noqa: B008
    dask: str | None = typer.Option(None, "--dask", help=DASK_HELP),
) -> None:
    """Hash files exactly as Windows does (Authenticode, page, first-page and flat hashes).

    Authenticode SHA1/SHA256 include the 8-byte zero padding of unsigned files; page-hash tables
    use 4096-byte pages; entry 0 is WDAC's "Hash Page" value.

    Exit codes: 0 every file hashed; 3 some files could not be read or parsed (each is listed
    with the reason, the others are still printed); 2 bad options.
    """
    try:
        chosen = frozenset(HashAlgorithm.parse(a) for a in algorithms.split(",") if a.strip())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--algorithms") from exc
    if not chosen:
        raise typer.BadParameter("name at least one algorithm", param_hint="--algorithms")
    options = HashOptions(algorithms=chosen, page_hashes=page_hashes, metadata=metadata)
    with FileProgress("hashing", progress) as bar:
        run = hash_inputs(
            paths,
            options,
            workers=workers or None,
            progress=bar,
            fleet=fleet_options(cache, dask),
        )
    if as_json:
        typer.echo(json.dumps(_document(run, chosen), indent=2))
    else:
        typer.echo(render_text(run))
    for failure in run.failures:
        typer.echo(f"error: {failure.error}", err=True)
    if run.failures:
        typer.echo(
            f"{len(run.failures)} of {len(run.files) + len(run.failures)} files could not be "
            "hashed (listed above)",
            err=True,
        )
        raise typer.Exit(int(ExitCode.BAD_INPUT))


def _document(run: HashRun, chosen: frozenset[HashAlgorithm]) -> dict[str, object]:
    return {
        "schema_version": SCHEMA_VERSION,
        "algorithms": sorted(a.value for a in (chosen & ALL_ALGORITHMS)),
        "files": [f.to_dict() for f in run.files],
        "failures": [f.to_dict() for f in run.failures],
    }


_KIND_TEXT = {
    FileKind.PE: "conformant PE",
    FileKind.PE_NONCONFORMANT: "non-conformant PE: flat hashes apply",
    FileKind.FLAT: "not a PE: flat hashes apply",
}


def render_text(run: HashRun) -> str:
    """The human view: one labelled block per file, hex in uppercase as Windows prints it."""
    blocks = [_block(f) for f in run.files]
    pe = sum(f.kind is FileKind.PE for f in run.files)
    summary = f"{len(run.files)} files hashed ({pe} conformant PE, {len(run.files) - pe} flat)" + (
        f", {len(run.failures)} failed" if run.failures else ""
    )
    return "\n\n".join([*blocks, summary])


def _block(f: FileDigests) -> str:
    rows: list[tuple[str, str]] = []
    kind = _KIND_TEXT[f.kind]
    head = ", ".join(x for x in (f.pe_format, kind, "signed" if f.signed else None) if x)
    rows.append(("type", f"{head}; {f.size:,} bytes"))
    if f.reason and f.kind is not FileKind.FLAT:
        rows.append(("why", f.reason))
    for alg in HashAlgorithm:
        value = f.authenticode(alg)
        if value is not None:
            rows.append((f"authenticode {alg.value}", value.hex().upper()))
    for alg in HashAlgorithm:
        table = f.page_table(alg)
        if table is not None:
            rows.append(
                (
                    f"page {alg.value}",
                    f"{table.first_page.hex().upper()}  ({len(table.entries)} entries)",
                )
            )
    if f.page_hash_note:
        rows.append(("page hashes", f"none: {f.page_hash_note}"))
    for alg in HashAlgorithm:
        value = f.flat(alg)
        if value is not None:
            rows.append((f"flat {alg.value}", value.hex().upper()))
    if f.signature is not None:
        matches = f.signature_matches()
        verdict = (
            "not compared"
            if matches is None
            else "matches the file"
            if matches
            else "DOES NOT match: modified after signing"
        )
        rows.append(
            (
                "signature",
                f"{f.signature.digest_algorithm} {f.signature.digest.hex().upper()} ({verdict})",
            )
        )
    elif f.signature_note:
        rows.append(("signature", f.signature_note))
    if f.metadata is not None:
        m = f.metadata
        for label, text in (
            ("original name", m.original_filename),
            ("internal name", m.internal_name),
            ("description", m.file_description),
            ("product", m.product_name),
            ("file version", m.file_version),
        ):
            if text:
                rows.append((label, text))
    width = max(len(label) for label, _ in rows)
    return "\n".join([f.path, *(f"  {label.ljust(width)}  {value}" for label, value in rows)])

"""``inspector hash``: Authenticode, page and flat hashes of files and folders."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import typer

from catalog import (
    ALL_ALGORITHMS,
    FileDigests,
    FileFailure,
    FileKind,
    HashAlgorithm,
    HashResult,
)
from catalog.pe import HashOptions
from inspector.cli.exit_codes import ExitCode
from inspector.cli.options import CACHE_HELP, DASK_HELP, MAX_WORKERS, fleet_options
from inspector.cli.progress import FileProgress
from inspector.cli.text import count
from inspector.pipeline.hashing import stream_inputs

SCHEMA_VERSION = 1


def register(app: typer.Typer) -> None:
    app.command("hash")(hash_command)


def hash_command(
    paths: list[Path] = typer.Argument(  # noqa: B008
        ..., help="Files and folders (folders are walked recursively; links to folders are not)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON document for machines (records written as they finish)."
    ),
    as_jsonl: bool = typer.Option(
        False, "--jsonl", help="NDJSON: one JSON record per line (files, then failures)."
    ),
    algorithms: str = typer.Option(
        "sha1,sha256", "--algorithms", "-a", help="Comma-separated digests: sha1, sha256."
    ),
    page_hashes: bool = typer.Option(
        True,
        "--page-hashes/--no-page-hashes",
        help="First-page hashes (WDAC's Hash Page); see --page-tables for whole tables.",
    ),
    page_tables: bool = typer.Option(
        False, "--page-tables", help="Compute and print whole page-hash tables (4096-byte pages)."
    ),
    metadata: bool = typer.Option(
        True, "--metadata/--no-metadata", help="Read version resources (OriginalFilename, ...)."
    ),
    workers: int = typer.Option(
        0, "--workers", "-j", min=0, max=MAX_WORKERS, help="Worker processes; 0: one per core."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress on stderr (default: when a terminal)."
    ),
    cache: Path | None = typer.Option(None, "--cache", help=CACHE_HELP),  # noqa: B008
    dask: str | None = typer.Option(None, "--dask", help=DASK_HELP),
) -> None:
    """Hash files exactly as Windows does (Authenticode, page, first-page and flat hashes).

    Authenticode SHA1/SHA256 include the 8-byte zero padding of unsigned files; page-hash tables
    use 4096-byte pages; entry 0 is WDAC's "Hash Page" value, always printed. Results are
    printed in input order as they finish, so memory does not grow with the number of files.

    Exit codes: 0 every file hashed; 3 some files could not be read or parsed (each is listed
    with the reason, the others are still printed); 2 bad options.
    """
    try:
        chosen = frozenset(HashAlgorithm.parse(a) for a in algorithms.split(",") if a.strip())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--algorithms") from exc
    if not chosen:
        raise typer.BadParameter("name at least one algorithm", param_hint="--algorithms")
    if as_json and as_jsonl:
        raise typer.BadParameter("choose one of --json and --jsonl", param_hint="--jsonl")
    options = HashOptions(
        algorithms=chosen,
        page_hashes=page_hashes or page_tables,
        page_tables=page_tables,
        metadata=metadata,
    )
    kind = "json" if as_json else "jsonl" if as_jsonl else "text"
    writer = RecordWriter(sys.stdout, kind, chosen, page_tables=page_tables)
    fleet = fleet_options(cache, dask)
    with FileProgress("hashing", progress) as bar:
        for result in stream_inputs(
            paths, options, workers=workers or None, progress=bar, fleet=fleet
        ):
            writer.add(result)
    writer.close()
    for failure in writer.failures:
        typer.echo(f"error: {failure.error}", err=True)
    if writer.failures:
        typer.echo(
            f"{len(writer.failures)} of {count(writer.count, 'file')} could not be hashed "
            "(listed above)",
            err=True,
        )
        raise typer.Exit(int(ExitCode.BAD_INPUT))


class RecordWriter:
    """Writes results as they arrive: text blocks, one JSON document, or NDJSON lines.

    Only failures are kept until the end (the JSON document lists them after the files).
    """

    def __init__(
        self,
        out: TextIO,
        kind: str,
        chosen: frozenset[HashAlgorithm],
        *,
        page_tables: bool,
    ) -> None:
        self._out = out
        self._kind = kind
        self._page_tables = page_tables
        self._chosen = chosen
        self.failures: list[FileFailure] = []
        self.count = 0
        self._pe = 0
        if kind == "json":
            head = {"schema_version": SCHEMA_VERSION, "algorithms": _names(chosen)}
            out.write(json.dumps(head)[:-1] + ', "files": [')

    def add(self, result: HashResult) -> None:
        out = self._out
        if isinstance(result, FileFailure):
            self.failures.append(result)
            self.count += 1
            return
        if self._kind == "text":
            out.write(("\n" if self.count - len(self.failures) else "") + _block(result) + "\n")
        else:
            record = json_record(result, page_tables=self._page_tables)
            if self._kind == "json":
                out.write(("," if self.count - len(self.failures) else "") + "\n" + record)
            else:
                out.write(record + "\n")
        self.count += 1
        self._pe += result.kind is FileKind.PE

    def close(self) -> None:
        out = self._out
        failures = [f.to_dict() for f in self.failures]
        if self._kind == "json":
            out.write("\n], " + json.dumps({"failures": failures})[1:] + "\n")
        elif self._kind == "jsonl":
            for failure in failures:
                out.write(json.dumps({"failure": failure}) + "\n")
        else:
            done = self.count - len(self.failures)
            summary = (
                f"{count(done, 'file')} hashed ({self._pe} conformant PE, {done - self._pe} flat)"
            )
            if self.failures:
                summary += f", {len(self.failures)} failed"
            out.write(("\n" if done else "") + summary + "\n")
        out.flush()


def json_record(result: FileDigests, *, page_tables: bool) -> str:
    """``json.dumps(result.to_dict(page_tables=...))`` (same object, keys in another order),
    with page tables rendered straight to text (``PageHashTable.json_text``): a large PE has tens
    of thousands of entries, and one dict per entry costs more than hashing the page."""
    text = json.dumps(result.to_dict(page_tables=False))
    if not page_tables:
        return text
    parts = [text[:-1]]
    for alg in HashAlgorithm:
        table = result.page_table(alg)
        rendered = "null" if table is None else table.json_text()
        parts.append(f', "page_table_{alg.value}": {rendered}')
    parts.append("}")
    return "".join(parts)


def _names(chosen: frozenset[HashAlgorithm]) -> list[str]:
    return sorted(a.value for a in (chosen & ALL_ALGORITHMS))


_KIND_TEXT = {
    FileKind.PE: "conformant PE",
    FileKind.PE_NONCONFORMANT: "non-conformant PE: flat hashes apply",
    FileKind.FLAT: "not a PE: flat hashes apply",
}


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
                    f"{table.first_page.hex().upper()}  ({len(table)} entries)",
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

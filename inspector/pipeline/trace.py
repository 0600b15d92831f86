"""Package Inspector's ``start``/``stop``/``status``/``scan`` (tracer.md 1.1, 6; formats.md 5.2).

``start`` spawns the recorder (``pipeline.recorder``); ``stop`` and ``scan`` turn the tracer's
``FileManifest`` into the outputs: the file list (``-out list``), the CDF and the catalog
(``-out cdf|cat``, default both; written by ``pipeline.outputs``, the writer ``makecat`` uses),
and always a JSON report with every file, why it is included, which sources saw it, its hashes
and warnings.

Data is decoded once: files hashed at stop stay ``FileDigests`` records all the way to their
catalog members; only the digests captured at close come from the journal's JSON and are decoded
here, once. A name a .cdf line cannot hold (CR, LF, NUL, undecodable bytes) is reported, left out
of the .cdf and kept in the catalog; the report gives its bytes (``path_bytes``, hex) beside the
display form. When the journal was damaged, the outputs come from the two walks, the report says
so and the damaged journal is kept beside the report (``damaged_journal``).
"""

# Plain str paths: they come from the CLI and the manifest as given.
# ruff: noqa: PTH122

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog import FileDigests, FileFailure, file_digests_from_dict
from catalog.ctl import CatalogMember, catalog_member, catalog_time
from catalog.pe import HashProgress
from cdf.builder import build_package_definition, unwritable_path_reason
from inspector.pipeline.fleet import FleetOptions, hash_stream
from inspector.pipeline.outputs import (
    DEFAULT_NAME,
    HASH_OPTIONS,
    OutputOptions,
    OutputPlan,
    build_catalog_der,
    digests_json,
    plan_outputs,
    write_catalog_outputs,
    write_listing,
    write_report,
)
from inspector.pipeline.recorder import recorder_argv
from tracer import (
    FileManifest,
    SessionInfo,
    SessionOptions,
    SessionStatus,
    TracerInputError,
    discard_session,
    list_sessions,
    scan_tree,
    start_session,
    stop_session,
)


def normalise_root_arg(root: str) -> str:
    """Accept Package Inspector's drive form (``C:``) as the drive's root directory."""
    if re.fullmatch(r"[A-Za-z]:", root):
        return root + os.sep
    return root


# -- start / status ---------------------------------------------------------------------------
def start(
    root: str,
    installer: str | None = None,
    options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen record
) -> SessionInfo:
    return start_session(
        normalise_root_arg(root),
        installer=installer,
        options=options,
        recorder_argv=recorder_argv(),
    )


def status() -> list[SessionStatus]:
    return list_sessions()


# -- outputs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TraceMember:
    """One catalogable file handed to the catalog step: its digests at stop when it still
    exists, else its last digests at close (decoded from the journal), else None."""

    path: str
    exists: bool
    digests: FileDigests | None
    problem: str | None = None
    """Why there are no digests (unreadable journal record), for the report."""


@dataclass(frozen=True, slots=True)
class TraceOutputs:
    """What ``stop``/``scan`` produced."""

    manifest: FileManifest
    plan: OutputPlan
    written: tuple[str, ...]
    hashes_at_stop: Mapping[str, FileDigests] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    recovered: bool = False
    damaged_journal: str | None = None
    """Where the damaged journal was kept for inspection (None: the journal was sound)."""

    @property
    def catalogable(self) -> int:
        return sum(1 for e in self.manifest.entries if e.catalogable)


def _hostile(path: str) -> bool:
    """True for a name whose display form loses bytes or breaks a line (CR/LF, undecodable)."""
    return unwritable_path_reason(path) is not None


def build_catalog_outputs(
    members: Sequence[TraceMember],
    plan: OutputPlan,
    opts: OutputOptions,
    *,
    fallback_time_ns: int = 0,
) -> tuple[list[str], list[str]]:
    """Write the .cdf (files that exist; MakeCat hashes them itself) and the .cat (those plus
    the files gone before stop, from their hashes at close - Package Inspector's temporary
    installer files). Returns (written paths, warnings)."""
    try:
        encoding = int(opts.encoding, 0)
    except ValueError as exc:
        raise TracerInputError(f"-en {opts.encoding!r} is not a number (e.g. 0x00010001)") from exc
    warnings: list[str] = []
    existing: list[str] = []
    for m in members:
        if not m.exists:
            continue
        why = unwritable_path_reason(m.path)
        if why is None:
            existing.append(m.path)
        else:
            warnings.append(
                f"{m.path!r}: {why}: left out of the .cdf (MakeCat cannot express it), kept in "
                "the catalog"
            )
    gone = [m for m in members if not m.exists]
    name = plan.cat or os.path.splitext(plan.cdf or DEFAULT_NAME)[0] + ".cat"
    definition = build_package_definition(
        sorted(existing),
        name=name,
        page_hashes=opts.page_hashes,
        encoding_type=encoding,
        catalog_attributes=[a for a in (opts.ca1, opts.ca2) if a],
    )
    built = None
    if plan.cat is not None:
        ctl: list[CatalogMember] = []
        newest = 0
        for m in members:
            if m.digests is None:
                warnings.append(
                    m.problem or f"{m.path}: no usable digests; left out of the catalog"
                )
                continue
            member, notes = catalog_member(
                m.path, m.digests, version=2, page_hashes=opts.page_hashes
            )
            if member.sha1 is None or member.sha256 is None:
                warnings.append(f"{m.path}: no usable digests; left out of the catalog")
                continue
            warnings.extend(f"{m.path}: {note}" for note in notes)
            ctl.append(member)
            if m.exists:
                with contextlib.suppress(OSError):
                    newest = max(newest, Path(m.path).stat().st_mtime_ns)
        fallback = datetime.fromtimestamp(fallback_time_ns // 1_000_000_000, UTC)
        when = catalog_time(None, newest, fallback, os.environ)
        built = build_catalog_der(definition, ctl, this_update=when)
    written = write_catalog_outputs(
        definition,
        built,
        cat=None if plan.cat is None else Path(plan.cat),
        cdf=None if plan.cdf is None else Path(plan.cdf),
    )
    if plan.cdf is not None and gone:
        warnings.append(
            f"{len(gone)} files gone before stop are in the catalog (hashes at close) but "
            "not in the .cdf: MakeCat can only hash files that exist"
        )
    return [str(p) for p in written], warnings


def _hash_survivors(
    manifest: FileManifest, fleet: FleetOptions | None, progress: HashProgress | None = None
) -> tuple[dict[str, FileDigests], list[str]]:
    """Hash every catalogable file that exists at stop (all cores, one read per file)."""
    paths = [e.path for e in manifest.entries if e.exists_at_stop and e.catalogable]
    hashes: dict[str, FileDigests] = {}
    warnings: list[str] = []
    results = hash_stream(paths, HASH_OPTIONS, progress=progress, fleet=fleet)
    for p, result in zip(paths, results, strict=True):
        if isinstance(result, FileFailure):
            warnings.append(f"{p}: could not hash at stop: {result.error}")
        else:
            hashes[p] = result
    return hashes, warnings


def _member(
    path: str, exists: bool, at_stop: FileDigests | None, closes: Sequence[Any]
) -> TraceMember:
    if exists:
        return TraceMember(path, True, at_stop)
    if not closes:
        return TraceMember(path, False, None)
    try:  # the journal's JSON: decoded here, once
        return TraceMember(path, False, file_digests_from_dict({**closes[-1], "path": path}))
    except (KeyError, TypeError, ValueError) as exc:
        why = f"{path}: unreadable digests ({exc}); left out of the catalog"
        return TraceMember(path, False, None, why)


def _report(
    manifest: FileManifest,
    plan: OutputPlan,
    hashes_at_stop: Mapping[str, FileDigests],
    warnings: Sequence[str],
    recovered: bool,
    damaged_journal: str | None,
) -> dict[str, Any]:
    data = manifest.to_dict()
    data["recovered"] = recovered
    data["outputs"] = {"cat": plan.cat, "cdf": plan.cdf, "list": plan.listing}
    data["warnings"] = [*data["warnings"], *warnings]
    if damaged_journal is not None:
        data["damaged_journal"] = damaged_journal
    for entry in data["entries"]:
        if _hostile(entry["path"]):
            entry["path_bytes"] = os.fsencode(entry["path"]).hex()
        d = hashes_at_stop.get(entry["path"])
        h = None if d is None else _without_tables(digests_json(d))
        entry["hashes_at_stop"] = h
        entry["hashes_at_close"] = [_without_tables(c) for c in entry["hashes_at_close"] or ()]
        closes = entry["hashes_at_close"]
        if h is not None and closes and closes[-1] != h:
            entry["warnings"].append(
                "content changed after the last hash at close; the catalog uses the hash at stop"
            )
    return data


def _without_tables(hashes: Mapping[str, Any]) -> dict[str, Any]:
    """The report keeps first-page hashes only: whole page tables are most of its size."""
    return {k: v for k, v in hashes.items() if not k.startswith("page_table_")}


def write_outputs(
    manifest: FileManifest,
    opts: OutputOptions,
    *,
    recovered: bool = False,
    damaged_journal: str | None = None,
    progress: HashProgress | None = None,
) -> TraceOutputs:
    """File list, catalog and CDF, then the JSON report (which names them all)."""
    plan = plan_outputs(opts)
    hashes, warnings = _hash_survivors(manifest, opts.fleet, progress)
    written: list[str] = []
    if plan.listing is not None:
        write_listing(plan.listing, [e.path for e in manifest.entries])
        written.append(plan.listing)
    if plan.cat is not None or plan.cdf is not None:
        members = [
            _member(e.path, e.exists_at_stop, hashes.get(e.path), e.hashes_at_close)
            for e in manifest.entries
            if e.catalogable
        ]
        cat_written, cat_warnings = build_catalog_outputs(
            members, plan, opts, fallback_time_ns=manifest.stopped_ns
        )
        written.extend(cat_written)
        warnings.extend(cat_warnings)
    report = _report(manifest, plan, hashes, warnings, recovered, damaged_journal)
    write_report(plan.report, report)
    written.append(plan.report)
    return TraceOutputs(
        manifest, plan, tuple(written), hashes, tuple(warnings), recovered, damaged_journal
    )


def _keep_journal(journal: str, report: str) -> str:
    """Copy a damaged journal (and its write-ahead log) beside the report: the session folder
    is discarded once the outputs are written."""
    base = report[: -len(".report.json")] if report.endswith(".report.json") else report
    kept = base + ".damaged-journal.sqlite"
    Path(kept).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(journal, kept)
    if Path(journal + "-wal").exists():
        shutil.copyfile(journal + "-wal", kept + "-wal")
    return kept


# -- stop / scan ------------------------------------------------------------------------------
def stop(root: str, opts: OutputOptions, progress: HashProgress | None = None) -> TraceOutputs:
    """Stop (or recover) the session on ``root`` and write its outputs.

    The session is discarded only after every output is in place, so a failed write can be
    retried with the same command.
    """
    result = stop_session(normalise_root_arg(root), keep=True)
    kept = None
    if result.journal_damaged:
        kept = _keep_journal(result.info.journal_path, plan_outputs(opts).report)
    outputs = write_outputs(result.manifest, opts, recovered=result.recovered, damaged_journal=kept)
    discard_session(result.info)
    return outputs


def scan(
    path: str,
    opts: OutputOptions,
    options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen record
    progress: HashProgress | None = None,
) -> TraceOutputs:
    manifest = scan_tree(normalise_root_arg(path), options)
    return write_outputs(manifest, opts, progress=progress)


__all__ = [
    "OutputOptions",
    "OutputPlan",
    "TraceMember",
    "TraceOutputs",
    "build_catalog_outputs",
    "normalise_root_arg",
    "plan_outputs",
    "scan",
    "start",
    "status",
    "stop",
    "write_outputs",
]

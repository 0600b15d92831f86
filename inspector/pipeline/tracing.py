"""Tracing pipeline: start/stop/status/scan composed with the hasher and the catalog writer.

The tracer never imports the hasher or the catalog builder (architecture.md); this module hands
the recorder a hashing callable (so temporary binaries are hashed at close time) and turns a
``FileManifest`` into Package Inspector's outputs (tracer.md 1.1 and 6, formats.md 5.2): the file
list (``-out list``), the CDF and the catalog (``-out cdf|cat``, default both), and always a JSON
report with every file, why it is included, which sources saw it, its hashes and warnings.
Every output is written to a temp file and renamed.

Also the recorder's entry point: ``python -m inspector.pipeline.tracing SESSION_DIR``.
"""

# Plain str paths: they come from the CLI and the manifest as given.
# ruff: noqa: PTH100, PTH103, PTH109, PTH117, PTH118, PTH120, PTH122

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracer.errors import TracerEnvironmentError, TracerInputError
from tracer.recorder import run_recorder
from tracer.records import FileManifest, Hashes, dumps_json
from tracer.session import (
    SessionInfo,
    SessionOptions,
    SessionStatus,
    atomic_write,
    discard_session,
    list_sessions,
    scan_tree,
    start_session,
    stop_session,
)

DEFAULT_NAME = "InspectedPackage"
"""Package Inspector's default output name (formats.md 5.2)."""
DEFAULT_ENCODING = "0x00010001"
OUT_KINDS = ("cat", "cdf", "list")

StopHasher = Callable[[str], Hashes]


def close_hasher() -> StopHasher:
    """The callable the recorder hashes with: the hasher's digests as JSON, minus the path.

    Looked up by name so the tracer pipeline keeps working (without hashes) on a tree where the
    hasher has not landed; once ``catalog.hashing`` exists it is always used.
    """
    try:
        hashing: Any = importlib.import_module("catalog.hashing")
    except ImportError:
        return _no_hash
    options = hashing.HashOptions()

    def digest(path: str) -> Hashes:
        d = hashing.hash_file(path, options)
        data = dict(d.to_dict())
        data.pop("path", None)
        return data

    return digest


def _no_hash(path: str) -> Hashes:
    raise TracerEnvironmentError(f"no hasher available to hash {path} (catalog.hashing missing)")


def recorder_argv() -> list[str]:
    return [sys.executable, "-m", "inspector.pipeline.tracing"]


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
class OutputOptions:
    """Package Inspector's stop/scan options (tracer.md 1.1)."""

    out: str | None = None
    """``cat``, ``cdf`` or ``list``; None writes both the catalog and the CDF."""
    name: str | None = None
    cdf_path: str | None = None
    resdir: str | None = None
    page_hashes: bool = False
    encoding: str = DEFAULT_ENCODING
    ca1: str | None = None
    ca2: str | None = None
    list_path: str | None = None
    report_path: str | None = None

    def __post_init__(self) -> None:
        if self.out is not None and self.out.lower() not in OUT_KINDS:
            raise TracerInputError(f"-out {self.out!r}: use cat, cdf or list")


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Where each requested output goes (absolute paths)."""

    cat: str | None
    cdf: str | None
    listing: str | None
    report: str


def plan_outputs(opts: OutputOptions, cwd: str | None = None) -> OutputPlan:
    """Resolve Package Inspector's naming rules to paths (defaults ``InspectedPackage.*``)."""
    base = os.path.abspath(opts.resdir or cwd or os.getcwd())

    def place(p: str | None, default_ext: str) -> str:
        if p is None:
            return os.path.join(base, DEFAULT_NAME + default_ext)
        if os.path.isabs(p):
            return p
        # A bare -Name goes into -resdir, as MakeCat's Name/ResultDir pair does.
        return os.path.join(base, p) if os.path.dirname(p) == "" else os.path.abspath(p)

    out = None if opts.out is None else opts.out.lower()
    cat = cdf = listing = None
    if out is None:
        cat = place(opts.name, ".cat")
        cdf = place(opts.cdf_path, ".cdf") if opts.cdf_path else os.path.splitext(cat)[0] + ".cdf"
    elif out == "cat":
        cat = place(opts.name, ".cat")
        cdf = place(opts.cdf_path, ".cdf") if opts.cdf_path else None
    elif out == "cdf":
        cdf = place(opts.cdf_path, ".cdf")
    else:
        listing = place(opts.list_path, ".txt")
    primary = cat or cdf or listing
    assert primary is not None
    report = opts.report_path or os.path.splitext(primary)[0] + ".report.json"
    return OutputPlan(cat, cdf, listing, os.path.abspath(report))


@dataclass(frozen=True, slots=True)
class CatalogMember:
    """One file handed to the catalog step: path, and digests when the file is gone."""

    path: str
    exists: bool
    hashes: Hashes | None


@dataclass(frozen=True, slots=True)
class TraceOutputs:
    """What ``stop``/``scan`` produced."""

    manifest: FileManifest
    plan: OutputPlan
    written: tuple[str, ...]
    hashes_at_stop: Mapping[str, Hashes] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    recovered: bool = False

    @property
    def catalogable(self) -> int:
        return sum(1 for e in self.manifest.entries if e.catalogable)


def build_catalog_outputs(
    members: Sequence[CatalogMember], plan: OutputPlan, opts: OutputOptions
) -> list[str]:
    """Write the .cdf/.cat through the catalog pipeline (wip/ctl, wip/cdf).

    Raises ``TracerEnvironmentError`` naming the missing piece while those have not landed.
    """
    try:
        catalogs: Any = importlib.import_module("inspector.pipeline.catalogs")
    except ImportError:
        catalogs = None
    if catalogs is None or not hasattr(catalogs, "write_trace_catalog"):
        raise TracerEnvironmentError(
            "writing .cdf/.cat is not available in this build: the catalog pipeline "
            "(inspector/pipeline/catalogs.py) has not been merged yet. The file list and the JSON "
            f"report were written ({plan.report}); use '-out list' for now"
        )
    written: list[str] = catalogs.write_trace_catalog(members, plan, opts)
    return written


def _hash_survivors(
    manifest: FileManifest, hasher: StopHasher
) -> tuple[dict[str, Hashes], list[str]]:
    hashes: dict[str, Hashes] = {}
    warnings: list[str] = []
    for e in manifest.entries:
        if not (e.exists_at_stop and e.catalogable):
            continue
        try:
            hashes[e.path] = hasher(e.path)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
            warnings.append(f"{e.path}: could not hash at stop: {exc}")
    return hashes, warnings


def _report(
    manifest: FileManifest,
    plan: OutputPlan,
    hashes_at_stop: Mapping[str, Hashes],
    warnings: Sequence[str],
    recovered: bool,
) -> dict[str, Any]:
    data = manifest.to_dict()
    data["recovered"] = recovered
    data["outputs"] = {"cat": plan.cat, "cdf": plan.cdf, "list": plan.listing}
    data["warnings"] = [*data["warnings"], *warnings]
    for entry in data["entries"]:
        h = hashes_at_stop.get(entry["path"])
        entry["hashes_at_stop"] = None if h is None else dict(h)
        closes = entry["hashes_at_close"]
        if h is not None and closes and dict(closes[-1]) != dict(h):
            entry["warnings"].append(
                "content changed after the last hash at close; the catalog uses the hash at stop"
            )
    return data


def write_outputs(
    manifest: FileManifest,
    opts: OutputOptions,
    *,
    hasher: StopHasher | None = None,
    recovered: bool = False,
    cwd: str | None = None,
) -> TraceOutputs:
    """List and report first (they never depend on other branches), then the catalog step."""
    plan = plan_outputs(opts, cwd)
    h = hasher or close_hasher()
    hashes, warnings = ({}, []) if h is _no_hash else _hash_survivors(manifest, h)
    if h is _no_hash:
        warnings.append("hasher not available: no digests in this report")
    written: list[str] = []
    for path in (plan.listing, plan.cat, plan.cdf, plan.report):
        if path is not None:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if plan.listing is not None:
        text = "".join(f"{e.path}\n" for e in manifest.entries)
        atomic_write(plan.listing, text.encode("utf-8", "surrogateescape"), 0o644)
        written.append(plan.listing)
    report = _report(manifest, plan, hashes, warnings, recovered)
    atomic_write(plan.report, (dumps_json(report) + "\n").encode("ascii"), 0o644)
    written.append(plan.report)
    if plan.cat is not None or plan.cdf is not None:
        members = [
            CatalogMember(
                e.path,
                e.exists_at_stop,
                hashes.get(e.path) or (e.hashes_at_close[-1] if e.hashes_at_close else None),
            )
            for e in manifest.entries
            if e.catalogable
        ]
        written.extend(build_catalog_outputs(members, plan, opts))
    return TraceOutputs(manifest, plan, tuple(written), hashes, tuple(warnings), recovered)


# -- stop / scan ------------------------------------------------------------------------------
def stop(
    root: str, opts: OutputOptions, *, hasher: StopHasher | None = None, cwd: str | None = None
) -> TraceOutputs:
    """Stop (or recover) the session on ``root`` and write its outputs.

    The session is discarded only after every output is in place, so a failed write can be
    retried with the same command.
    """
    result = stop_session(normalise_root_arg(root), keep=True)
    outputs = write_outputs(
        result.manifest, opts, hasher=hasher, recovered=result.recovered, cwd=cwd
    )
    discard_session(result.info)
    return outputs


def scan(
    path: str,
    opts: OutputOptions,
    options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen record
    *,
    hasher: StopHasher | None = None,
    cwd: str | None = None,
) -> TraceOutputs:
    manifest = scan_tree(normalise_root_arg(path), options)
    return write_outputs(manifest, opts, hasher=hasher, cwd=cwd)


def main(argv: Sequence[str] | None = None) -> int:
    """Recorder entry point with the hasher attached (spawned by ``start``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m inspector.pipeline.tracing SESSION_DIR", file=sys.stderr)
        return 2
    h = close_hasher()
    return run_recorder(args[0], None if h is _no_hash else h)


if __name__ == "__main__":
    sys.exit(main())

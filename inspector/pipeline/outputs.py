"""The one writer of catalogs, definitions and reports (formats.md 4, 5.2; tracer.md 1.1, 6).

``makecat``/``catalog build`` (``pipeline.catalogs``) and ``stop``/``scan`` (``pipeline.trace``)
both end here: ``build_catalog_der`` turns a definition and its members into catalog bytes (the
catalog attributes come from the definition, thisUpdate in whole seconds), and
``write_catalog_outputs`` writes the .cat then the .cdf rendered from the same definition, each
through a temp file beside the target and a rename (``catalog.files.write_atomically``).

Also Package Inspector's output naming (``-out``, ``-Name``, ``-cdfpath``, ``-resdir``,
``-listpath``; defaults ``InspectedPackage.*``) and the trace report and file list writers.
"""

# Plain str paths: they come from the CLI and the manifest as given.
# ruff: noqa: PTH100, PTH109, PTH117, PTH118, PTH120, PTH122

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from catalog import FileDigests, write_atomically
from catalog.ctl import (
    BuiltCatalog,
    CatalogMember,
    CatalogSpec,
    build_catalog,
    catalog_attributes,
)
from catalog.pe import HashOptions
from cdf.model import CatalogDefinition
from cdf.writer import render_bytes
from inspector.pipeline.fleet import FleetOptions
from tracer import Hashes, TracerInputError, dumps_json

DEFAULT_NAME = "InspectedPackage"
"""Package Inspector's default output name (formats.md 5.2)."""
DEFAULT_ENCODING = "0x00010001"
OUT_KINDS = ("cat", "cdf", "list")

HASH_OPTIONS = HashOptions(metadata=False)
"""Every digest a catalog or policy may need; version resources are not worth the time here."""


def digests_json(digests: FileDigests) -> Hashes:
    """The hasher's digests as JSON for the journal and the report, without the path."""
    data = dict(digests.to_dict())
    data.pop("path", None)
    return data


# -- the catalog writer -----------------------------------------------------------------------
def build_catalog_der(
    definition: CatalogDefinition,
    members: Sequence[CatalogMember],
    *,
    this_update: datetime,
    list_identifier: bytes | None = None,
) -> BuiltCatalog:
    """The catalog of ``definition`` (version, catalog attributes) holding ``members``."""
    return build_catalog(
        CatalogSpec(
            version=definition.effective_catalog_version,
            this_update=this_update.replace(microsecond=0),
            members=tuple(members),
            attributes=catalog_attributes(definition.attributes),
            list_identifier=list_identifier,
        )
    )


def write_catalog_outputs(
    definition: CatalogDefinition,
    built: BuiltCatalog | None,
    *,
    cat: Path | None,
    cdf: Path | None,
) -> list[Path]:
    """Write the catalog (when ``cat`` and ``built``) then the .cdf (when ``cdf``), atomically."""
    written: list[Path] = []
    if cat is not None and built is not None:
        write_atomically(cat, built.der)
        written.append(cat)
    if cdf is not None:
        write_atomically(cdf, render_bytes(definition))
        written.append(cdf)
    return written


# -- trace outputs ----------------------------------------------------------------------------
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
    fleet: FleetOptions | None = None
    """The hash cache and/or Dask cluster for hashing at stop (``--cache``, ``--dask``)."""

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


def write_listing(path: str, paths: Sequence[str]) -> None:
    """``-out list``: one path a line (undecodable POSIX bytes written back as they were)."""
    text = "".join(f"{p}\n" for p in paths)
    write_atomically(Path(path), text.encode("utf-8", "surrogateescape"))


def write_report(path: str, report: Mapping[str, Any]) -> None:
    """The JSON report: deterministic, ASCII, one line."""
    write_atomically(Path(path), (dumps_json(report) + "\n").encode("ascii"))


__all__ = [
    "DEFAULT_ENCODING",
    "DEFAULT_NAME",
    "HASH_OPTIONS",
    "OUT_KINDS",
    "OutputOptions",
    "OutputPlan",
    "build_catalog_der",
    "digests_json",
    "plan_outputs",
    "write_catalog_outputs",
    "write_listing",
    "write_report",
]

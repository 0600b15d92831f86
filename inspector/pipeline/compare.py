"""``inspector catalog diff`` / ``merge`` and ``--previous``: read catalogs, compare or merge them
(catalog/ctl/compare.py), write the merged catalog atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import CatalogInputError, FileDigests, HashAlgorithm, file_digests_from_dict
from catalog.ctl import (
    CatalogDiff,
    MergeResult,
    ParsedCatalog,
    diff_catalogs,
    merge_catalogs,
    parse_catalog,
)
from inspector.pipeline.files import read_input, write_atomically
from inspector.pipeline.trace import TraceOutputs


def diff_files(old: Path, new: Path) -> CatalogDiff:
    """What changed from the catalog ``old`` to the catalog ``new``."""
    return diff_catalogs(
        parse_catalog(read_input(old, "catalog"), str(old)),
        parse_catalog(read_input(new, "catalog"), str(new)),
    )


@dataclass(frozen=True, slots=True)
class Previous:
    catalog: ParsedCatalog
    names: dict[bytes, str]
    """Member names from the previous run's report (Package Inspector catalogs name no files)."""


def _decoded(
    entries: Iterable[tuple[str, Mapping[str, Any] | None]],
) -> Iterator[tuple[str, FileDigests]]:
    """Report entries' hash dicts as records (entries without usable hashes are skipped)."""
    for path, hashes in entries:
        if not hashes:
            continue
        try:
            yield path, file_digests_from_dict({**hashes, "path": path})
        except (KeyError, TypeError, ValueError):
            continue


def _names(entries: Iterable[tuple[str, FileDigests]], root: str) -> dict[bytes, str]:
    """SIP digest (SHA256 and SHA1: v2 primary and compat identifiers) -> path under ``root``."""
    names: dict[bytes, str] = {}
    for path, digests in entries:
        rel = os.path.relpath(path, root) if root else path
        for alg in HashAlgorithm:
            digest = digests.sip_digest(alg)
            if digest is not None:
                names.setdefault(digest, rel)
    return names


def _report_names(report: Path) -> dict[bytes, str]:
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        entries = [
            (str(e["path"]), e.get("hashes_at_stop") or (e.get("hashes_at_close") or [None])[-1])
            for e in data["entries"]
        ]
        return _names(_decoded(entries), str(data.get("root") or ""))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}


def read_previous(previous: Path) -> Previous:
    """The previous version's catalog (and its report's names, when the report is beside it),
    read before the new one may replace it."""
    parsed = parse_catalog(read_input(previous, "previous catalog"), str(previous))
    return Previous(parsed, _report_names(previous.with_suffix(".report.json")))


def changes_since(previous: Previous, result: TraceOutputs) -> CatalogDiff:
    """What an update changed: the previous catalog against the .cat ``stop``/``scan`` wrote."""
    cat = result.plan.cat
    if cat is None or cat not in result.written:
        raise CatalogInputError(
            "--previous compares catalogs, but no .cat was written (drop -out cdf/list)"
        )
    new = Path(cat)
    names = _names(result.hashes_at_stop.items(), result.manifest.root)
    return diff_catalogs(
        previous.catalog,
        parse_catalog(read_input(new, "catalog"), str(new)),
        old_names=previous.names,
        new_names=names,
    )


def merge_files(inputs: Sequence[Path], output: Path) -> MergeResult:
    """Merge catalogs (later inputs win conflicts) into ``output`` (unsigned)."""
    resolved = {p.resolve() for p in inputs}
    if output.resolve() in resolved:
        raise CatalogInputError(f"{output}: the output must not be one of the inputs")
    result = merge_catalogs([(str(p), read_input(p, "catalog")) for p in inputs])
    write_atomically(output, result.built.der)
    return result

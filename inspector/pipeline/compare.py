"""``inspector catalog diff`` / ``merge`` and ``--previous``: read catalogs, compare or merge them
(catalog/ctl/compare.py), write the merged catalog atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from catalog.ctl.compare import CatalogDiff, MergeResult, diff_catalogs, merge_catalogs
from catalog.ctl.read import parse_catalog
from catalog.errors import CatalogInputError
from inspector.pipeline.files import read_input, write_atomically


def diff_files(old: Path, new: Path) -> CatalogDiff:
    """What changed from the catalog ``old`` to the catalog ``new``."""
    return diff_catalogs(
        parse_catalog(read_input(old, "catalog"), str(old)),
        parse_catalog(read_input(new, "catalog"), str(new)),
    )


def diff_against(previous: Path, new_catalog: bytes, new_name: str) -> CatalogDiff:
    """What an update changed: a previous catalog against one just built."""
    return diff_catalogs(
        parse_catalog(read_input(previous, "previous catalog"), str(previous)),
        parse_catalog(new_catalog, new_name),
    )


def merge_files(inputs: Sequence[Path], output: Path) -> MergeResult:
    """Merge catalogs (later inputs win conflicts) into ``output`` (unsigned)."""
    resolved = {p.resolve() for p in inputs}
    if output.resolve() in resolved:
        raise CatalogInputError(f"{output}: the output must not be one of the inputs")
    result = merge_catalogs([(str(p), read_input(p, "catalog")) for p in inputs])
    write_atomically(output, result.built.der)
    return result

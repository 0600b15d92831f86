"""Helpers for the catalog versioninfo tests that more than one lane uses."""

from __future__ import annotations

from pathlib import Path

from catalog.errors import CatalogInputError
from catalog.pe.layout import parse_pe_layout
from catalog.pe.metadata import read_metadata
from catalog.pe.versioninfo import read_version_strings


def compare(paths: list[Path]) -> tuple[int, int]:
    """(PEs compared, PEs with strings); asserts agreement on each."""
    compared = with_strings = 0
    for path in paths:
        data = path.read_bytes()
        try:
            layout = parse_pe_layout(data)
        except CatalogInputError:
            continue
        ours, _ = read_version_strings(data, layout)
        oracle, _ = read_metadata(data)
        assert ours == oracle, path
        compared += 1
        with_strings += oracle is not None
    return compared, with_strings

"""Helpers for the catalog reader tests that more than one lane uses."""

from __future__ import annotations

from pathlib import Path

from catalog.ctl.read import ParsedCatalog, parse_catalog


def load(path: Path) -> ParsedCatalog:
    return parse_catalog(path.read_bytes(), str(path))

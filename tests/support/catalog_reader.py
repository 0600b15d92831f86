"""Helpers shared by the unit, oracle and integration tests of catalog (reader)."""

from __future__ import annotations

from pathlib import Path

from catalog.ctl.read import ParsedCatalog, parse_catalog


def load(path: Path) -> ParsedCatalog:
    return parse_catalog(path.read_bytes(), str(path))

"""File I/O shared by the pipelines: inputs read with clear errors, outputs written atomically
(``catalog.files.write_atomically``, re-exported here for the pipelines)."""

from __future__ import annotations

from pathlib import Path

from catalog import CatalogEnvironmentError, CatalogInputError, write_atomically


def read_input(path: Path, what: str) -> bytes:
    """The bytes of an input file; errors name the file and what it was supposed to be."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise CatalogInputError(f"{path}: {what} not found; check the path") from exc
    except IsADirectoryError as exc:
        raise CatalogInputError(f"{path}: is a folder, expected a {what} file") from exc
    except OSError as exc:
        raise CatalogEnvironmentError(f"{path}: cannot read the {what}: {exc}") from exc


__all__ = ["read_input", "write_atomically"]

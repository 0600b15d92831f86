"""File I/O shared by the pipelines: inputs read with clear errors, outputs written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from catalog import CatalogEnvironmentError, CatalogInputError


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


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temp file in the target folder and a rename: never a partial file.

    The folder is created when missing (MakeCat creates ResultDir too).
    """
    folder = path.parent if str(path.parent) else Path()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CatalogEnvironmentError(f"{path}: cannot create a file in {folder}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CatalogEnvironmentError(f"{path}: cannot write: {exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

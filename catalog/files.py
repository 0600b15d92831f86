"""Writing output files atomically: a temp file beside the target, then a rename.

The one writer of catalogs, definitions, policies and reports (and of the repository's fixtures):
a reader never sees a partial file, an error never leaves one, and a symlink at the target's
final component is replaced, never followed (``rename`` swaps the directory entry).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from catalog.errors import CatalogEnvironmentError


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


__all__ = ["write_atomically"]

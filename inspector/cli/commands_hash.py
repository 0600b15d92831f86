"""``inspector hash``: Authenticode, page and flat hashes of files and folders."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the command to the application (filled in with the hasher)."""

"""Records the file activity of an install (tracer.md): snapshots, live events, processes.

Imports nothing from ``cdf``, ``catalog`` or ``inspector``; hashing at close time goes through a
callable handed in by ``inspector``. The names below are the package's public face: callers
outside ``tracer`` import from here (``from tracer import ...``), never from its modules.
"""

from __future__ import annotations

from tracer.errors import (
    TracerEnvironmentError,
    TracerError,
    TracerInputError,
    TracerVerificationError,
)
from tracer.records import FileManifest, HashCallable, Hashes, ManifestEntry, dumps_json
from tracer.session import (
    SessionStatus,
    StopResult,
    discard_session,
    list_sessions,
    scan_tree,
    start_session,
    stop_session,
)
from tracer.state import STATE_ENV, SessionInfo, SessionOptions

__all__ = [
    "STATE_ENV",
    "FileManifest",
    "HashCallable",
    "Hashes",
    "ManifestEntry",
    "SessionInfo",
    "SessionOptions",
    "SessionStatus",
    "StopResult",
    "TracerEnvironmentError",
    "TracerError",
    "TracerInputError",
    "TracerVerificationError",
    "discard_session",
    "dumps_json",
    "list_sessions",
    "run_recorder",
    "scan_tree",
    "start_session",
    "stop_session",
]


def run_recorder(session_dir: str, hasher: HashCallable | None = None) -> int:
    """Run the detached recorder of ``session_dir`` in this process (the recorder entry point).

    Imported on call so ``python -m tracer.recorder`` does not find its own module half-loaded.
    """
    from tracer.recorder import run_recorder as run

    return run(session_dir, hasher)

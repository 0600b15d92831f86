"""The recorder's entry point with the hasher attached (``python -m inspector.pipeline.recorder``).

``start`` spawns this module (``recorder_argv``); the tracer never imports the hasher
(architecture.md), so the hashing callable is handed to ``tracer.recorder.run_recorder`` here:
files are hashed at close time, so temporary binaries keep their digests (tracer.md 1.1).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from catalog.pe import hash_file
from inspector.pipeline.outputs import HASH_OPTIONS, digests_json
from tracer import HashCallable, run_recorder

MODULE = "inspector.pipeline.recorder"


def close_hasher() -> HashCallable:
    """The callable the recorder hashes with: the hasher's digests as JSON, minus the path.

    It may be handed ``/proc/self/fd/N`` of a file already unlinked (fanotify), so the path in
    the digests record means nothing and is dropped.
    """
    return lambda path: digests_json(hash_file(path, HASH_OPTIONS))


def recorder_argv() -> list[str]:
    """The command ``start`` spawns: this module under the running interpreter."""
    return [sys.executable, "-m", MODULE]


def main(argv: Sequence[str] | None = None) -> int:
    """Recorder entry point with the hasher attached (spawned by ``start``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(f"usage: python -m {MODULE} SESSION_DIR", file=sys.stderr)
        return 2
    return run_recorder(args[0], close_hasher())


if __name__ == "__main__":
    sys.exit(main())

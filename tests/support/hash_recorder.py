"""Recorder entry point for tests: hashes at close with plain hashlib SHA-256.

Tests compare these digests with SHA-256 of the bytes they wrote themselves, an oracle that is
independent of the tracer (the tracer treats the hashes as opaque data).
"""

from __future__ import annotations

import hashlib
import sys

from tracer.recorder import run_recorder
from tracer.records import Hashes


def sha256_of(path: str) -> Hashes:
    with open(path, "rb") as f:
        return {"sha256": hashlib.sha256(f.read()).hexdigest()}


if __name__ == "__main__":
    sys.exit(run_recorder(sys.argv[1], sha256_of))

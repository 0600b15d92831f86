"""Helpers for tests that run real recorders: private state dirs, cleanup, writer processes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from tracer.control import request
from tracer.errors import TracerError
from tracer.liveness import is_locked
from tracer.records import FileManifest, ManifestEntry
from tracer.session import discard_session, start_session
from tracer.state import STATE_ENV, SessionInfo, iter_sessions

HASH_RECORDER = [sys.executable, "-m", "tests.support.hash_recorder"]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LINUX = sys.platform.startswith("linux")
needs_fanotify = pytest.mark.skipif(
    not (IS_ROOT and LINUX), reason="fanotify needs Linux and root (CAP_SYS_ADMIN)"
)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def start(root: Path, **kw: Any) -> SessionInfo:
    """Start a recorder that hashes with hashlib (see hash_recorder)."""
    kw.setdefault("recorder_argv", HASH_RECORDER)
    kw.setdefault("env", child_env())
    return start_session(str(root), **kw)


def run_writer(code: str, *args: str) -> None:
    """Run Python code in a separate process (the 'installer'), failing loudly."""
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=child_env())


def by_path(m: FileManifest) -> dict[str, ManifestEntry]:
    return {e.path: e for e in m.entries}


def recorder_pid(info: SessionInfo) -> int:
    import json

    with open(info.recorder_path, encoding="utf-8") as f:
        return int(json.load(f)["pid"])


def _kill_leftovers() -> None:
    try:
        sessions = list(iter_sessions())
    except TracerError:
        return  # the test broke its own state directory on purpose
    for info in sessions:
        if is_locked(info.lock_path):
            with contextlib.suppress(Exception):
                pid = recorder_pid(info)
                os.kill(pid, signal.SIGCONT)
                try:
                    request(info, {"cmd": "stop"}, 3.0)
                except Exception:  # noqa: BLE001 - fall back to the hard way
                    os.kill(pid, signal.SIGKILL)
        discard_session(info)


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private state directory; every recorder left running is stopped afterwards."""
    d = tmp_path / "state"
    monkeypatch.setenv(STATE_ENV, str(d))
    try:
        yield d
    finally:
        _kill_leftovers()


def fake_pe(tag: bytes) -> bytes:
    """Bytes that pass the PE header check (MZ, e_lfanew -> PE\\0\\0) and are unique per tag."""
    head = bytearray(b"MZ" + b"\0" * 0x3E)
    head[0x3C:0x40] = (0x40).to_bytes(4, "little")
    return bytes(head) + b"PE\0\0" + b"\0" * 60 + tag

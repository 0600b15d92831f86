"""Spawning the detached recorder and waiting for its "READY" line (tracer.md 5.1).

The recorder runs in a new session with no controlling terminal, stdin from the null device,
stdout a pipe that carries "READY" once its baseline is in the journal and its sources are armed,
stderr its log file; it outlives the caller on purpose and is never waited for.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

from tracer.errors import RecorderStartError
from tracer.state import SessionInfo

_WINDOWS: bool = sys.platform == "win32"
READY = "READY"


# -- start ------------------------------------------------------------------------------------
def default_recorder_argv() -> list[str]:
    """Recorder without hashing; ``inspector`` passes its own entry point with a hasher."""
    return [sys.executable, "-m", "tracer.recorder"]


def spawn_recorder(
    info: SessionInfo, argv: list[str], timeout: float, env: Mapping[str, str] | None
) -> None:
    if _WINDOWS:  # pragma: no cover - no posix_spawn; CreateProcess flags instead
        _spawn_windows(info, argv, timeout, env)
        return
    read_fd, write_fd = os.pipe()
    log_fd = os.open(info.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        # posix_spawn with setsid: a new session, no controlling terminal (SIGHUP from a closing
        # terminal never reaches it), stdin from /dev/null, stdout = the ready pipe, stderr = log.
        # Not subprocess.Popen: the recorder outlives us on purpose and must not be waited for.
        pid = os.posix_spawnp(
            argv[0],
            argv,
            dict(os.environ if env is None else env),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, write_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
        )
    except OSError as exc:
        os.close(read_fd)
        raise RecorderStartError(f"cannot run the recorder {argv[0]}: {exc.strerror}") from exc
    finally:
        os.close(write_fd)
        os.close(log_fd)
    try:
        line = _read_line(read_fd, timeout)
    finally:
        os.close(read_fd)
    if line.startswith(READY):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, os.WNOHANG)
    _raise_not_ready(info, line.strip() or "it exited without a word")


def _raise_not_ready(info: SessionInfo, why: str) -> None:
    try:
        with open(info.log_path, encoding="utf-8", errors="replace") as f:
            tail = "".join(f.readlines()[-15:]).strip()
    except OSError:
        tail = ""
    raise RecorderStartError(
        f"the recorder for {info.root} did not become ready ({why})"
        + (f"; its log ends with:\n{tail}" if tail else "")
    )


def _spawn_windows(  # pragma: no cover - Windows
    info: SessionInfo, argv: list[str], timeout: float, env: Mapping[str, str] | None
) -> None:
    flags = 0x00000008 | 0x00000200 | 0x08000000  # DETACHED | NEW_PROCESS_GROUP | NO_WINDOW
    with open(info.log_path, "ab") as log:
        for extra in (0x01000000, 0):  # CREATE_BREAKAWAY_FROM_JOB, then without (access denied)
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    close_fds=True,
                    env=None if env is None else dict(env),
                    creationflags=flags | extra,
                )
                break
            except OSError:
                if not extra:
                    raise
    assert proc.stdout is not None
    line = proc.stdout.readline().decode("utf-8", "replace")
    proc.stdout.close()
    proc.returncode = 0  # detached on purpose: never waited for
    if not line.startswith(READY):
        _raise_not_ready(info, line.strip() or "it exited without a word")


def _read_line(fd: int, timeout: float) -> str:
    import select

    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timed out waiting for the baseline walk"
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode("utf-8", "replace")

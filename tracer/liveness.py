"""Recorder liveness: the exclusive OS lock and the recorder's verified identity (tracer.md 5.2).

Liveness is the recorder's exclusive lock on ``recorder.lock`` (flock / msvcrt.locking, released
by the kernel on crash or SIGKILL), never a pid file. A pid is only signalled after its kernel
start time and the boot id match what the recorder wrote at start (pid reuse, reboots).
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH110

from __future__ import annotations

import errno
import os
import sys
import time
from typing import IO

_WINDOWS: bool = sys.platform == "win32"
if _WINDOWS:
    import msvcrt
else:
    import fcntl


def boot_id() -> str:
    """Identifies the current boot: a reboot between start and stop makes sessions stale."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        # Boot time to the minute from wall clock minus monotonic (Windows: GetTickCount64).
        return f"boot@{int((time.time() - time.monotonic()) // 60)}"


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux: /proc/pid/stat field 22), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            data = f.read()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


class FileLock:
    """An exclusive OS lock on a file (flock / msvcrt.locking); the kernel drops it on death."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._f: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        f = open(self.path, "a+b")  # noqa: SIM115 - held for the lock's lifetime
        try:
            if _WINDOWS:
                f.seek(0)
                getattr(msvcrt, "locking")(f.fileno(), getattr(msvcrt, "LK_NBLCK"), 1)  # noqa: B009 - typeshed hides msvcrt off Windows
            else:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            f.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                return False
            raise
        self._f = f
        return True

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    @property
    def held(self) -> bool:
        return self._f is not None

    def release(self) -> None:
        if self._f is not None:
            self._f.close()  # closing drops flock; msvcrt locks go with the handle too
            self._f = None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(path: str) -> bool:
    """True while some process holds the lock (i.e. the recorder is alive)."""
    if not os.path.exists(path):
        return False
    probe = FileLock(path)
    if probe.try_acquire():
        probe.release()
        return False
    return True

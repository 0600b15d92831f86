"""fanotify live source for Linux as root (tracer.md 0.6, 3.2, 3.3a and 4.2), through ctypes.

Marks the file system (or, where that is refused, the mount) of the recorded root and every mount
below it for ``FAN_CLOSE_WRITE | FAN_OPEN_EXEC``. Each event carries an open file descriptor, so a
file written and closed is classified and hashed at once *through that descriptor* - a temporary
binary unlinked a millisecond later still gets its hash (tracer.md measured 839 of 1,000 hashed
after unlink). ``FAN_OPEN_EXEC`` flags binaries run with ``execve`` (not Wine's mapped PEs, which
the process source covers). ``FAN_UNLIMITED_QUEUE`` lifts the 16,384-event cap; a
``FAN_Q_OVERFLOW`` event still marks the session degraded.

Create/delete/rename events need ``FAN_REPORT_FID`` groups, which deliver file handles instead of
descriptors (fanotify(7): "FAN_NOFD for each event"), so they cannot hash; this source leaves
names of created, moved and deleted files to the snapshot diff and the close-write paths.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH115

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct
import sys
import threading
import time

from tracer.content import DEFAULT_EXTENSIONS, worth_hashing_at_close
from tracer.errors import SourceUnavailableError
from tracer.records import EventKind, FileEvent, HashCallable, Hashes
from tracer.sources.base import EventSink, LiveSource, Scope, content_of_fd

FAN_CLOEXEC = 0x01
FAN_NONBLOCK = 0x02
FAN_CLASS_NOTIF = 0x00
FAN_UNLIMITED_QUEUE = 0x10
FAN_MARK_ADD = 0x01
FAN_MARK_MOUNT = 0x10
FAN_MARK_FILESYSTEM = 0x100
FAN_CLOSE_WRITE = 0x08
FAN_OPEN_EXEC = 0x1000
FAN_Q_OVERFLOW = 0x4000
FAN_NOFD = -1
AT_FDCWD = -100
_META = struct.Struct("=IBBHQii")  # struct fanotify_event_metadata (24 bytes)
_METADATA_VERSION = 3
_DELETED = " (deleted)"
_PSEUDO_FS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs",
     "tracefs", "mqueue", "bpf", "pstore", "configfs", "fusectl", "autofs", "binfmt_misc",
     "hugetlbfs", "rpc_pipefs", "nsfs"}
)  # fmt: skip


def _libc() -> ctypes.CDLL:
    name = ctypes.util.find_library("c") or "libc.so.6"
    lib = ctypes.CDLL(name, use_errno=True)
    lib.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    lib.fanotify_init.restype = ctypes.c_int
    lib.fanotify_mark.argtypes = [
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint64,
        ctypes.c_int,
        ctypes.c_char_p,
    ]
    lib.fanotify_mark.restype = ctypes.c_int
    return lib


def _unescape_mount(field: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo octal.
    out = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_below(root: str, mountinfo: str) -> list[str]:
    """Mount points strictly below ``root`` that hold real files (from mountinfo text)."""
    prefix = root.rstrip("/") + "/"
    found: list[str] = []
    for line in mountinfo.splitlines():
        parts = line.split(" ")
        if "-" not in parts:
            continue
        sep = parts.index("-")
        mnt = _unescape_mount(parts[4])
        fstype = parts[sep + 1] if sep + 1 < len(parts) else ""
        if mnt.startswith(prefix) and fstype not in _PSEUDO_FS:
            found.append(mnt)
    return sorted(set(found))


def fanotify_available() -> str | None:
    """None when this source can run; otherwise why not (for the capability report)."""
    if not sys.platform.startswith("linux"):
        return "fanotify exists only on Linux"
    if os.geteuid() != 0:
        return (
            "fanotify needs root (CAP_SYS_ADMIN); without it transient files get no hash "
            "and executions are not seen"
        )
    return None


class FanotifySource(LiveSource):
    """Close-write and exec events on the root's file systems, hashed through the event fd."""

    name = "fanotify"

    def __init__(
        self,
        scope: Scope,
        hasher: HashCallable | None = None,
        *,
        extensions: frozenset[str] | None = None,
        ignore_pids: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__()
        self._scope = scope
        self._hasher = hasher
        self._extensions = DEFAULT_EXTENSIONS if extensions is None else extensions
        self._ignore = frozenset({os.getpid(), *ignore_pids})
        self._fd = -1
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._sink: EventSink | None = None
        self._hashed: set[str] = set()
        self.marks: list[str] = []

    def arm(self, sink: EventSink) -> None:
        why = fanotify_available()
        if why is not None:
            raise SourceUnavailableError(why)
        lib = _libc()
        fd = lib.fanotify_init(
            FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
            os.O_RDONLY | os.O_LARGEFILE | os.O_CLOEXEC,
        )
        if fd < 0:
            err = ctypes.get_errno()
            raise SourceUnavailableError(f"fanotify_init failed: {os.strerror(err)}")
        mask = FAN_CLOSE_WRITE | FAN_OPEN_EXEC
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
                below = mounts_below(self._scope.root, f.read())
        except OSError:
            below = []
        for path in [self._scope.root, *below]:
            bpath = os.fsencode(path)
            how = "filesystem"
            rc = lib.fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, bpath)
            if rc != 0:
                how = "mount"
                rc = lib.fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MOUNT, mask, AT_FDCWD, bpath)
            if rc != 0:
                err = ctypes.get_errno()
                if path == self._scope.root:
                    os.close(fd)
                    raise SourceUnavailableError(
                        f"fanotify_mark on {path} failed: {os.strerror(err)}"
                    )
                self.mark_degraded(f"could not mark mount {path}: {os.strerror(err)}")
                continue
            self.marks.append(f"{how}:{path}")
        self._fd = fd
        self._wake_r, self._wake_w = os.pipe()
        self._sink = sink
        self._detail = "marks " + ", ".join(self.marks)
        self._thread = threading.Thread(target=self._run, name="fanotify", daemon=True)
        self._thread.start()
        self._armed = True

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join()
        self._thread = None
        for fd in (self._fd, self._wake_r, self._wake_w):
            os.close(fd)
        self._fd = -1

    # -- reader thread ---------------------------------------------------------------------
    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while not self._stop.is_set():
            try:
                poller.poll()
            except InterruptedError:
                continue
            self._drain()
        self._drain()  # everything the kernel queued before close

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 1 << 18)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                self.mark_degraded(f"reading events failed: {exc.strerror}")
                return
            if not data:
                return
            self._parse(data)

    def _parse(self, data: bytes) -> None:
        off = 0
        size = _META.size
        while off + size <= len(data):
            event_len, vers, _r, _ml, mask, fd, pid = _META.unpack_from(data, off)
            if event_len < size:
                break
            off += event_len
            if vers != _METADATA_VERSION:
                self.mark_degraded(f"unexpected fanotify metadata version {vers}")
            if mask & FAN_Q_OVERFLOW or fd == FAN_NOFD:
                self.mark_degraded("kernel event queue overflowed; live events were lost")
                continue
            try:
                self._handle(mask, fd, pid)
            except Exception as exc:  # noqa: BLE001 - one bad event never stops recording
                self.mark_degraded(f"event handling failed: {exc!r}")
            finally:
                os.close(fd)

    def _handle(self, mask: int, fd: int, pid: int) -> None:
        if pid in self._ignore:
            return
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return
        note = None
        if path.endswith(_DELETED):
            path = path[: -len(_DELETED)]
            note = "deleted before the recorder read its event; hashed through the open handle"
        if not self._scope.contains(path):
            return
        now = time.time_ns()
        try:
            st = os.fstat(fd)
            file_id: int | None = st.st_ino
            size: int | None = st.st_size
        except OSError:
            file_id = size = None
        content = content_of_fd(fd)
        catalogable = worth_hashing_at_close(path, content, self._extensions)
        hashes: Hashes | None = None
        hash_note: str | None = None
        wrote = bool(mask & FAN_CLOSE_WRITE)
        if catalogable and self._hasher is not None and (wrote or path not in self._hashed):
            try:
                hashes = self._hasher(f"/proc/self/fd/{fd}")
                self._hashed.add(path)
            except Exception as exc:  # noqa: BLE001 - reported on the file, recording goes on
                hash_note = f"hash at close failed: {exc}"
        notes = "; ".join(n for n in (note, hash_note) if n) or None
        sink = self._sink
        assert sink is not None
        if wrote:
            sink(
                FileEvent(
                    EventKind.WRITTEN,
                    path,
                    self.name,
                    now,
                    None,
                    pid,
                    content,
                    hashes,
                    notes,
                    file_id=file_id,
                    size=size,
                    unlinked=note is not None,
                )
            )
            self._count()
        if mask & FAN_OPEN_EXEC:
            sink(
                FileEvent(
                    EventKind.EXECUTED,
                    path,
                    self.name,
                    now,
                    None,
                    pid,
                    content,
                    None if wrote else hashes,
                    None if wrote else notes,
                )
            )
            self._count()

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
# ruff: noqa: PTH115, PTH118

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import select
import struct
import sys
import threading
import time
from collections.abc import Callable

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
FAN_REPORT_DFID_NAME = 0x400 | 0x800  # FAN_REPORT_DIR_FID | FAN_REPORT_NAME (Linux 5.9)
FAN_CREATE = 0x100
FAN_DELETE = 0x200
FAN_MOVED_FROM = 0x40
FAN_MOVED_TO = 0x80
FAN_RENAME = 0x10000000  # Linux 5.17: one event with the old and the new name
FAN_ONDIR = 0x40000000
INFO_DFID_NAME = 2
INFO_OLD_DFID_NAME = 10
INFO_NEW_DFID_NAME = 12
O_PATH = 0o10000000
_META = struct.Struct("=IBBHQii")  # struct fanotify_event_metadata (24 bytes)
_METADATA_VERSION = 3
_DEEP_NOTE = (
    "events on paths longer than PATH_MAX have no name the kernel can give; files there are "
    "listed from the snapshot walk and hashed at stop, without hashes at close"
)
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
    lib.open_by_handle_at.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.open_by_handle_at.restype = ctypes.c_int
    return lib


def parse_name_records(data: bytes, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
    """Info records of a FID event: ``(info type, struct file_handle bytes, name)`` each.

    Layout (fanotify(7)): header {u8 type, u8 pad, u16 len}, fsid (8 bytes), struct file_handle
    {u32 handle_bytes, i32 handle_type, handle}, then for *_DFID_NAME a NUL-terminated name.
    """
    out: list[tuple[int, bytes, bytes]] = []
    off = start
    while off + 4 <= end:
        info_type, _pad, length = struct.unpack_from("<BBH", data, off)
        if length < 4 or off + length > end:
            break
        if info_type in (INFO_DFID_NAME, INFO_OLD_DFID_NAME, INFO_NEW_DFID_NAME):
            hbytes, _htype = struct.unpack_from("<Ii", data, off + 12)
            handle = data[off + 12 : off + 20 + hbytes]
            name_raw = data[off + 20 + hbytes : off + length]
            out.append((info_type, handle, name_raw.split(b"\0", 1)[0]))
        off += length
    return out


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
        self._name_fd = -1
        self._mount_fds: list[int] = []
        self._name_note: str | None = None
        self._lib: ctypes.CDLL | None = None
        self._dirs: dict[bytes, str | None] = {}

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
        self._arm_names(lib, [self._scope.root, *below])
        self._wake_r, self._wake_w = os.pipe()
        self._sink = sink
        self._detail = (
            "marks "
            + ", ".join(self.marks)
            + (f"; {self._name_note}" if self._name_note else "; name events on")
        )
        self._thread = threading.Thread(target=self._run, name="fanotify", daemon=True)
        self._thread.start()
        self._armed = True

    def _arm_names(self, lib: ctypes.CDLL, paths: list[str]) -> None:
        """A second group reporting directory + name for creations, deletions and renames.

        Names are taken when the event happens (the fd group only names a file when its event
        is read, after a rename or a move out of the root). Best effort: without it (kernel
        < 5.9, file systems without file handles) the snapshot and close events still cover.
        """
        fd = lib.fanotify_init(
            FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE
            | FAN_REPORT_DFID_NAME,
            os.O_RDONLY | os.O_CLOEXEC,
        )  # fmt: skip
        if fd < 0:
            self._name_note = f"no name events: {os.strerror(ctypes.get_errno())}"
            return
        masks = (
            FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_ONDIR,
            FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ONDIR,
        )
        for path in paths:
            for mask in masks:
                bpath = os.fsencode(path)
                if (
                    lib.fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, bpath)
                    == 0
                ):
                    with contextlib.suppress(OSError):
                        self._mount_fds.append(
                            os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                        )
                    break
        if not self._mount_fds:
            os.close(fd)
            self._name_note = "no name events: the file system refused a FID mark"
            return
        self._name_fd = fd
        self._lib = lib

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join()
        self._thread = None
        for fd in (self._fd, self._wake_r, self._wake_w, self._name_fd, *self._mount_fds):
            if fd >= 0:
                os.close(fd)
        self._fd = self._name_fd = -1
        self._mount_fds = []

    # -- reader thread ---------------------------------------------------------------------
    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        if self._name_fd >= 0:
            poller.register(self._name_fd, select.POLLIN)
        while not self._stop.is_set():
            try:
                poller.poll()
            except InterruptedError:
                continue
            self._drain_all()
        self._drain_all()  # everything the kernel queued before close

    def _drain_all(self) -> None:
        # Close-write events first: a rename read before the write it follows would leave the
        # write at the old name (reduce then pairs them by inode).
        self._drain(self._fd, self._parse)
        if self._name_fd >= 0:
            self._drain(self._name_fd, self._parse_names)

    def _drain(self, fd: int, parse: Callable[[bytes], None]) -> None:
        while True:
            try:
                data = os.read(fd, 1 << 18)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                self.mark_degraded(f"reading events failed: {exc.strerror}")
                return
            if not data:
                return
            parse(data)

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

    def _parse_names(self, data: bytes) -> None:
        off = 0
        size = _META.size
        while off + size <= len(data):
            event_len, _v, _r, metalen, mask, fd, pid = _META.unpack_from(data, off)
            if event_len < size:
                break
            start, end = off + metalen, off + event_len
            off = end
            if mask & FAN_Q_OVERFLOW:
                self.mark_degraded("kernel event queue overflowed; name events were lost")
                continue
            if fd >= 0:
                os.close(fd)
            if mask & FAN_ONDIR:
                if mask & (FAN_RENAME | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_DELETE):
                    self._dirs.clear()  # cached directory paths may now be stale
                continue
            if pid in self._ignore:
                continue
            try:
                self._handle_names(mask, pid, parse_name_records(data, start, end))
            except Exception as exc:  # noqa: BLE001 - one bad event never stops recording
                self.mark_degraded(f"name event handling failed: {exc!r}")

    def _dir_path(self, handle: bytes) -> str | None:
        if handle in self._dirs:
            return self._dirs[handle]
        path: str | None = None
        assert self._lib is not None
        for mfd in self._mount_fds:
            dfd = self._lib.open_by_handle_at(mfd, handle, O_PATH | os.O_CLOEXEC)
            if dfd < 0:
                continue
            try:
                path = os.readlink(f"/proc/self/fd/{dfd}").removesuffix(_DELETED)
            except OSError as exc:
                if exc.errno != errno.ENAMETOOLONG:
                    raise
                self.mark_degraded(_DEEP_NOTE)
            finally:
                os.close(dfd)
            break
        if len(self._dirs) > 65536:
            self._dirs.clear()
        self._dirs[handle] = path
        return path

    def _handle_names(self, mask: int, pid: int, records: list[tuple[int, bytes, bytes]]) -> None:
        paths: dict[int, str] = {}
        for info_type, handle, name in records:
            parent = self._dir_path(handle)
            if parent is not None and name:
                paths[info_type] = os.path.join(parent, os.fsdecode(name))
        now = time.time_ns()
        sink = self._sink
        assert sink is not None
        events: list[FileEvent] = []
        if mask & FAN_RENAME:
            old, new = paths.get(INFO_OLD_DFID_NAME), paths.get(INFO_NEW_DFID_NAME)
            if old is not None and new is not None:
                events.append(FileEvent(EventKind.MOVED, old, self.name, now, dest=new, pid=pid))
        here = paths.get(INFO_DFID_NAME)
        if here is not None:
            if mask & (FAN_CREATE | FAN_MOVED_TO):
                events.append(FileEvent(EventKind.CREATED, here, self.name, now, pid=pid))
            if mask & (FAN_DELETE | FAN_MOVED_FROM):
                events.append(FileEvent(EventKind.DELETED, here, self.name, now, pid=pid))
        for ev in events:
            if self._scope.contains(ev.path) or (
                ev.dest is not None and self._scope.contains(ev.dest)
            ):
                sink(ev)
                self._count()

    def _handle(self, mask: int, fd: int, pid: int) -> None:
        if pid in self._ignore:
            return
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                self.mark_degraded(_DEEP_NOTE)
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

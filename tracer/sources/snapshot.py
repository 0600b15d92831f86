"""The snapshot walker: the safety net that catches every surviving change (tracer.md 3.3b).

A baseline walk at ``start`` and a second walk at ``stop``, compared by path in ``reduce``, catch
every regular file that exists at stop and was created or changed, whatever the live sources lost.
Own walker instead of ``watchdog.utils.dirsnapshot`` (tracer.md 0.8 and 4.5): that one follows
symlinks (runaway on ``build/Release -> ..``), diffs moves in quadratic time and cannot see
same-size edits with a restored mtime - we keep ``ctime_ns`` for those.

Rules: never follow symlinks, junctions or other reparse points; a ``(st_dev, st_ino)`` guard skips
directories seen twice (bind-mount loops); unreadable directories are counted and named, never
silently dropped. On POSIX the walk goes through directory file descriptors (``openat`` with
``O_NOFOLLOW``), so paths longer than ``PATH_MAX`` work and a directory swapped for a symlink
mid-walk is not followed; on Windows it uses ``\\\\?\\`` paths for the same reason.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH100, PTH116, PTH118

from __future__ import annotations

import os
import stat as stat_mod
import sys
import time
from collections.abc import Iterable

from tracer.records import Snapshot, StatTuple, WalkStats
from tracer.sources.base import Scope

_WINDOWS = sys.platform == "win32"
_REPARSE_POINT = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT: junctions, symlinks, mount points
_O_DIR = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_FD_WALK = (not _WINDOWS) and os.scandir in os.supports_fd and os.open in os.supports_dir_fd

# Pseudo file systems never hold installed files and can be unbounded (/proc/kcore, loops).
DEFAULT_EXCLUDED_DIRS: tuple[str, ...] = (
    ("/proc", "/sys", "/dev") if not _WINDOWS else ("System Volume Information", "$Recycle.Bin")
)


def default_excluded(root: str) -> list[str]:
    """Pseudo-filesystem directories below ``root`` that no walk should enter."""
    if _WINDOWS:
        drive = os.path.splitdrive(os.path.abspath(root))[0] + os.sep
        return [os.path.join(drive, d) for d in DEFAULT_EXCLUDED_DIRS]
    return list(DEFAULT_EXCLUDED_DIRS)


class _Dir:
    """An open directory fd shared by its pending children; closed when the last one is opened."""

    __slots__ = ("fd", "pending")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = 0

    def release(self) -> None:
        self.pending -= 1
        if self.pending <= 0:
            os.close(self.fd)


def take_snapshot(root: str, excluded_dirs: Iterable[str] = ()) -> Snapshot:
    """Walk ``root`` (an absolute directory path) and return every regular file below it."""
    scope = Scope(root, [*excluded_dirs, *default_excluded(root)])
    start = time.time_ns()
    if _FD_WALK:
        files, stats = _walk_fd(scope)
    else:
        files, stats = _walk_path(scope)
    return Snapshot(root=scope.root, files=files, stats=stats, taken_ns=start)


def _join(parent: str, name: str) -> str:
    return parent + name if parent.endswith(os.sep) else parent + os.sep + name


class _Counters:
    __slots__ = ("dirs", "excluded", "links", "loops", "other", "unreadable")

    def __init__(self) -> None:
        self.dirs = 0
        self.links = 0
        self.loops = 0
        self.other = 0
        self.excluded = 0
        self.unreadable: list[str] = []

    def stats(self) -> WalkStats:
        return WalkStats(
            directories=self.dirs,
            unreadable_dirs=tuple(sorted(self.unreadable)),
            links_skipped=self.links,
            loops_skipped=self.loops,
            other_skipped=self.other,
            excluded=self.excluded,
        )


def _walk_fd(scope: Scope) -> tuple[dict[str, StatTuple], WalkStats]:
    files: dict[str, StatTuple] = {}
    c = _Counters()
    try:
        root_fd = os.open(scope.root, _O_DIR)
    except OSError as exc:
        c.unreadable.append(f"{scope.root} ({exc.strerror})")
        return files, c.stats()
    root_st = os.fstat(root_fd)
    seen: set[tuple[int, int]] = {(root_st.st_dev, root_st.st_ino)}
    # Depth-first stack of (parent holder, name, path); the fd of a directory stays open only
    # while some of its children are still pending, so open fds stay close to the depth.
    stack: list[tuple[_Dir | None, str, str]] = [(None, "", scope.root)]
    is_dir_fd_root = True
    while stack:
        parent, name, path = stack.pop()
        if is_dir_fd_root:
            fd = root_fd
            is_dir_fd_root = False
        else:
            assert parent is not None
            try:
                fd = os.open(name, _O_DIR, dir_fd=parent.fd)
            except OSError as exc:
                parent.release()
                c.unreadable.append(f"{path} ({exc.strerror})")
                continue
            parent.release()
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino)
            if key in seen:
                c.loops += 1
                os.close(fd)
                continue
            seen.add(key)
        c.dirs += 1
        holder = _Dir(fd)
        children: list[tuple[_Dir | None, str, str]] = []
        try:
            with os.scandir(fd) as it:
                for entry in it:
                    full = _join(path, entry.name)
                    try:
                        if entry.is_symlink():
                            c.links += 1
                        elif entry.is_dir(follow_symlinks=False):
                            if scope.is_excluded(full):
                                c.excluded += 1
                            else:
                                children.append((holder, entry.name, full))
                        elif entry.is_file(follow_symlinks=False):
                            s = entry.stat(follow_symlinks=False)
                            files[full] = (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
                        else:
                            c.other += 1
                    except OSError:
                        # Vanished between readdir and stat: it does not exist at this walk.
                        continue
        except OSError as exc:
            c.unreadable.append(f"{path} ({exc.strerror})")
        holder.pending = len(children)
        if children:
            stack.extend(reversed(children))
        else:
            os.close(fd)
    return files, c.stats()


def _long(path: str) -> str:
    if _WINDOWS and not path.startswith("\\\\?\\"):
        return "\\\\?\\" + path
    return path


def _walk_path(scope: Scope) -> tuple[dict[str, StatTuple], WalkStats]:
    """Path-based walk (Windows and platforms without fd-relative scandir)."""
    files: dict[str, StatTuple] = {}
    c = _Counters()
    try:
        root_st = os.stat(_long(scope.root))
    except OSError as exc:
        c.unreadable.append(f"{scope.root} ({exc.strerror})")
        return files, c.stats()
    seen: set[tuple[int, int]] = {(root_st.st_dev, root_st.st_ino)}
    stack = [scope.root]
    while stack:
        path = stack.pop()
        c.dirs += 1
        children: list[str] = []
        try:
            with os.scandir(_long(path)) as it:
                for entry in it:
                    full = _join(path, entry.name)
                    try:
                        if entry.is_symlink():
                            c.links += 1
                            continue
                        s = entry.stat(follow_symlinks=False)
                        if getattr(s, "st_file_attributes", 0) & _REPARSE_POINT:
                            # Junctions (``Application Data`` loops) and mount points.
                            c.links += 1
                        elif stat_mod.S_ISDIR(s.st_mode):
                            if scope.is_excluded(full):
                                c.excluded += 1
                                continue
                            key = (s.st_dev, s.st_ino)
                            if s.st_ino and key in seen:
                                c.loops += 1
                                continue
                            seen.add(key)
                            children.append(full)
                        elif stat_mod.S_ISREG(s.st_mode):
                            files[full] = (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
                        else:
                            c.other += 1
                    except OSError:
                        continue
        except OSError as exc:
            c.unreadable.append(f"{path} ({exc.strerror})")
        stack.extend(reversed(children))
    return files, c.stats()

"""The interface every live event source implements, and the path scope they share (tracer.md 6).

A source is armed before the baseline walk (so nothing between the walk and "ready" is lost), pushes
``FileEvent`` records into a sink from its own thread, never blocks the sink for long, and reports
losses as ``degraded`` instead of hiding them: the snapshot diff stays authoritative for files that
survive, live sources add what vanished and what was only executed or loaded.
"""

from __future__ import annotations

import abc
import errno
import os
import threading
from collections.abc import Callable, Iterable

from tracer.content import HEAD_PROBE, classify_head, needed_head_length
from tracer.records import ContentKind, FileEvent, SourceStatus

EventSink = Callable[[FileEvent], None]


def _norm(path: str) -> str:
    return os.path.normcase(os.path.normpath(path))


class Scope:
    """Which absolute paths belong to the recording: inside ``root``, outside every excluded dir.

    Excluded directories always include the state directory (its journal writes would otherwise
    record themselves, tracer.md 5.2).
    """

    __slots__ = ("_excluded", "_root", "_root_sep", "root")

    def __init__(self, root: str, excluded_dirs: Iterable[str] = ()) -> None:
        self.root = os.path.normpath(root)
        self._root = _norm(root)
        self._root_sep = self._root if self._root.endswith(os.sep) else self._root + os.sep
        self._excluded = tuple(
            sorted({_norm(d).rstrip(os.sep) + os.sep for d in excluded_dirs if d})
        )

    def contains(self, path: str) -> bool:
        p = os.path.normcase(path)
        if not (p.startswith(self._root_sep) or p == self._root):
            return False
        return not self.is_excluded(path)

    def is_excluded(self, path: str) -> bool:
        p = os.path.normcase(path)
        return any(p.startswith(d) or p + os.sep == d for d in self._excluded)


class LiveSource(abc.ABC):
    """A source of events while the recorder runs."""

    name: str = "live"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events = 0
        self._degraded: list[str] = []
        self._armed = False
        self._detail: str | None = None

    @abc.abstractmethod
    def arm(self, sink: EventSink) -> None:
        """Start observing; raise ``SourceUnavailableError`` if this source cannot run here."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop observing and deliver every event still queued before returning."""

    def _count(self, n: int = 1) -> None:
        with self._lock:
            self._events += n

    def mark_degraded(self, why: str) -> None:
        with self._lock:
            if why not in self._degraded:
                self._degraded.append(why)

    def status(self) -> SourceStatus:
        with self._lock:
            detail = "; ".join([*([self._detail] if self._detail else []), *self._degraded])
            return SourceStatus(
                name=self.name,
                armed=self._armed,
                events=self._events,
                degraded=bool(self._degraded),
                detail=detail or None,
            )

    def degraded_reasons(self) -> list[str]:
        with self._lock:
            return [f"{self.name}: {why}" for why in self._degraded]


def content_of_fd(fd: int) -> ContentKind:
    """Classify an open file by its first bytes (positional reads: the fd offset is untouched)."""
    try:
        first = os.pread(fd, HEAD_PROBE, 0)
        need = needed_head_length(first)
        head = first if need <= len(first) else first + os.pread(fd, need - len(first), len(first))
    except OSError:
        return ContentKind.UNKNOWN
    return classify_head(head)


_O_DIR = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_DIR_FD = os.open in os.supports_dir_fd


def open_deep(path: str, flags: int) -> int:
    """``os.open``, also for absolute paths longer than ``PATH_MAX`` (ENAMETOOLONG).

    Such paths exist (the snapshot walk finds them through directory fds) but cannot be opened
    by name: walk them from ``/`` one directory fd at a time (``openat``), never following a
    link in a directory component, as the walk did not follow one either.
    """
    try:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG or not _DIR_FD or not path.startswith(os.sep):
            raise
    head, _, name = path.rpartition(os.sep)
    fd = os.open(os.sep, _O_DIR)
    try:
        for part in head.split(os.sep):  # noqa: PTH206 - str paths, see module note
            if part:
                nxt = os.open(part, _O_DIR, dir_fd=fd)
                os.close(fd)
                fd = nxt
        return os.open(name, flags, dir_fd=fd)
    finally:
        os.close(fd)


def content_of_path(path: str) -> ContentKind:
    """Classify a file by its first bytes without following a final symlink."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    if not hasattr(os, "pread"):  # Windows: no pread, read sequentially.
        try:
            with open(path, "rb") as f:
                first = f.read(HEAD_PROBE)
                need = needed_head_length(first)
                head = first + (f.read(need - len(first)) if need > len(first) else b"")
        except OSError:
            return ContentKind.UNKNOWN
        return classify_head(head)
    try:
        fd = open_deep(path, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return ContentKind.UNKNOWN
    try:
        return content_of_fd(fd)
    finally:
        os.close(fd)

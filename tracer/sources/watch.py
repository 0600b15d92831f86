"""watchdog live source for Linux without root and macOS (tracer.md 2 and 3.3a); best effort.

Rules from tracer.md 0.2-0.3 and 6: an explicit ``event_filter`` that leaves out opened and
closed-no-write events (watchdog 7.1.0 otherwise overflows inotify with its own re-watch walk on
trees of more than ~4,000 directories, forever); a logging handler that turns watchdog's overflow
warning into a ``degraded`` flag (watchdog never tells the handler events were lost); no I/O in
callbacks - closed files are classified and hashed by a worker thread, best effort (a file gone
before the worker reaches it is still listed, as transient without hash). The snapshot diff stays
authoritative for surviving files. The only module allowed to import watchdog.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from tracer.content import DEFAULT_EXTENSIONS, worth_hashing_at_close
from tracer.errors import SourceUnavailableError
from tracer.records import ContentKind, EventKind, FileEvent, HashCallable, Hashes
from tracer.sources.base import EventSink, LiveSource, Scope, content_of_path

# Never FileOpenedEvent / FileClosedNoWriteEvent (tracer.md 0.2).
EVENT_FILTER = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
]
_KIND = {
    "created": EventKind.CREATED,
    "modified": EventKind.MODIFIED,
    "closed": EventKind.WRITTEN,
    "deleted": EventKind.DELETED,
    "moved": EventKind.MOVED,
}
_OVERFLOW_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")
_HASH_QUEUE = 20_000
_SETTLE_S = 0.6  # watchdog holds a lone IN_MOVED_FROM 0.5 s waiting for its pair
_SETTLE_MAX_S = 3.0


def _text(p: str | bytes) -> str:
    return os.fsdecode(p)


class _LossHandler(logging.Handler):
    """Turns watchdog's "queue overflowed" log line into a degraded flag."""

    def __init__(self, source: WatchdogSource) -> None:
        super().__init__(logging.WARNING)
        self._source = source

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage().lower()
        if "overflow" in msg or "lost" in msg:
            self._source.mark_degraded("inotify queue overflowed; live events were lost")


class _Handler(FileSystemEventHandler):
    def __init__(self, source: WatchdogSource) -> None:
        self._source = source

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._source.on_event(event)


class WatchdogSource(LiveSource):
    """Created/modified/closed/moved/deleted files through watchdog's native observer."""

    name = "watchdog"

    def __init__(
        self,
        scope: Scope,
        hasher: HashCallable | None = None,
        *,
        extensions: frozenset[str] | None = None,
    ) -> None:
        super().__init__()
        self._scope = scope
        self._hasher = hasher
        self._extensions = DEFAULT_EXTENSIONS if extensions is None else extensions
        self._observer: Any = None
        self._sink: EventSink | None = None
        self._loss = _LossHandler(self)
        self._work: queue.Queue[str | None] = queue.Queue(maxsize=_HASH_QUEUE)
        self._worker: threading.Thread | None = None
        self._last = 0.0

    def arm(self, sink: EventSink) -> None:
        self._sink = sink
        for name in _OVERFLOW_LOGGERS:
            logging.getLogger(name).addHandler(self._loss)
        observer = Observer()
        try:
            observer.schedule(
                _Handler(self), self._scope.root, recursive=True, event_filter=EVENT_FILTER
            )
            observer.start()
        except OSError as exc:
            # ENOSPC: max_user_watches exhausted (tracer.md 7.8) -> snapshot only.
            self._unhook()
            raise SourceUnavailableError(
                f"watchdog could not watch {self._scope.root}: {exc}; recording continues with "
                "the snapshot only (raise fs.inotify.max_user_watches or run as root for fanotify)"
            ) from exc
        self._observer = observer
        self._worker = threading.Thread(target=self._hash_loop, name="watch-hash", daemon=True)
        self._worker.start()
        self._armed = True
        self._detail = f"{type(observer).__name__} on {self._scope.root}"

    def _unhook(self) -> None:
        for name in _OVERFLOW_LOGGERS:
            logging.getLogger(name).removeHandler(self._loss)

    def close(self) -> None:
        if self._observer is None:
            return
        # The observer drops what its emitter has not dispatched yet: let the queue go quiet
        # first (events of the install's last moments arrive a few milliseconds late).
        deadline = time.monotonic() + _SETTLE_MAX_S
        time.sleep(_SETTLE_S)
        while time.monotonic() < deadline and time.monotonic() - self._last < _SETTLE_S:
            time.sleep(0.05)
        self._observer.stop()
        self._observer.join()
        self._observer = None
        self._work.put(None)
        if self._worker is not None:
            self._worker.join()
        self._unhook()

    def on_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        kind = _KIND.get(event.event_type)
        if kind is None:
            return
        path = _text(event.src_path)
        dest = _text(event.dest_path) if event.dest_path else None
        if not (self._scope.contains(path) or (dest is not None and self._scope.contains(dest))):
            return
        self._last = time.monotonic()
        sink = self._sink
        assert sink is not None
        sink(FileEvent(kind, path, self.name, time.time_ns(), dest=dest))
        self._count()
        if kind is EventKind.WRITTEN:
            try:
                self._work.put_nowait(path)
            except queue.Full:
                self.mark_degraded("hash worker fell behind; some closed files were not hashed")

    def _hash_loop(self) -> None:
        while True:
            path = self._work.get()
            if path is None:
                return
            content = content_of_path(path)
            if content is ContentKind.UNKNOWN:
                continue  # already gone: listed as transient without hash
            hashes: Hashes | None = None
            note = None
            if self._hasher is not None and worth_hashing_at_close(path, content, self._extensions):
                try:
                    hashes = self._hasher(path)
                except Exception as exc:  # noqa: BLE001 - reported on the file
                    note = f"hash after close failed: {exc}"
            sink = self._sink
            assert sink is not None
            sink(
                FileEvent(
                    EventKind.HASHED,
                    path,
                    self.name,
                    time.time_ns(),
                    content=content,
                    hashes=hashes,
                    note=note,
                )
            )

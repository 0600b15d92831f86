"""Frozen records of the tracer: events, snapshots and the manifest (tracer.md 3.3 and 6).

Everything that crosses a module boundary inside the tracer, and everything it hands to
``inspector``, is one of these. Records written to disk (journal rows, the JSON report) carry
``schema_version`` and explicit ``to_dict``/``from_dict``. Hashes captured at close time are opaque
JSON-ready mappings produced by the callable ``inspector`` hands in; the tracer never looks inside.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

Hashes = Mapping[str, Any]
"""Opaque digests of one file as returned by the hashing callable (JSON-ready)."""

HashCallable = Callable[[str], Hashes]
"""Hash the file at a path (which may be ``/proc/self/fd/N`` of an unlinked file)."""


class EventKind(enum.Enum):
    """What a live source saw happen to a path."""

    CREATED = "created"
    WRITTEN = "written"
    """Closed after writing (fanotify FAN_CLOSE_WRITE, inotify IN_CLOSE_WRITE, USN CLOSE+DATA_*)."""
    MODIFIED = "modified"
    DELETED = "deleted"
    MOVED = "moved"
    """``path`` is the old name, ``dest`` the new one (either may lie outside the root)."""
    EXECUTED = "executed"
    LOADED = "loaded"
    HASHED = "hashed"
    """Digests taken later by a worker: adds hashes only, says nothing new about the file."""


class Reason(enum.Enum):
    """Why a file is in the manifest (a file can have several)."""

    CREATED = "created"
    MODIFIED = "modified"
    EXECUTED = "executed"
    LOADED = "loaded"
    TRANSIENT = "transient"
    """Created or written during the session but gone at stop (temporary installer files)."""
    PRESENT = "present"
    """Found by ``scan`` (no recording: every file already under the path)."""


class ContentKind(enum.Enum):
    """What the first bytes of a file say (decided by ``reduce.classify_head``)."""

    PE = "pe"
    WINE_BUILTIN = "wine-builtin"
    """A PE marked ``Wine builtin DLL`` or ``Wine placeholder DLL`` at 0x40 (wine.md 4.3)."""
    ELF = "elf"
    """A Linux/Unix executable or library: hashed at close (it may run), never catalogued."""
    OTHER = "other"
    UNKNOWN = "unknown"
    """Never read (vanished before anyone could look, or unreadable)."""


@dataclass(frozen=True, slots=True)
class FileEvent:
    """One observation by one source. Paths are absolute, in the OS's native form."""

    kind: EventKind
    path: str
    source: str
    time_ns: int
    dest: str | None = None
    pid: int | None = None
    content: ContentKind = ContentKind.UNKNOWN
    hashes: Hashes | None = None
    """Digests taken through the event's own file handle at close/exec time, if any."""
    note: str | None = None
    file_id: int | None = None
    """Inode / NTFS file id of the object at close time, when the source knows it."""
    size: int | None = None
    unlinked: bool = False
    """The source saw the file already deleted (fanotify's "(deleted)" path)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "size": self.size,
            "unlinked": self.unlinked,
            "kind": self.kind.value,
            "path": self.path,
            "source": self.source,
            "time_ns": self.time_ns,
            "dest": self.dest,
            "pid": self.pid,
            "content": self.content.value,
            "hashes": None if self.hashes is None else dict(self.hashes),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FileEvent:
        return cls(
            kind=EventKind(d["kind"]),
            path=str(d["path"]),
            source=str(d["source"]),
            time_ns=int(d["time_ns"]),
            dest=d.get("dest"),
            pid=d.get("pid"),
            content=ContentKind(d.get("content", "unknown")),
            hashes=d.get("hashes"),
            note=d.get("note"),
            file_id=d.get("file_id"),
            size=d.get("size"),
            unlinked=bool(d.get("unlinked", False)),
        )


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How one live source fared: armed or not, events seen, losses."""

    name: str
    armed: bool
    events: int = 0
    degraded: bool = False
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "armed": self.armed,
            "events": self.events,
            "degraded": self.degraded,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SourceStatus:
        return cls(
            name=str(d["name"]),
            armed=bool(d["armed"]),
            events=int(d.get("events", 0)),
            degraded=bool(d.get("degraded", False)),
            detail=d.get("detail"),
        )


StatTuple = tuple[int, int, int, int]
"""``(file id / inode, size, mtime_ns, ctime_ns)`` of one regular file."""


@dataclass(frozen=True, slots=True)
class WalkStats:
    """What the snapshot walker could not look at, counted rather than hidden (tracer.md 7.7)."""

    directories: int = 0
    unreadable_dirs: tuple[str, ...] = ()
    links_skipped: int = 0
    loops_skipped: int = 0
    other_skipped: int = 0
    """Sockets, fifos, devices: never catalogable."""
    excluded: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "directories": self.directories,
            "unreadable_dirs": list(self.unreadable_dirs),
            "links_skipped": self.links_skipped,
            "loops_skipped": self.loops_skipped,
            "other_skipped": self.other_skipped,
            "excluded": self.excluded,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WalkStats:
        return cls(
            directories=int(d.get("directories", 0)),
            unreadable_dirs=tuple(d.get("unreadable_dirs", ())),
            links_skipped=int(d.get("links_skipped", 0)),
            loops_skipped=int(d.get("loops_skipped", 0)),
            other_skipped=int(d.get("other_skipped", 0)),
            excluded=int(d.get("excluded", 0)),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every regular file under a root at one moment, keyed by absolute path."""

    root: str
    files: Mapping[str, StatTuple]
    stats: WalkStats = field(default_factory=WalkStats)
    taken_ns: int = 0


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file of the result and the evidence for it."""

    path: str
    reasons: frozenset[Reason]
    sources: frozenset[str]
    exists_at_stop: bool
    content: ContentKind
    catalogable: bool
    """PE by content, or a WDAC-relevant script/installer type by extension."""
    hashes_at_close: tuple[Hashes, ...] = ()
    """Distinct digests captured while recording, oldest first."""
    moved_from: str | None = None
    size: int | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "reasons": sorted(r.value for r in self.reasons),
            "sources": sorted(self.sources),
            "exists_at_stop": self.exists_at_stop,
            "content": self.content.value,
            "catalogable": self.catalogable,
            "hashes_at_close": [dict(h) for h in self.hashes_at_close],
            "moved_from": self.moved_from,
            "size": self.size,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ManifestEntry:
        return cls(
            path=str(d["path"]),
            reasons=frozenset(Reason(r) for r in d["reasons"]),
            sources=frozenset(str(s) for s in d["sources"]),
            exists_at_stop=bool(d["exists_at_stop"]),
            content=ContentKind(d["content"]),
            catalogable=bool(d["catalogable"]),
            hashes_at_close=tuple(d.get("hashes_at_close", ())),
            moved_from=d.get("moved_from"),
            size=d.get("size"),
            warnings=tuple(d.get("warnings", ())),
        )


@dataclass(frozen=True, slots=True)
class ExcludedEntry:
    """A path the session saw but left out, and why (review list, tracer.md 1.5 'noise')."""

    path: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "why": self.why}


@dataclass(frozen=True, slots=True)
class FileManifest:
    """The tracer's result: what the install touched, why, and how sure we are."""

    root: str
    entries: tuple[ManifestEntry, ...]
    """Sorted by path."""
    excluded: tuple[ExcludedEntry, ...] = ()
    sources: tuple[SourceStatus, ...] = ()
    warnings: tuple[str, ...] = ()
    degraded: tuple[str, ...] = ()
    """Reasons the live coverage is incomplete; surviving files are still complete (snapshot)."""
    walk: WalkStats = field(default_factory=WalkStats)
    session_id: str | None = None
    installer: str | None = None
    started_ns: int = 0
    stopped_ns: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "root": self.root,
            "session_id": self.session_id,
            "installer": self.installer,
            "started_ns": self.started_ns,
            "stopped_ns": self.stopped_ns,
            "degraded": list(self.degraded),
            "warnings": list(self.warnings),
            "sources": [s.to_dict() for s in self.sources],
            "walk": self.walk.to_dict(),
            "entries": [e.to_dict() for e in self.entries],
            "excluded": [x.to_dict() for x in self.excluded],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FileManifest:
        version = d.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"manifest schema_version {version!r}; this tracer reads 1")
        return cls(
            root=str(d["root"]),
            entries=tuple(ManifestEntry.from_dict(e) for e in d["entries"]),
            excluded=tuple(ExcludedEntry(x["path"], x["why"]) for x in d.get("excluded", ())),
            sources=tuple(SourceStatus.from_dict(s) for s in d.get("sources", ())),
            warnings=tuple(d.get("warnings", ())),
            degraded=tuple(d.get("degraded", ())),
            walk=WalkStats.from_dict(d.get("walk", {})),
            session_id=d.get("session_id"),
            installer=d.get("installer"),
            started_ns=int(d.get("started_ns", 0)),
            stopped_ns=int(d.get("stopped_ns", 0)),
        )


def dumps_json(data: Any) -> str:
    """Deterministic JSON; lone surrogates (undecodable POSIX names) survive as escapes."""
    return json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))

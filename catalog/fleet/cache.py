"""Incremental hash cache: a file whose stat has not changed is not read again (issue 16).

One SQLite file in WAL mode (readers never block the writer; several processes may hash with
the same cache at once: writes are short ``BEGIN IMMEDIATE`` transactions behind a busy timeout).
An entry is keyed by the file's identity (device, inode) and the hash options, and it is valid
only while (size, mtime_ns, ctime_ns) are the ones it was stored with. ``ctime`` cannot be set
by ``utime``: a content change with size and mtime restored still moves it, so it is noticed.

Two races are closed rather than ignored:
- the file changes between the stat that keyed the lookup and the read: ``put`` is given the
  stat taken before hashing and the caller stores only when a second stat after hashing is equal;
- the file changes within one timestamp tick of its last change (coarse kernel clocks, 2 s on
  some network file systems): the stat cannot show it, so entries whose ctime or mtime is less
  than ``racy_window_ns`` before the stat was taken are not stored (git's "racily clean" rule).

Values are ``FileDigests.to_dict()`` JSON (never pickle); rows carry the last path seen only so
``prune`` can drop entries of files that are gone or changed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from catalog.errors import CatalogEnvironmentError, CatalogInputError
from catalog.pe import HashOptions
from catalog.records import FileDigests, file_digests_from_dict

SCHEMA_VERSION = 1
RACY_WINDOW_NS = 2_000_000_000
HASHER_FORMAT = 1
"""Bump when the hasher's output for the same bytes and options changes: old entries then miss."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    options TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    path TEXT NOT NULL,
    digests TEXT NOT NULL,
    stored_ns INTEGER NOT NULL,
    used_ns INTEGER NOT NULL,
    PRIMARY KEY (device, inode, options)
);
"""


@dataclass(frozen=True, slots=True)
class StatKey:
    """What must be unchanged for a cached digest to stand for the file's content."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    observed_ns: int
    """When the stat was taken (wall clock), for the racy-window rule; not part of equality."""

    @classmethod
    def of(cls, path: str) -> StatKey:
        """Stat ``path`` (following links, as the hasher opens it). Raises ``OSError``."""
        now = time.time_ns()
        st = Path(path).stat()
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, now)

    def same_file_state(self, other: StatKey) -> bool:
        return (self.device, self.inode, self.size, self.mtime_ns, self.ctime_ns) == (
            other.device,
            other.inode,
            other.size,
            other.mtime_ns,
            other.ctime_ns,
        )


def options_key(options: HashOptions) -> str:
    """The hash options as a stable text: entries made with other options never match."""
    values: dict[str, Any] = {"format": HASHER_FORMAT}
    for f in fields(options):
        value = getattr(options, f.name)
        if isinstance(value, frozenset):
            value = sorted(getattr(v, "value", str(v)) for v in value)
        values[f.name] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class CacheStats:
    schema_version: int
    entries: int
    bytes_covered: int
    """Sum of the sizes of the files the entries stand for."""
    file_bytes: int
    """Size of the cache file (and its WAL) on disk."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "entries": self.entries,
            "bytes_covered": self.bytes_covered,
            "file_bytes": self.file_bytes,
        }


class HashCache:
    """The cache file. Use as a context manager; one connection per process (or thread)."""

    def __init__(self, path: str | os.PathLike[str], *, racy_window_ns: int = RACY_WINDOW_NS):
        self.path = Path(path)
        self.racy_window_ns = racy_window_ns
        self.hits = 0
        self.misses = 0
        try:
            self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise CatalogEnvironmentError(
                f"{self.path}: cannot open the hash cache: {exc}"
            ) from exc
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CatalogInputError(
                f"{self.path}: not a hash cache ({exc}); pass another --cache path"
            ) from exc

    def _setup(self) -> None:
        self._db.execute("PRAGMA busy_timeout = 60000")
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise CatalogEnvironmentError(
                f"{self.path}: the file system refused SQLite's WAL mode ({mode}); put the cache "
                "on a local disk"
            )
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise CatalogInputError(
                f"{self.path}: hash cache schema {row[0] if row else '?'} is not "
                f"{SCHEMA_VERSION}; delete the file or pass another --cache path"
            )

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(self, path: str, key: StatKey, options: str) -> FileDigests | None:
        """The cached digests of ``path`` when its stat still matches ``key``; else None."""
        row = self._db.execute(
            "SELECT size, mtime_ns, ctime_ns, digests FROM entries "
            "WHERE device = ? AND inode = ? AND options = ?",
            (key.device, key.inode, options),
        ).fetchone()
        if row is None or tuple(row[:3]) != (key.size, key.mtime_ns, key.ctime_ns):
            self.misses += 1
            return None
        try:
            record = file_digests_from_dict(json.loads(row[3]))
        except (ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return replace(record, path=path)

    def storable(self, key: StatKey) -> bool:
        """False for a file changed so recently that a further change could hide in one tick."""
        newest = max(key.ctime_ns, key.mtime_ns)
        return key.observed_ns - newest >= self.racy_window_ns

    def put_many(self, items: Iterable[tuple[StatKey, str, FileDigests]]) -> int:
        """Store ``(stat before hashing, options, digests)``; racy entries are skipped."""
        now = time.time_ns()
        rows = [
            (k.device, k.inode, opts, k.size, k.mtime_ns, k.ctime_ns, d.path,
             json.dumps(d.to_dict(), separators=(",", ":")), now, now)
            for k, opts, d in items
            if self.storable(k)
        ]  # fmt: skip
        if rows:
            with self._write():
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
        return len(rows)

    def stats(self) -> CacheStats:
        count, covered = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries"
        ).fetchone()
        on_disk = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return CacheStats(SCHEMA_VERSION, int(count), int(covered), on_disk)

    def prune(self, *, older_than_ns: int | None = None) -> int:
        """Drop entries whose file is gone or changed, and (optionally) ones stored before
        ``older_than_ns`` (wall clock). Returns how many were dropped."""
        stale: list[tuple[int, int, str]] = []
        rows = self._db.execute(
            "SELECT device, inode, options, size, mtime_ns, ctime_ns, path, stored_ns FROM entries"
        ).fetchall()
        for device, inode, opts, size, mtime_ns, ctime_ns, path, stored_ns in rows:
            if older_than_ns is not None and stored_ns < older_than_ns:
                stale.append((device, inode, opts))
                continue
            try:
                st = Path(path).stat()
            except OSError:
                stale.append((device, inode, opts))
                continue
            if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) != (
                device, inode, size, mtime_ns, ctime_ns,
            ):  # fmt: skip
                stale.append((device, inode, opts))
        if stale:
            with self._write():
                self._db.executemany(
                    "DELETE FROM entries WHERE device = ? AND inode = ? AND options = ?", stale
                )
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(stale)

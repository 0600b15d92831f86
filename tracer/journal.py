"""The session journal: append-only SQLite in WAL mode, readable after a crash (tracer.md 5.1).

One file per session holds the baseline snapshot, every live event (JSON rows in arrival order),
the source statuses, degraded reasons and a heartbeat. The recorder commits small batches; in WAL
mode with ``synchronous=NORMAL`` a committed batch survives the recorder being killed, so ``stop``
recovers everything recorded so far even when the recorder died (SIGKILL, OOM, reboot).
Rows are JSON text (never pickle); the journal carries ``schema_version`` in its meta table.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH110

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from tracer.errors import JournalError
from tracer.records import FileEvent, Snapshot, StatTuple, WalkStats, dumps_json

JOURNAL_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS baseline (
    path BLOB NOT NULL, ino INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER
);
"""


class Journal:
    """A session's journal file. Thread-safe: one connection guarded by a lock."""

    def __init__(self, path: str, *, create: bool = False) -> None:
        self.path = path
        if not create and not os.path.exists(path):
            raise JournalError(
                f"session journal {path} is missing; the session cannot be recovered"
            )
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self._db.executescript(_SCHEMA)
                self._set("schema_version", JOURNAL_SCHEMA_VERSION)
            version = self._get("schema_version")
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"session journal {path} is unreadable: {exc}") from exc
        if version != JOURNAL_SCHEMA_VERSION:
            raise JournalError(
                f"session journal {path} has schema_version {version!r}; this inspector reads "
                f"{JOURNAL_SCHEMA_VERSION} (stop the session with the inspector that started it)"
            )
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- meta ------------------------------------------------------------------------------
    def _set(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, dumps_json(value))
        )

    def _get(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._set(key, value)

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            value = self._get(key)
        return default if value is None else value

    def heartbeat(self) -> None:
        self.set_meta("heartbeat_ns", time.time_ns())

    def add_degraded(self, reasons: Iterable[str]) -> None:
        with self._lock:
            current: list[str] = self._get("degraded") or []
            new = [r for r in reasons if r not in current]
            if new:
                self._set("degraded", current + new)

    # -- events ----------------------------------------------------------------------------
    def append(self, events: Iterable[FileEvent]) -> int:
        rows = [(dumps_json(e.to_dict()),) for e in events]
        if not rows:
            return 0
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO events(data) VALUES (?)", rows)
            self._db.execute("COMMIT")
        return len(rows)

    def events(self, corrupt: list[str] | None = None) -> Iterator[FileEvent]:
        """Every journaled event in order. A corrupt row raises ``JournalError``, or, when a
        ``corrupt`` list is given, is described there and skipped (salvage after a crash)."""
        with self._lock:
            rows = self._db.execute("SELECT seq, data FROM events ORDER BY seq").fetchall()
        for seq, data in rows:
            try:
                yield FileEvent.from_dict(json.loads(data))
            except (ValueError, KeyError, TypeError) as exc:
                why = f"{self.path}: event row {seq} is corrupt: {exc}"
                if corrupt is None:
                    raise JournalError(why) from exc
                corrupt.append(why)

    def event_count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM events").fetchone()
        return int(n)

    # -- baseline --------------------------------------------------------------------------
    def write_baseline(self, snap: Snapshot) -> None:
        fsencode = os.fsencode
        rows = ((fsencode(p), *st) for p, st in snap.files.items())
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM baseline")
            self._db.executemany("INSERT INTO baseline VALUES (?, ?, ?, ?, ?)", rows)
            self._set(
                "baseline",
                {"root": snap.root, "taken_ns": snap.taken_ns, "stats": snap.stats.to_dict()},
            )
            self._db.execute("COMMIT")

    def read_baseline(self) -> Snapshot:
        with self._lock:
            info = self._get("baseline")
            if info is None:
                raise JournalError(
                    f"{self.path} has no baseline: the recorder died before it was ready"
                )
            fsdecode = os.fsdecode
            files: dict[str, StatTuple] = {
                fsdecode(p): (i, s, m, c)
                for p, i, s, m, c in self._db.execute("SELECT * FROM baseline")
            }
        stats = WalkStats.from_dict(info["stats"])
        return Snapshot(root=info["root"], files=files, stats=stats, taken_ns=info["taken_ns"])

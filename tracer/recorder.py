"""The detached recorder process of one session (tracer.md 5.1 and 6).

Order matters: take ``recorder.lock`` first (liveness), then open the journal, arm the live
sources (so nothing between the walk and "ready" is lost), take and persist the baseline, open the
authenticated control socket and only then print ``READY``. Events go through a queue to a single
writer thread that commits small batches to the WAL journal with a heartbeat, so a killed recorder
loses at most the last fraction of a second of live events (never surviving files: the snapshot
covers those). ``stop`` over the socket (or SIGTERM) drains every source, flushes and exits.

Run as ``python -m tracer.recorder SESSION_DIR`` (no hashing) or through ``inspector``'s entry
point, which hands in the hashing callable.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from tracer.control import ControlServer
from tracer.errors import SourceUnavailableError, TracerError
from tracer.journal import Journal
from tracer.liveness import FileLock, boot_id, process_start_time
from tracer.records import FileEvent, HashCallable
from tracer.sources.base import LiveSource, Scope
from tracer.sources.snapshot import take_snapshot
from tracer.spawn import READY
from tracer.state import SessionInfo, atomic_write, load_info

_FLUSH_S = 0.2
_HEARTBEAT_S = 5.0


class _ShutdownError(Exception):
    """Raised from the SIGTERM handler to leave the accept loop."""


def _on_term(_sig: int, _frame: FrameType | None) -> None:
    raise _ShutdownError


def choose_sources(
    info: SessionInfo, scope: Scope, hasher: HashCallable | None
) -> tuple[list[LiveSource], list[str], list[str]]:
    """Instantiate the live sources for this platform; return (sources, warnings, degraded)."""
    wanted = set(info.options.sources)
    warnings: list[str] = []
    degraded: list[str] = []
    linux = sys.platform.startswith("linux")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    ext = None if info.options.extensions is None else frozenset(info.options.extensions)
    if "auto" in wanted:
        wanted.discard("auto")
        if linux and is_root:
            wanted |= {"fanotify", "processes"}
        elif sys.platform == "win32":
            wanted |= {"usn", "watchdog", "processes"}
        else:
            wanted |= {"watchdog", "processes"}
            if linux:
                degraded.append(
                    "fanotify unavailable (not root): files created and deleted before stop are "
                    "listed without hashes and short-lived executions may be missed"
                )
    sources: list[LiveSource] = []
    if "fanotify" in wanted:
        from tracer.sources.fanotify import FanotifySource

        sources.append(FanotifySource(scope, hasher, extensions=ext))
    if "watchdog" in wanted:
        from tracer.sources.watch import WatchdogSource

        sources.append(WatchdogSource(scope, hasher, extensions=ext))
    if "processes" in wanted:
        from tracer.sources.processes import ProcessSource

        sources.append(ProcessSource(scope))
    if wanted <= {"none"}:
        warnings.append("live sources disabled: only the snapshot diff is recorded")
    return sources, warnings, degraded


class Recorder:
    """One session's recorder; ``run`` returns the process exit status."""

    def __init__(self, session_dir: str, hasher: HashCallable | None = None) -> None:
        self.info = load_info(session_dir)
        self.hasher = hasher
        self.queue: queue.SimpleQueue[FileEvent | None] = queue.SimpleQueue()
        self.sources: list[LiveSource] = []
        self.journal: Journal | None = None
        self.events = 0
        self.lost = 0
        self._writer: threading.Thread | None = None
        self._stop_lock = threading.Lock()
        self._stopped = False

    # -- journal writer ----------------------------------------------------------------
    def _write_loop(self) -> None:
        journal = self.journal
        assert journal is not None
        last_beat = 0.0
        done = False
        while not done:
            batch: list[FileEvent] = []
            try:
                item = self.queue.get(timeout=_FLUSH_S)
                while True:
                    if item is None:
                        done = True
                        break
                    batch.append(item)
                    if len(batch) >= 5000:
                        break
                    item = self.queue.get_nowait()
            except queue.Empty:
                pass
            try:
                if batch:
                    self.events += journal.append(batch)
                now = time.monotonic()
                if now - last_beat >= _HEARTBEAT_S:
                    journal.heartbeat()
                    journal.add_degraded(r for s in self.sources for r in s.degraded_reasons())
                    last_beat = now
            except sqlite3.Error as exc:
                # Disk full or similar: these events are lost, say so and keep recording (the
                # snapshot still covers every surviving file).
                self.lost += len(batch)
                traceback.print_exc()
                with contextlib.suppress(sqlite3.Error):
                    journal.add_degraded([f"journal write failed ({exc}); live events were lost"])

    def _persist_sources(self) -> None:
        assert self.journal is not None
        self.journal.set_meta("sources", [s.status().to_dict() for s in self.sources])
        self.journal.add_degraded(r for s in self.sources for r in s.degraded_reasons())

    # -- lifecycle ---------------------------------------------------------------------
    def run(self) -> int:
        info = self.info
        lock = FileLock(info.lock_path)
        if not lock.try_acquire():
            print(f"ERROR another recorder holds {info.lock_path}", flush=True)
            return 3
        signal.signal(signal.SIGTERM, _on_term)
        for name in ("SIGHUP", "SIGINT"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        os.chdir(info.session_dir)  # never keep the caller's directory (or the root) busy
        pid = os.getpid()
        identity = {"pid": pid, "start_time": process_start_time(pid), "boot_id": boot_id()}
        atomic_write(info.recorder_path, json.dumps(identity).encode("utf-8"))
        self.journal = Journal(info.journal_path, create=True)
        self.journal.set_meta("state", "starting")
        self._writer = threading.Thread(target=self._write_loop, name="journal", daemon=True)
        self._writer.start()
        scope = Scope(info.root, info.options.excluded_dirs)
        sources, warnings, degraded = choose_sources(info, scope, self.hasher)
        for src in sources:
            try:
                src.arm(self.queue.put)
                self.sources.append(src)
            except SourceUnavailableError as exc:
                warnings.append(f"{src.name}: {exc}")
                degraded.append(f"{src.name} unavailable: {exc}")
        if sys.platform == "win32" and {"usn", "auto"} & set(info.options.sources):
            self._arm_usn(warnings, degraded)  # pragma: no cover - Windows
        baseline = take_snapshot(info.root, info.options.excluded_dirs)
        self.journal.write_baseline(baseline)
        self.journal.set_meta("warnings", warnings)
        self.journal.add_degraded(degraded)
        self._persist_sources()
        with open(info.token_path, "rb") as f:
            token = f.read()
        server = ControlServer(info.address, token, self._handle)
        self.journal.set_meta("state", "recording")
        ready = f"{READY} {info.session_id} files={len(baseline.files)}\n"
        del baseline  # persisted; the recorder itself never needs it again
        with contextlib.suppress(BrokenPipeError):
            # 'start' may be gone (its terminal closed while it waited): keep recording, the
            # session is live and 'status'/'stop' find it like any other.
            os.write(1, ready.encode())
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        try:
            server.serve()
        except _ShutdownError:
            with self._stop_lock:
                if not self._stopped:  # a stop request may be finishing on its own thread
                    self._shutdown("stopped by SIGTERM")
        finally:
            server.close()
            lock.release()
        return 0

    def _arm_usn(self, warnings: list[str], degraded: list[str]) -> None:  # pragma: no cover
        from tracer.sources.usn import WindowsUsnApi, take_cursor

        try:
            volume = os.path.splitdrive(self.info.root)[0]
            cursor = take_cursor(WindowsUsnApi(), volume)
            assert self.journal is not None
            self.journal.set_meta("usn_cursor", cursor.to_dict())
        except (TracerError, OSError) as exc:
            warnings.append(f"usn: {exc}")
            degraded.append(f"usn unavailable: {exc}")

    def _status(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "sources": [s.status().to_dict() for s in self.sources],
            "degraded": [r for s in self.sources for r in s.degraded_reasons()]
            + ([f"{self.lost} live events could not be journaled"] if self.lost else []),
        }

    def _handle(self, msg: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """One control request (on the connection's own thread): (reply, stop serving)."""
        cmd = msg.get("cmd")
        if cmd == "status":
            return self._status(), False
        if cmd == "stop":
            with self._stop_lock:
                if not self._stopped:
                    self._shutdown("stopped on request")
            return {"ok": True, **self._status()}, True
        return {"error": f"unknown command {cmd!r}"}, False

    def _shutdown(self, why: str) -> None:
        self._stopped = True
        for src in self.sources:
            try:
                src.close()
            except Exception:  # noqa: BLE001 - one source failing must not lose the rest
                traceback.print_exc()
        self.queue.put(None)
        if self._writer is not None:
            self._writer.join()
        assert self.journal is not None
        self._persist_sources()
        self.journal.set_meta("stop_reason", why)
        self.journal.set_meta("state", "stopped")
        self.journal.close()


def run_recorder(session_dir: str, hasher: HashCallable | None = None) -> int:
    try:
        return Recorder(session_dir, hasher).run()
    except Exception as exc:  # noqa: BLE001 - reported to 'start' and the log, then exit
        traceback.print_exc()
        with contextlib.suppress(OSError):
            os.write(1, f"ERROR {exc}\n".encode())
        return 4


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m tracer.recorder SESSION_DIR", file=sys.stderr)
        return 2
    return run_recorder(args[0])


if __name__ == "__main__":
    sys.exit(main())

"""Session lifecycle: start, status and stop of one recording (tracer.md 5).

``start`` resolves the root, takes ``start.lock``, refuses overlapping live or stale sessions,
writes the session directory (``session.json``, a 0600 token) and spawns a detached recorder
(``spawn``) that answers "READY" once its baseline is in the journal and its sources are armed.
``status`` and ``stop`` find the session (``state``), test liveness by the recorder's lock
(``liveness``) and talk to it over the control channel (``control``). ``stop`` asks the recorder
to drain its sources and exit; if it is dead or hung it recovers from the journal and marks the
result degraded (``recovery``). Either way the root is walked again and reduced into the manifest.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH100, PTH102, PTH118

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tracer.control import control_address, remove_address, request
from tracer.errors import SessionExistsError, TracerEnvironmentError, TracerError
from tracer.journal import Journal
from tracer.liveness import FileLock, boot_id, is_locked
from tracer.records import FileManifest, SourceStatus, dumps_json
from tracer.recovery import Recovery, collect, kill_verified, stale_cause, stale_reason
from tracer.reduce import scan_manifest
from tracer.sources.base import Scope, content_of_path
from tracer.sources.snapshot import take_snapshot
from tracer.spawn import default_recorder_argv, spawn_recorder
from tracer.state import (
    SessionInfo,
    SessionOptions,
    atomic_write,
    find_session,
    iter_sessions,
    normalise_root,
    overlaps,
    state_root,
)


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """One line of ``inspector status``."""

    info: SessionInfo
    state: str
    """``recording``, ``unresponsive`` (lock held, no answer) or ``stale``."""
    detail: str | None = None
    events: int | None = None
    sources: tuple[SourceStatus, ...] = ()
    degraded: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.info.session_id,
            "root": self.info.root,
            "installer": self.info.installer,
            "created_ns": self.info.created_ns,
            "state": self.state,
            "detail": self.detail,
            "events": self.events,
            "sources": [s.to_dict() for s in self.sources],
            "degraded": list(self.degraded),
            "session_dir": self.info.session_dir,
        }


@dataclass(frozen=True, slots=True)
class StopResult:
    """``stop``'s outcome: the manifest and how the session ended."""

    manifest: FileManifest
    info: SessionInfo
    recovered: bool
    """True when the recorder was not there to stop cleanly (crash, kill, reboot, hang)."""
    journal_damaged: bool = False
    """True when part of the journal could not be read: the result comes from the two walks
    (or the final walk alone when the baseline was lost) and says so in ``degraded``."""


# -- status -----------------------------------------------------------------------------------
def session_status(info: SessionInfo, timeout: float = 3.0) -> SessionStatus:
    if not is_locked(info.lock_path):
        degraded: tuple[str, ...] = ()
        events = None
        with contextlib.suppress(TracerError, OSError):
            j = Journal(info.journal_path)
            try:
                degraded = tuple(j.get_meta("degraded", []))
                events = j.event_count()
            finally:
                j.close()
        return SessionStatus(info, "stale", stale_reason(info), events, (), degraded)
    try:
        reply = request(info, {"cmd": "status"}, timeout)
    except (OSError, EOFError, TimeoutError, ValueError) as exc:
        return SessionStatus(
            info,
            "unresponsive",
            f"recorder holds its lock but does not answer ({exc}); stop will kill and recover it",
        )
    return SessionStatus(
        info,
        "recording",
        None,
        int(reply.get("events", 0)),
        tuple(SourceStatus.from_dict(s) for s in reply.get("sources", ())),
        tuple(reply.get("degraded", ())),
    )


def list_sessions() -> list[SessionStatus]:
    return [session_status(info) for info in iter_sessions()]


def start_session(
    root: str,
    *,
    installer: str | None = None,
    options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen record
    recorder_argv: Sequence[str] | None = None,
    ready_timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
) -> SessionInfo:
    """Spawn a detached recorder for ``root`` and return once it reports ready."""
    real = normalise_root(root)
    state = state_root()
    with FileLock(os.path.join(state, "start.lock")) as start_lock:
        if not start_lock.acquire(30.0):
            raise TracerEnvironmentError(f"another 'inspector start' holds {start_lock.path}")
        for other in iter_sessions(state):
            if not overlaps(other.root, real):
                continue
            live = is_locked(other.lock_path)
            same = other.root == real
            if live:
                what = (
                    f"is already being recorded by session {other.session_id}"
                    if same
                    else f"overlaps session {other.session_id}, which records {other.root}"
                )
                raise SessionExistsError(
                    f"{real} {what}; stop it first with 'inspector stop {other.root}'"
                )
            what = (
                f"has a stale session {other.session_id}"
                if same
                else f"overlaps stale session {other.session_id} on {other.root}"
            )
            raise SessionExistsError(
                f"{real} {what} ({stale_reason(other)}); run 'inspector stop {other.root}' to "
                "recover its results first"
            )
        sid = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)
        sdir = os.path.join(state, "sessions", sid)
        os.mkdir(sdir, 0o700)
        info = SessionInfo(
            session_id=sid,
            root=real,
            session_dir=sdir,
            created_ns=time.time_ns(),
            boot_id=boot_id(),
            address=control_address(sdir),
            installer=None if installer is None else os.path.abspath(installer),
            options=replace(options, excluded_dirs=tuple(sorted({*options.excluded_dirs, state}))),
            uid=os.geteuid() if hasattr(os, "geteuid") else None,
        )
        atomic_write(info.token_path, secrets.token_hex(32).encode())
        atomic_write(os.path.join(sdir, "session.json"), dumps_json(info.to_dict()).encode())
        argv = [*(recorder_argv or default_recorder_argv()), sdir]
        try:
            spawn_recorder(info, argv, ready_timeout, env)
        except BaseException:
            discard_session(info)
            raise
    return info


def stop_session(root: str, *, control_timeout: float = 60.0, keep: bool = False) -> StopResult:
    """Stop (or recover) the session on ``root`` and return its manifest.

    The session directory is removed unless ``keep``; callers writing outputs pass ``keep=True``
    and call ``discard_session`` once their files are in place, so a failed write can be retried.
    """
    info = find_session(root)
    recovery: list[Recovery] = []
    lock = FileLock(info.lock_path)
    if not lock.try_acquire():
        try:
            request(info, {"cmd": "stop"}, control_timeout)
        except (OSError, EOFError, TimeoutError, ValueError):
            if lock.acquire(0.5):  # it died just now: nothing to kill
                recovery.append(Recovery(stale_cause(info)))
            else:
                recovery.append(kill_verified(info))
        if not lock.held and not lock.acquire(30.0):
            raise TracerEnvironmentError(
                f"recorder of {info.root} still holds {info.lock_path} 30 s after stop"
            )
    else:
        recovery.append(Recovery(stale_cause(info)))
    try:
        manifest, recovered, damaged = collect(info, recovery)
        result = StopResult(manifest, info, recovered, journal_damaged=damaged)
    finally:
        lock.release()
    if not keep:
        discard_session(info)
    return result


def discard_session(info: SessionInfo) -> None:
    shutil.rmtree(info.session_dir, ignore_errors=True)
    remove_address(info.address, info.session_dir)


def scan_tree(
    path: str,
    options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen record
) -> FileManifest:
    """Package Inspector's ``scan``: every file already under ``path``, no recording."""
    root = normalise_root(path)
    scope = Scope(root, options.excluded_dirs)
    snap = take_snapshot(root, options.excluded_dirs)
    content = {p: content_of_path(p) for p in sorted(snap.files)}
    return scan_manifest(snap, content, scope, options.reduce_options())

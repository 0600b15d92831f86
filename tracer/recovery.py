"""Ending a session from what is on disk: journal, baseline and a final walk (tracer.md 5.2, 6).

A recorder that is gone (crash, kill, reboot) or hung (killed after its pid was verified) leaves
its journal behind: ``collect`` reads baseline and events from it, walks the root again and
reduces everything into the manifest, marking it degraded with the reason. A clean stop goes
through the same reduction, just without the recovery notes.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH110, PTH113

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from tracer.errors import JournalError, TracerEnvironmentError
from tracer.journal import Journal
from tracer.liveness import boot_id, process_start_time
from tracer.records import ContentKind, FileEvent, FileManifest, Snapshot, SourceStatus
from tracer.reduce import gather, reduce_session
from tracer.sources.base import Scope, content_of_path
from tracer.sources.snapshot import take_snapshot
from tracer.state import SessionInfo


def stale_cause(info: SessionInfo) -> str:
    """Why a session's recorder is gone, in a few words (used in degraded flags)."""
    if info.boot_id != boot_id():
        return "the machine rebooted since start"
    return "the recorder is not running (crashed or killed)"


def stale_reason(info: SessionInfo) -> str:
    """``stale_cause`` with what ``stop`` will do about it."""
    if info.boot_id != boot_id():
        return f"{stale_cause(info)}; stop recovers from the journal and the snapshot"
    return f"{stale_cause(info)}; stop recovers from the journal"


@dataclass(frozen=True, slots=True)
class Recovery:
    """Why ``stop`` had to recover, and whether it killed a hung recorder to do so."""

    reason: str
    killed: bool = False


def kill_verified(info: SessionInfo) -> Recovery:
    """Kill a hung recorder, but only if its pid still names the process that wrote the file."""
    try:
        with open(info.recorder_path, encoding="utf-8") as f:
            rec = json.load(f)
        pid = int(rec["pid"])
    except (OSError, ValueError, KeyError) as exc:
        raise TracerEnvironmentError(
            f"recorder of {info.root} is unresponsive and {info.recorder_path} is unreadable "
            f"({exc}); end it by hand, then run stop again"
        ) from exc
    started = process_start_time(pid)
    if started is None or started != rec.get("start_time") or rec.get("boot_id") != boot_id():
        raise TracerEnvironmentError(
            f"recorder of {info.root} is unresponsive and pid {pid} cannot be verified as it "
            "(pid reused?); not signalling it. End the recorder by hand, then run stop again"
        )
    os.kill(pid, signal.SIGKILL)
    return Recovery(
        f"recorder (pid {pid}) did not answer and was killed; live events after its last "
        "flush may be missing",
        killed=True,
    )


def _read_journal(info: SessionInfo, damage: list[str]) -> dict[str, Any]:
    """What the journal holds; a part that cannot be read is described in ``damage`` and left
    at its empty value (``baseline`` None when the first walk is lost), so ``stop`` can still
    finish from the walks: the snapshot guarantee does not depend on the journal being sound."""
    parts: dict[str, Any] = {
        "baseline": None,
        "events": [],
        "sources": [],
        "degraded": [],
        "warnings": [],
        "state": "recording",
        "usn_cursor": None,
    }
    try:
        journal = Journal(info.journal_path)
    except JournalError as exc:
        damage.append(str(exc))
        return parts
    try:
        try:
            parts["baseline"] = journal.read_baseline()
        except (JournalError, sqlite3.DatabaseError, KeyError, TypeError, ValueError) as exc:
            damage.append(f"baseline unreadable ({exc})")
        try:
            parts["events"] = list(journal.events(corrupt=damage))
            parts["sources"] = journal.get_meta("sources", [])
            parts["degraded"] = list(journal.get_meta("degraded", []))
            parts["warnings"] = list(journal.get_meta("warnings", []))
            parts["state"] = journal.get_meta("state", "recording")
            parts["usn_cursor"] = journal.get_meta("usn_cursor")
        except (sqlite3.DatabaseError, ValueError) as exc:
            damage.append(f"events or state unreadable ({exc})")
    finally:
        journal.close()
    return parts


def collect(info: SessionInfo, recovery: list[Recovery]) -> tuple[FileManifest, bool, bool]:
    """The session's manifest, whether it was recovered, and whether the journal was damaged.

    A damaged journal (unreadable file, lost baseline, corrupt event rows) does not stop the
    result: it is built from the two walks (the final walk alone when the baseline is lost,
    listing every file under the root) and marked degraded with the reason.
    """
    if not os.path.exists(info.journal_path):
        raise JournalError(
            f"session journal {info.journal_path} is missing. The recorder of {info.root} died "
            f"before it was ready; remove {info.session_dir} and start again"
        )
    damage: list[str] = []
    parts = _read_journal(info, damage)
    baseline: Snapshot | None = parts["baseline"]
    events: list[FileEvent] = parts["events"]
    meta_sources: list[Any] = parts["sources"]
    degraded: list[str] = parts["degraded"]
    warnings: list[str] = parts["warnings"]
    state = parts["state"]
    usn_cursor = parts["usn_cursor"]
    if damage:
        shown = "; ".join(damage[:5]) + (f"; and {len(damage) - 5} more" if len(damage) > 5 else "")
        degraded.append(
            f"journal damaged: {shown}"
            + (
                "; the baseline is lost, so every file under the root at stop is listed"
                if baseline is None
                else "; outputs come from the two walks and the readable events"
            )
        )
    if baseline is None:
        baseline = Snapshot(root=info.root, files={})
    if state == "stopped":
        # Stopped cleanly before (e.g. an earlier stop whose outputs failed): nothing lost.
        recovery = [r for r in recovery if r.killed]
    elif not recovery:
        recovery = [Recovery("the recorder did not record a clean stop")]
    degraded.extend(f"recovered from the journal: {r.reason}" for r in recovery)
    opts = info.options
    scope = Scope(info.root, opts.excluded_dirs)
    if usn_cursor is not None:  # pragma: no cover - Windows
        from tracer.sources.usn import UsnCursor, WindowsUsnApi, usn_events

        events.extend(usn_events(WindowsUsnApi(), UsnCursor.from_dict(usn_cursor), scope))
    final = take_snapshot(info.root, opts.excluded_dirs)
    evidence = gather(baseline, final, events, scope)
    candidates = evidence.candidates(final)
    content: dict[str, ContentKind] = {p: content_of_path(p) for p in sorted(candidates)}
    if info.installer and os.path.isfile(info.installer):
        content[info.installer] = content_of_path(info.installer)
    manifest = reduce_session(
        baseline,
        final,
        events,
        content,
        scope,
        opts.reduce_options(),
        sources=[SourceStatus.from_dict(s) for s in meta_sources],
        warnings=warnings,
        degraded=degraded,
        session_id=info.session_id,
        installer=info.installer,
        started_ns=info.created_ns,
        stopped_ns=time.time_ns(),
        evidence=evidence,
    )
    return manifest, bool(recovery), bool(damage)

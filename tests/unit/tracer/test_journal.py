"""The session journal (tracer.md 5.1): round trip, crash recovery, versioning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tracer.errors import JournalError
from tracer.journal import Journal
from tracer.records import ContentKind, EventKind, FileEvent, Snapshot, WalkStats

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip(tmp_path: Path) -> None:
    j = Journal(str(tmp_path / "j.sqlite"), create=True)
    snap = Snapshot(
        root="/r",
        files={"/r/a": (1, 2, 3, 4), "/r/b\udcff": (5, 6, 7, 8)},
        stats=WalkStats(directories=2, unreadable_dirs=("/r/x (Permission denied)",)),
        taken_ns=9,
    )
    j.write_baseline(snap)
    ev = FileEvent(
        EventKind.WRITTEN,
        "/r/ü\udcfe.exe",
        "fanotify",
        10,
        pid=4,
        content=ContentKind.PE,
        hashes={"sha256": "AB"},
    )
    j.append([ev, FileEvent(EventKind.MOVED, "/r/a", "watchdog", 11, dest="/r/c")])
    j.add_degraded(["x"])
    j.add_degraded(["x", "y"])
    j.close()
    j2 = Journal(str(tmp_path / "j.sqlite"))
    assert j2.read_baseline() == snap
    assert next(iter(j2.events())) == ev
    assert j2.event_count() == 2
    assert j2.get_meta("degraded") == ["x", "y"]


def test_committed_events_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    code = (
        "import os,signal,sys\n"
        "from tracer.journal import Journal\n"
        "from tracer.records import EventKind, FileEvent\n"
        "j = Journal(sys.argv[1], create=True)\n"
        "for i in range(50):\n"
        "    j.append([FileEvent(EventKind.CREATED, f'/r/{i}', 'x', i)])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=False)
    assert res.returncode != 0
    j = Journal(str(path))
    assert [e.path for e in j.events()] == [f"/r/{i}" for i in range(50)]


def test_missing_and_foreign_journals(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="missing"):
        Journal(str(tmp_path / "nope.sqlite"))
    (tmp_path / "bad.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(JournalError, match="unreadable"):
        Journal(str(tmp_path / "bad.sqlite"))
    j = Journal(str(tmp_path / "j.sqlite"), create=True)
    j.set_meta("schema_version", 99)
    j.close()
    with pytest.raises(JournalError, match="schema_version 99"):
        Journal(str(tmp_path / "j.sqlite"))
    j = Journal(str(tmp_path / "k.sqlite"), create=True)
    with pytest.raises(JournalError, match="no baseline"):
        j.read_baseline()

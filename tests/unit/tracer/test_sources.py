"""Live sources in isolation: fanotify, watchdog, psutil sampling, USN parsing (tracer.md 3, 7)."""

from __future__ import annotations

import errno
import hashlib
import logging
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hash_recorder import sha256_of
from tests.support.sessionkit import child_env, fake_pe, needs_fanotify
from tracer.errors import SourceUnavailableError, UsnJournalWrappedError
from tracer.records import ContentKind, EventKind, FileEvent
from tracer.sources.base import Scope
from tracer.sources.fanotify import FAN_Q_OVERFLOW, FanotifySource, mounts_below
from tracer.sources.usn import (
    USN_REASON_CLOSE,
    USN_REASON_DATA_EXTEND,
    USN_REASON_FILE_CREATE,
    USN_REASON_FILE_DELETE,
    USN_REASON_RENAME_NEW_NAME,
    USN_REASON_RENAME_OLD_NAME,
    UsnCursor,
    UsnJournalInfo,
    UsnRecord,
    check_cursor,
    parse_usn_records,
    take_cursor,
    usn_events,
)

LINUX = sys.platform.startswith("linux")


def wait_for(events: list[FileEvent], done: object, timeout: float = 15.0) -> None:
    """Poll until ``done(events)`` holds: events are read on the source's thread, and a loaded
    machine can take longer than any fixed sleep."""
    assert callable(done)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(list(events)):
        time.sleep(0.02)


def write_from_child(code: str, *args: str) -> None:
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=child_env())


# -- fanotify ---------------------------------------------------------------------------------
@needs_fanotify
def test_fanotify_hashes_through_the_fd_after_unlink(tmp_path: Path) -> None:
    events: list[FileEvent] = []
    src = FanotifySource(Scope(str(tmp_path)), sha256_of)
    src.arm(events.append)
    data = fake_pe(b"gone")
    try:
        write_from_child(
            "import os,sys\np=sys.argv[1]\nopen(p,'wb').write(bytes.fromhex(sys.argv[2]))\n"
            "os.unlink(p)\nopen(sys.argv[3],'wb').write(b'outside')\n",
            str(tmp_path / "a.exe"),
            data.hex(),
            str(tmp_path.parent / f"{tmp_path.name}-sibling.exe"),
        )
        wait_for(events, lambda evs: any(e.kind is EventKind.WRITTEN for e in evs))
        time.sleep(0.2)  # room for a wrongly reported sibling to show up
    finally:
        src.close()
    (ev,) = [e for e in events if e.kind is EventKind.WRITTEN]  # the sibling is filtered out
    assert ev.kind is EventKind.WRITTEN
    assert ev.path == str(tmp_path / "a.exe")
    assert ev.content is ContentKind.PE
    assert ev.hashes == {"sha256": hashlib.sha256(data).hexdigest()}
    assert ev.size == len(data)
    assert not src.status().degraded


@needs_fanotify
def test_fanotify_name_events_see_renames_when_they_happen(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir()
    out.mkdir()
    events: list[FileEvent] = []
    src = FanotifySource(Scope(str(root)))
    src.arm(events.append)
    try:
        write_from_child(
            "import os,sys\nr,o=sys.argv[1],sys.argv[2]\n"
            "open(r+'/a.tmp','wb').write(b'a')\nos.rename(r+'/a.tmp', r+'/a.dll')\n"
            "open(r+'/m.dll','wb').write(b'm')\nos.rename(r+'/m.dll', o+'/m.dll')\n"
            "open(r+'/x','wb').write(b'x')\nos.unlink(r+'/x')\n"
            "os.mkdir(r+'/d1')\nopen(r+'/d1/f','wb').write(b'f')\nos.rename(r+'/d1', r+'/d2')\n"
            "open(r+'/d2/g','wb').write(b'g')\n",
            str(root),
            str(out),
        )
        wait_for(
            events,
            lambda evs: sum(e.kind is not EventKind.WRITTEN for e in evs) >= 8,
        )
    finally:
        src.close()
    assert "name events on" in (src.status().detail or "")
    names = [(e.kind, e.path, e.dest) for e in events if e.kind is not EventKind.WRITTEN]
    r, o = str(root), str(out)
    # Directories are named when the event is read: d1/f may already show under its new name.
    f = names[6][1]
    assert f in (f"{r}/d1/f", f"{r}/d2/f")
    assert names == [
        (EventKind.CREATED, f"{r}/a.tmp", None),
        (EventKind.MOVED, f"{r}/a.tmp", f"{r}/a.dll"),
        (EventKind.CREATED, f"{r}/m.dll", None),
        (EventKind.MOVED, f"{r}/m.dll", f"{o}/m.dll"),
        (EventKind.CREATED, f"{r}/x", None),
        (EventKind.DELETED, f"{r}/x", None),
        (EventKind.CREATED, f, None),
        (EventKind.CREATED, f"{r}/d2/g", None),  # not d1/g: the renamed dir is looked up again
    ]


def test_fanotify_queue_overflow_marks_degraded() -> None:
    src = FanotifySource(Scope("/nonexistent-root"))
    # struct fanotify_event_metadata: len, vers, reserved, metadata_len, mask, fd, pid.
    src._parse(struct.pack("=IBBHQii", 24, 3, 0, 24, FAN_Q_OVERFLOW, -1, 0))
    status = src.status()
    assert status.degraded
    assert "overflowed" in (status.detail or "")


def test_fanotify_refuses_clearly_without_privileges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tracer.sources.fanotify.fanotify_available", lambda: "needs root")
    with pytest.raises(SourceUnavailableError, match="needs root"):
        FanotifySource(Scope("/")).arm(lambda e: None)


def test_mountinfo_parsing() -> None:
    info = (
        "27 1 254:0 / / rw - ext4 /dev/vda rw\n"
        "40 27 0:40 / /srv/app/data rw - tmpfs tmpfs rw\n"
        "41 27 0:41 / /srv/app/with\\040space rw - xfs /dev/x rw\n"
        "42 27 0:42 / /srv/app/proc rw - proc proc rw\n"
        "43 27 0:43 / /srv/application rw - ext4 /dev/y rw\n"
    )
    assert mounts_below("/srv/app", info) == ["/srv/app/data", "/srv/app/with space"]


# -- watchdog ---------------------------------------------------------------------------------
@pytest.fixture
def watchdog_source(tmp_path: Path) -> Iterator[tuple[object, list[FileEvent]]]:
    from tracer.sources.watch import WatchdogSource

    events: list[FileEvent] = []
    src = WatchdogSource(Scope(str(tmp_path)), sha256_of)
    src.arm(events.append)
    try:
        yield src, events
    finally:
        src.close()


@pytest.mark.skipif(not LINUX, reason="inotify behaviour")
def test_watchdog_reports_writes_moves_and_hashes(
    tmp_path: Path, watchdog_source: tuple[object, list[FileEvent]]
) -> None:
    src, events = watchdog_source
    data = fake_pe(b"w")
    write_from_child(
        "import os,sys\nr=sys.argv[1]\nopen(r+'/a.exe','wb').write(bytes.fromhex(sys.argv[2]))\n"
        "os.rename(r+'/a.exe', r+'/b.exe')\n"
        "open(r+'/c.exe','wb').write(bytes.fromhex(sys.argv[2]))\n",
        str(tmp_path),
        data.hex(),
    )
    c = str(tmp_path / "c.exe")
    wait_for(
        events,
        lambda evs: (
            any(e.kind is EventKind.MOVED for e in evs)
            and any(e.kind is EventKind.HASHED and e.path == c for e in evs)
        ),
    )
    src.close()  # type: ignore[attr-defined]
    kinds = {(e.kind, e.path, e.dest) for e in events if e.kind is not EventKind.HASHED}
    a, b = str(tmp_path / "a.exe"), str(tmp_path / "b.exe")
    assert (EventKind.CREATED, a, None) in kinds
    assert (EventKind.WRITTEN, a, None) in kinds
    assert (EventKind.MOVED, a, b) in kinds
    hashed = [e for e in events if e.kind is EventKind.HASHED and e.hashes]
    # The worker hashes after close, best effort: by then a.exe may already be renamed, but
    # c.exe stays put and must be hashed.
    assert any(e.path == c for e in hashed)
    for e in hashed:
        assert e.hashes == {"sha256": hashlib.sha256(data).hexdigest()}


def test_watchdog_overflow_log_line_marks_degraded(
    watchdog_source: tuple[object, list[FileEvent]],
) -> None:
    src, _ = watchdog_source
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    assert src.status().degraded  # type: ignore[attr-defined]


def test_watch_limit_falls_back_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracer.sources import watch

    class Exhausted:
        def schedule(self, *a: object, **k: object) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watch, "Observer", Exhausted)
    with pytest.raises(SourceUnavailableError, match="snapshot only"):
        watch.WatchdogSource(Scope(str(tmp_path))).arm(lambda e: None)


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="the inotify re-watch loop is Linux-specific")
def test_no_rewatch_overflow_loop_on_a_large_tree(tmp_path: Path) -> None:
    """tracer.md 0.2: watchdog 7.1.0 saw 2/50 creations on 6,061 dirs with the default mask."""
    from tracer.sources.watch import WatchdogSource

    for i in range(4600):
        (tmp_path / f"d{i // 100}" / f"e{i}").mkdir(parents=True)
    events: list[FileEvent] = []
    src = WatchdogSource(Scope(str(tmp_path)))
    src.arm(events.append)
    try:
        for i in range(50):
            (tmp_path / f"d{i % 46}" / f"e{(i % 46) * 100}" / f"f{i}.dll").write_bytes(b"x")
            time.sleep(0.02)
        wait_for(events, lambda evs: sum(e.kind is EventKind.CREATED for e in evs) >= 50)
        time.sleep(0.2)  # room for duplicates or an overflow to show up
    finally:
        src.close()
    created = {e.path for e in events if e.kind is EventKind.CREATED}
    assert len(created) == 50
    assert not src.status().degraded


LOAD_AND_SLEEP = "import ctypes,sys,time\nctypes.CDLL(sys.argv[1])\ntime.sleep(5)"


# -- psutil -----------------------------------------------------------------------------------
@pytest.mark.skipif(not LINUX, reason="memory maps of a Linux process")
def test_processes_report_executed_images_and_loaded_libraries(tmp_path: Path) -> None:
    from tracer.sources.processes import ProcessSource

    libs = sorted((Path(sys.base_prefix) / "lib").glob("python3*/lib-dynload/*.so"))
    if not libs:
        pytest.skip("no extension module to load")
    lib = tmp_path / "libplugin.so"
    shutil.copy(libs[0], lib)
    sleeper = tmp_path / "sleeper"
    shutil.copy("/bin/sleep", sleeper)
    sleeper.chmod(0o755)
    events: list[FileEvent] = []
    src = ProcessSource(Scope(str(tmp_path)), interval=0.05)
    src.arm(events.append)
    procs = [
        subprocess.Popen([str(sleeper), "5"]),
        subprocess.Popen([sys.executable, "-c", LOAD_AND_SLEEP, str(lib)]),
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 15  # the processes live 5 s; sampling catches them early
        want = {(EventKind.EXECUTED, str(sleeper)), (EventKind.LOADED, str(lib))}
        while time.monotonic() < deadline and not want <= {(e.kind, e.path) for e in events}:
            time.sleep(0.05)
    finally:
        src.close()
        for p in procs:
            p.kill()
            p.wait()
    assert want <= {(e.kind, e.path) for e in events}
    assert all(e.path.startswith(str(tmp_path)) for e in events)


# -- USN --------------------------------------------------------------------------------------
def usn_v2(usn: int, fref: int, pref: int, reason: int, name: str, attrs: int = 0x20) -> bytes:
    raw = name.encode("utf-16-le")
    length = (60 + len(raw) + 7) // 8 * 8
    head = struct.pack(
        "<IHHQQqqIIIIHH", length, 2, 0, fref, pref, usn, 0, reason, 0, 0, attrs, len(raw), 60
    )
    return (head + raw).ljust(length, b"\0")


def usn_v3(usn: int, fref: int, pref: int, reason: int, name: str) -> bytes:
    raw = name.encode("utf-16-le")
    length = (76 + len(raw) + 7) // 8 * 8
    head = struct.pack(
        "<IHH16s16sqqIIIIHH",
        length, 3, 0, fref.to_bytes(16, "little"), pref.to_bytes(16, "little"),
        usn, 0, reason, 0, 0, 0x20, len(raw), 76,
    )  # fmt: skip
    return (head + raw).ljust(length, b"\0")


class FakeUsn:
    def __init__(self, info: UsnJournalInfo, records: list[UsnRecord]) -> None:
        self.info = info
        self.records = records
        self.dirs = {5: "C:\\App", 6: "C:\\Other"}

    def query(self, volume: str) -> UsnJournalInfo:
        return self.info

    def read(self, volume: str, journal_id: int, start_usn: int) -> Iterator[UsnRecord]:
        return iter([r for r in self.records if r.usn >= start_usn])

    def directory_path(self, volume: str, file_ref: int) -> str | None:
        return self.dirs.get(file_ref)


def test_usn_record_parsing() -> None:
    buf = usn_v2(100, 11, 5, USN_REASON_FILE_CREATE, "setup.exe") + usn_v3(
        108, 2**70, 5, USN_REASON_CLOSE, "Ünï.dll"
    )
    a, b = parse_usn_records(buf)
    assert (a.usn, a.file_ref, a.parent_ref, a.reason, a.name) == (
        100, 11, 5, USN_REASON_FILE_CREATE, "setup.exe",
    )  # fmt: skip
    assert (b.usn, b.file_ref, b.name) == (108, 2**70, "Ünï.dll")
    with pytest.raises(ValueError, match="bad length"):
        parse_usn_records(buf[:-8])


def test_usn_events_from_the_cursor_on() -> None:
    close = USN_REASON_CLOSE
    recs = parse_usn_records(
        usn_v2(90, 1, 5, USN_REASON_FILE_CREATE | close, "before.dll")
        + usn_v2(100, 2, 5, USN_REASON_FILE_CREATE, "a.dll")
        + usn_v2(101, 2, 5, USN_REASON_FILE_CREATE | USN_REASON_DATA_EXTEND | close, "a.dll")
        + usn_v2(102, 3, 5, USN_REASON_RENAME_OLD_NAME, "tmp.dll")
        + usn_v2(103, 3, 5, USN_REASON_RENAME_NEW_NAME, "b.dll")
        + usn_v2(104, 4, 5, USN_REASON_FILE_DELETE | close, "gone.dll")
        + usn_v2(105, 7, 6, USN_REASON_FILE_CREATE | close, "noise.dll")
        + usn_v2(106, 8, 5, USN_REASON_FILE_CREATE | close, "sub", attrs=0x10)
    )
    api = FakeUsn(UsnJournalInfo(7, 0, 200, 0), recs)
    cursor = UsnCursor("C:", 7, 100)
    evs = usn_events(api, cursor, Scope("C:\\App"))
    got = [(e.kind, e.path, e.dest) for e in evs]
    j = "\\" if sys.platform == "win32" else "/"
    assert got == [
        (EventKind.CREATED, f"C:\\App{j}a.dll", None),
        (EventKind.WRITTEN, f"C:\\App{j}a.dll", None),
        (EventKind.MOVED, f"C:\\App{j}tmp.dll", f"C:\\App{j}b.dll"),
        (EventKind.DELETED, f"C:\\App{j}gone.dll", None),
    ]


def test_usn_wrap_and_recreation_fail_like_error_1181() -> None:
    api = FakeUsn(UsnJournalInfo(7, 0, 500, 0), [])
    cursor = take_cursor(api, "C:")
    assert cursor == UsnCursor("C:", 7, 500)
    assert UsnCursor.from_dict(cursor.to_dict()) == cursor
    api.info = UsnJournalInfo(7, 900, 5000, 900)
    with pytest.raises(UsnJournalWrappedError, match=r"wrapped.*1181"):
        check_cursor(api, cursor)
    api.info = UsnJournalInfo(8, 0, 10, 0)
    with pytest.raises(UsnJournalWrappedError, match="recreated"):
        usn_events(api, cursor, Scope("C:\\App"))

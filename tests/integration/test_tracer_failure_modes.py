"""Failure modes of tracer.md section 7, against real recorder processes.

Ground truth is what each test's own writer process did (the files and bytes it wrote, hashed here
with hashlib); the recorder's hashing callable in these tests is plain SHA-256 (hash_recorder).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.sessionkit import (
    IS_ROOT,
    by_path,
    child_env,
    fake_pe,
    needs_fanotify,
    recorder_pid,
    run_writer,
    sha256,
    start,
    state_dir,  # noqa: F401 - fixture used through usefixtures
)
from tracer.control import request
from tracer.errors import NoSessionError, SessionExistsError, TracerEnvironmentError
from tracer.liveness import FileLock, is_locked
from tracer.records import Reason
from tracer.session import session_status, stop_session
from tracer.state import find_session

pytestmark = pytest.mark.usefixtures("state_dir")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    """Wait until ``pid`` is gone (reaping it when it is our own child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            if not _alive(pid):
                return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still alive after {timeout} s")


def _wait_events(root: Path, n: int, timeout: float = 30.0, settle: float = 1.0) -> None:
    """Wait until at least ``n`` events are journaled and the count has stopped growing.

    One file can give several events (created, written with its hash, deleted), so reaching
    ``n`` alone does not mean every file's hash is in the journal yet.
    """
    info = find_session(str(root))
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = request(info, {"cmd": "status"}, 5.0)["events"]
        if count != last:
            last, since = count, time.monotonic()
        elif count >= n and time.monotonic() - since >= settle:
            return
        time.sleep(0.1)
    raise AssertionError(f"recorder journaled {last} events in {timeout} s, expected {n}+")


# -- 7.1 / 7.2: bursts and brand-new directories ---------------------------------------------
BURST = """
import os, sys
root = sys.argv[1]
for i in range(20000):
    with open(f"{root}/d{i % 200:03d}/f{i:05d}.dll", "wb") as f:
        f.write(b"x" * 64)
"""


@pytest.mark.slow
@pytest.mark.parametrize("sources", [("auto",), ("watchdog",)])
def test_burst_of_20000_files_into_existing_dirs_misses_nothing(
    tmp_path: Path, sources: tuple[str, ...]
) -> None:
    from tracer.state import SessionOptions

    root = tmp_path / "root"
    for d in range(200):
        (root / f"d{d:03d}").mkdir(parents=True)
    start(root, options=SessionOptions(sources=sources))
    run_writer(BURST, str(root))
    m = stop_session(str(root)).manifest
    expected = {str(root / f"d{i % 200:03d}" / f"f{i:05d}.dll") for i in range(20000)}
    assert {e.path for e in m.entries} == expected
    assert all(e.reasons == {Reason.CREATED} and "snapshot" in e.sources for e in m.entries)
    # A file only the snapshot saw means a live source lost events: that must be reported.
    snapshot_only = [e.path for e in m.entries if set(e.sources) == {"snapshot"}]
    assert not snapshot_only or m.degraded, f"{len(snapshot_only)} files lost silently"


NEW_DIRS = """
import os, sys
root = sys.argv[1]
for i in range(200):
    d = f"{root}/n{i}/a/b/c"
    os.makedirs(d)
    with open(f"{d}/lib{i}.dll", "wb") as f:
        f.write(b"y" * 10)
"""


@pytest.mark.parametrize("sources", [("auto",), ("watchdog",)])
def test_files_in_directories_created_a_moment_earlier(
    tmp_path: Path, sources: tuple[str, ...]
) -> None:
    from tracer.state import SessionOptions

    root = tmp_path / "root"
    root.mkdir()
    start(root, options=SessionOptions(sources=sources))
    run_writer(NEW_DIRS, str(root))
    m = stop_session(str(root)).manifest
    assert {e.path for e in m.entries} == {
        str(root / f"n{i}" / "a" / "b" / "c" / f"lib{i}.dll") for i in range(200)
    }


# -- 7.3 / 7.4: temporary files and binaries -------------------------------------------------
TRANSIENT = """
import os, sys
root = sys.argv[1]
for i in range(50):
    p = f"{root}/tmp/stub{i}.exe"
    with open(p, "wb") as f:
        f.write(bytes.fromhex(sys.argv[2]) + str(i).encode())
    os.unlink(p)
"""

EXEC_DELETE = """
import os, shutil, subprocess, sys
root, tag = sys.argv[1], sys.argv[2]
for i in range(5):
    p = f"{root}/tmp/run{i}"
    with open("/bin/true", "rb") as src, open(p, "wb") as f:
        f.write(src.read() + tag.encode() + str(i).encode())
    os.chmod(p, 0o755)
    subprocess.run([p], check=True)
    os.unlink(p)
"""


@needs_fanotify
def test_temporary_binaries_keep_their_hash_with_fanotify(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "tmp").mkdir(parents=True)
    base = fake_pe(b"stub")
    start(root)
    run_writer(TRANSIENT, str(root), base.hex())
    run_writer(EXEC_DELETE, str(root), "tag")
    m = stop_session(str(root)).manifest
    got = by_path(m)
    true_bytes = Path("/bin/true").read_bytes()
    for i in range(50):
        e = got[str(root / "tmp" / f"stub{i}.exe")]
        assert e.reasons == {Reason.TRANSIENT}
        assert not e.exists_at_stop
        assert e.catalogable
        assert e.hashes_at_close == ({"sha256": sha256(base + str(i).encode())},)
    for i in range(5):
        e = got[str(root / "tmp" / f"run{i}")]
        assert e.reasons == {Reason.TRANSIENT, Reason.EXECUTED}
        assert e.hashes_at_close == ({"sha256": sha256(true_bytes + b"tag" + str(i).encode())},)
    assert len(m.entries) == 55


def test_temporary_files_without_fanotify_are_listed_never_dropped(tmp_path: Path) -> None:
    from tracer.state import SessionOptions

    root = tmp_path / "root"
    (root / "tmp").mkdir(parents=True)
    start(root, options=SessionOptions(sources=("watchdog",)))
    run_writer(TRANSIENT, str(root), fake_pe(b"w").hex())
    m = stop_session(str(root)).manifest
    seen = by_path(m)
    # inotify on a pre-existing directory reports every one (tracer.md 0.5); each is transient
    # and says whether a hash was caught before the file vanished.
    assert set(seen) == {str(root / "tmp" / f"stub{i}.exe") for i in range(50)}
    for i in range(50):
        e = seen[str(root / "tmp" / f"stub{i}.exe")]
        assert Reason.TRANSIENT in e.reasons
        if e.hashes_at_close:  # a hash caught in time must be the hash of what was written
            written = fake_pe(b"w") + str(i).encode()
            assert dict(e.hashes_at_close[-1]) == {"sha256": hashlib.sha256(written).hexdigest()}
        else:
            assert any("no source captured its hash" in w for w in e.warnings)
    if sys.platform.startswith("linux") and not IS_ROOT:
        assert any("fanotify unavailable" in d for d in m.degraded)


@needs_fanotify
def test_exec_of_preexisting_binary_is_recorded(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    tool = root / "tool"
    tool.write_bytes(Path("/bin/true").read_bytes())
    tool.chmod(0o755)
    start(root)
    subprocess.run([str(tool)], check=True)
    (e,) = stop_session(str(root)).manifest.entries
    assert e.path == str(tool)
    assert e.reasons == {Reason.EXECUTED}
    assert "fanotify" in e.sources


# -- 7.5 / 7.6: moves, atomic replaces, same-size edits ---------------------------------------
MOVES = """
import os, sys
root, out = sys.argv[1], sys.argv[2]
os.rename(f"{out}/in.dll", f"{root}/in.dll")
os.rename(f"{out}/tree", f"{root}/tree")
os.rename(f"{root}/pre/leave.dll", f"{out}/leave.dll")
os.rename(f"{root}/pre/ren.dll", f"{root}/pre/renamed.dll")
with open(f"{root}/pre/made.dll", "wb") as f:
    f.write(b"made")
os.rename(f"{root}/pre/made.dll", f"{out}/made.dll")
"""


@pytest.mark.parametrize("sources", [("auto",), ("watchdog",)])
def test_moves_into_out_of_and_within_the_root(tmp_path: Path, sources: tuple[str, ...]) -> None:
    from tracer.state import SessionOptions

    root, out = tmp_path / "root", tmp_path / "outside"
    (root / "pre").mkdir(parents=True)
    (out / "tree" / "sub").mkdir(parents=True)
    (out / "in.dll").write_bytes(b"in")
    (out / "tree" / "a.dll").write_bytes(b"a")
    (out / "tree" / "sub" / "b.dll").write_bytes(b"b")
    (root / "pre" / "leave.dll").write_bytes(b"leave")
    (root / "pre" / "ren.dll").write_bytes(b"ren")
    start(root, options=SessionOptions(sources=sources))
    run_writer(MOVES, str(root), str(out))
    got = by_path(stop_session(str(root)).manifest)
    created = {p for p, e in got.items() if e.reasons == {Reason.CREATED}}
    assert created == {
        str(root / "in.dll"),
        str(root / "tree" / "a.dll"),
        str(root / "tree" / "sub" / "b.dll"),
        str(root / "pre" / "renamed.dll"),
    }
    made = got.pop(str(root / "pre" / "made.dll"), None)
    # Written in the root, then moved out: transient, never silently dropped. fanotify's name
    # events (and inotify's unpaired MOVED_FROM) see the move at the moment it happens.
    assert made is not None
    assert Reason.TRANSIENT in made.reasons
    if sources == ("auto",) and IS_ROOT:
        assert any("moved out of the root" in w for w in made.warnings)
    assert set(got) == created


EDITS = """
import os, sys
root = sys.argv[1]
for i in range(20):
    p = f"{root}/same{i}.dll"
    st = os.stat(p)
    with open(p, "r+b") as f:
        f.write(b"Z")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
for i in range(20):
    p = f"{root}/atomic{i}.dll"
    st = os.stat(p)
    with open(p + ".tmp", "wb") as f:
        f.write(b"B" * 100)
    os.utime(p + ".tmp", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(p + ".tmp", p)
"""


@pytest.mark.parametrize("sources", [("auto",), ("none",)])
def test_same_size_edits_and_atomic_replaces_with_restored_mtime(
    tmp_path: Path, sources: tuple[str, ...]
) -> None:
    from tracer.state import SessionOptions

    root = tmp_path / "root"
    root.mkdir()
    for i in range(20):
        (root / f"same{i}.dll").write_bytes(b"A" * 100)
        (root / f"atomic{i}.dll").write_bytes(b"A" * 100)
    (root / "untouched.dll").write_bytes(b"A" * 100)
    start(root, options=SessionOptions(sources=sources))
    run_writer(EDITS, str(root))
    got = by_path(stop_session(str(root)).manifest)
    expected = {str(root / f"same{i}.dll") for i in range(20)}
    expected |= {str(root / f"atomic{i}.dll") for i in range(20)}
    assert set(got) == expected
    assert all(Reason.MODIFIED in e.reasons for e in got.values())


# -- 7.7: links, loops, unreadable directories -----------------------------------------------
def test_symlink_loops_and_links_out_of_the_root(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    out.mkdir()
    (root / "a" / "b" / "up").symlink_to("../..")
    (root / "self").symlink_to(".")
    (root / "escape").symlink_to(out)
    start(root)
    run_writer(
        "import sys\nopen(sys.argv[1] + '/escape/through-link.dll', 'wb').write(b'x')\n"
        "open(sys.argv[1] + '/a/b/up/a/real.dll', 'wb').write(b'y')\n",
        str(root),
    )
    m = stop_session(str(root)).manifest
    assert [e.path for e in m.entries] == [str(root / "a" / "real.dll")]
    assert m.walk.links_skipped == 3


@pytest.mark.skipif(not IS_ROOT, reason="drops capabilities with setpriv, which needs root")
def test_unreadable_directories_are_counted_and_reported(tmp_path: Path) -> None:
    from tests.conftest import require_tool

    setpriv = require_tool("setpriv")
    root = tmp_path / "root"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "x.dll").write_bytes(b"x")
    (root / "open.dll").write_bytes(b"y")
    (root / "locked").chmod(0)
    inspector = Path(sys.executable).parent / "inspector"
    report = tmp_path / "r.json"
    try:
        res = subprocess.run(
            [setpriv, "--bounding-set=-dac_override,-dac_read_search", str(inspector), "scan",
             str(root), "-out", "list", "-listpath", str(tmp_path / "l.txt"),
             "--report", str(report)],
            capture_output=True, text=True, env=child_env(), check=False,
        )  # fmt: skip
    finally:
        (root / "locked").chmod(0o755)
    assert res.returncode == 0, res.stderr
    assert "1 directory could not be read" in res.stderr
    data = json.loads(report.read_text())
    assert [u.split(" (")[0] for u in data["walk"]["unreadable_dirs"]] == [str(root / "locked")]
    assert (tmp_path / "l.txt").read_text().splitlines() == [str(root / "open.dll")]


# -- 7.9: recorder stalled or killed ----------------------------------------------------------
FILES = """
import sys
for i in range(int(sys.argv[3])):
    with open(f"{sys.argv[1]}/{sys.argv[2]}{i}.dll", "wb") as f:
        f.write(b"z")
"""


def test_sigstopped_recorder_is_killed_and_recovered(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    info = start(root)
    run_writer(FILES, str(root), "before", "30")
    pid = recorder_pid(info)
    os.kill(pid, signal.SIGSTOP)
    try:
        run_writer(FILES, str(root), "after", "30")
        assert session_status(info, timeout=1.0).state == "unresponsive"
        res = stop_session(str(root), control_timeout=2.0)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGCONT)
    assert res.recovered
    assert any("killed" in d for d in res.manifest.degraded)
    names = {Path(e.path).name for e in res.manifest.entries}
    assert names == {f"before{i}.dll" for i in range(30)} | {f"after{i}.dll" for i in range(30)}
    _wait_dead(pid)


@needs_fanotify
def test_sigkilled_recorder_keeps_journaled_hashes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "tmp").mkdir(parents=True)
    info = start(root)
    base = fake_pe(b"k")
    run_writer(TRANSIENT, str(root), base.hex())
    _wait_events(root, 50)
    os.kill(recorder_pid(info), signal.SIGKILL)
    run_writer(FILES, str(root), "later", "10")
    res = stop_session(str(root))
    assert res.recovered
    assert any("recovered from the journal" in d for d in res.manifest.degraded)
    got = by_path(res.manifest)
    for i in range(50):
        e = got[str(root / "tmp" / f"stub{i}.exe")]
        assert e.hashes_at_close == ({"sha256": sha256(base + str(i).encode())},)
    assert {str(root / f"later{i}.dll") for i in range(10)} <= set(got)


# -- 7.10 - 7.12: session bookkeeping ---------------------------------------------------------
def test_stop_without_start(tmp_path: Path) -> None:
    with pytest.raises(NoSessionError, match="no recording session"):
        stop_session(str(tmp_path))


def test_start_twice_and_overlapping_roots(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "child").mkdir(parents=True)
    other = tmp_path / "other"
    other.mkdir()
    start(root)
    with pytest.raises(SessionExistsError, match="already being recorded"):
        start(root)
    with pytest.raises(SessionExistsError, match="overlaps"):
        start(root / "child")
    with pytest.raises(SessionExistsError, match="overlaps"):
        start(tmp_path)
    start(other)  # disjoint roots record side by side
    assert stop_session(str(other)).manifest.entries == ()
    assert stop_session(str(root)).manifest.entries == ()


def test_stale_session_after_a_reboot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    info = start(root)
    (root / "kept.dll").write_bytes(b"k")
    os.kill(recorder_pid(info), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_locked(info.lock_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    session_json = Path(info.session_dir) / "session.json"
    data = json.loads(session_json.read_text())
    data["boot_id"] = "an-earlier-boot"
    session_json.write_text(json.dumps(data))
    st = session_status(find_session(str(root)))
    assert st.state == "stale"
    assert st.detail is not None
    assert "rebooted" in st.detail
    with pytest.raises(SessionExistsError, match="stale session"):
        start(root)
    res = stop_session(str(root))
    assert res.recovered
    assert [e.path for e in res.manifest.entries] == [str(root / "kept.dll")]


def test_pid_reuse_never_signals_a_stranger(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    info = start(root)
    os.kill(recorder_pid(info), signal.SIGKILL)
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        rec = json.loads(Path(info.recorder_path).read_text())
        rec["pid"] = stranger.pid  # the pid now names an unrelated process
        Path(info.recorder_path).write_text(json.dumps(rec))
        deadline = time.monotonic() + 5
        while is_locked(info.lock_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Lock held by someone who does not answer and whose pid does not verify: refuse.
        with FileLock(info.lock_path) as held:
            assert held.try_acquire()
            with pytest.raises(TracerEnvironmentError, match="cannot be verified"):
                stop_session(str(root), control_timeout=1.0)
        assert stranger.poll() is None
        # Lock free: recovered from the journal without signalling anybody.
        assert stop_session(str(root)).recovered
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_state_path_too_long_for_a_unix_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("s" * 60) / ("t" * 60)
    monkeypatch.setenv("INSPECTOR_STATE_DIR", str(deep))
    root = tmp_path / "root"
    root.mkdir()
    info = start(root)
    assert len(os.fsencode(str(Path(info.session_dir) / "control.sock"))) > 108
    assert session_status(info).state == "recording"
    (root / "a.dll").write_bytes(b"a")
    res = stop_session(str(root))
    assert not res.recovered
    assert [e.path for e in res.manifest.entries] == [str(root / "a.dll")]


def test_recorder_survives_the_terminal_closing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    inspector = Path(sys.executable).parent / "inspector"
    # The "terminal" must die of SIGHUP as a real one does. A test run started under nohup (or
    # anything else that ignores SIGHUP) hands the ignore down to every child, and a shell
    # cannot undo an ignore it inherited: restore the default for the child.
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        term = subprocess.Popen(
            ["sh", "-c", f"'{inspector}' start '{root}' && sleep 30"],
            start_new_session=True,
            env=child_env(),
            stdout=subprocess.PIPE,
        )
    finally:
        signal.signal(signal.SIGHUP, previous)
    try:
        info = None
        deadline = time.monotonic() + 30
        while info is None and time.monotonic() < deadline:
            try:
                info = find_session(str(root))
                if not is_locked(info.lock_path):
                    info = None
            except NoSessionError:
                pass
            time.sleep(0.1)
        assert info is not None
        os.killpg(term.pid, signal.SIGHUP)
        term.wait(10)
        time.sleep(0.3)
        assert session_status(info).state == "recording"
    finally:
        if term.poll() is None:
            os.killpg(term.pid, signal.SIGKILL)
        if term.stdout is not None:
            term.stdout.close()
    assert not stop_session(str(root)).recovered


# -- 7.13, 7.17, 7.21, 7.23: exclusions, hash changes, noise, names ---------------------------
def test_state_dir_inside_the_root_and_noise_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("INSPECTOR_STATE_DIR", str(root / ".inspector-state"))
    start(root)
    (tmp_path / "root-sibling").mkdir()
    (tmp_path / "root-sibling" / "noise.dll").write_bytes(b"n")
    (root / "app.dll").write_bytes(b"a")
    m = stop_session(str(root)).manifest
    assert [e.path for e in m.entries] == [str(root / "app.dll")]


@needs_fanotify
def test_content_that_changes_after_first_hash(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    v1, v2 = fake_pe(b"version-1"), fake_pe(b"version-2")
    start(root)
    run_writer(
        "import sys,time\np=sys.argv[1]\nopen(p,'wb').write(bytes.fromhex(sys.argv[2]))\n"
        "time.sleep(0.05)\nopen(p,'wb').write(bytes.fromhex(sys.argv[3]))\n",
        str(root / "app.exe"),
        v1.hex(),
        v2.hex(),
    )
    (e,) = stop_session(str(root)).manifest.entries
    assert e.hashes_at_close == ({"sha256": sha256(v1)}, {"sha256": sha256(v2)})
    assert any("content changed after first hash" in w for w in e.warnings)


UNICODE_AND_DEEP = """
import os, sys
root = sys.argv[1]
os.makedirs(root + "/Ünïcødé 文件")
open(root + "/Ünïcødé 文件/アプリ = x.dll", "wb").write(b"u")
fd = os.open(root, os.O_RDONLY)
for _ in range(40):  # 40 x 121 bytes: beyond PATH_MAX, only reachable through dir fds
    os.mkdir("d" * 120, dir_fd=fd)
    n = os.open("d" * 120, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = n
w = os.open("deep.dll", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(w, b"deep")
os.close(w)
"""


def test_unicode_and_very_long_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    start(root)
    run_writer(UNICODE_AND_DEEP, str(root))
    paths = {e.path for e in stop_session(str(root)).manifest.entries}
    assert paths == {
        str(root / "Ünïcødé 文件" / "アプリ = x.dll"),
        str(root) + ("/" + "d" * 120) * 40 + "/deep.dll",
    }


def test_recorder_that_dies_before_ready_is_reported_and_cleaned(tmp_path: Path) -> None:
    from tracer.errors import RecorderStartError
    from tracer.state import iter_sessions

    root = tmp_path / "root"
    root.mkdir()
    crash = [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(RecorderStartError, match="did not become ready") as info:
        start(root, recorder_argv=crash)
    assert "boom" in str(info.value)
    assert list(iter_sessions()) == []


def test_start_on_something_that_is_not_a_directory(tmp_path: Path) -> None:
    from tracer.errors import TracerInputError

    (tmp_path / "file").write_text("x")
    with pytest.raises(TracerInputError, match="not a directory"):
        start(tmp_path / "file")
    with pytest.raises(TracerInputError, match="not a directory"):
        start(tmp_path / "missing")


@pytest.mark.skipif(not IS_ROOT, reason="needs root to hand the state directory to another uid")
def test_state_directory_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracer.state import state_root

    other = tmp_path / "someone-elses"
    other.mkdir(mode=0o700)
    os.chown(other, 65534, 65534)
    with monkeypatch.context() as patch:
        patch.setenv("INSPECTOR_STATE_DIR", str(other))
        with pytest.raises(TracerEnvironmentError, match="belongs to uid 65534"):
            state_root()
        with pytest.raises(TracerEnvironmentError, match="stop the session as the user"):
            stop_session(str(tmp_path))


def test_without_root_the_capability_report_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracer.recorder import choose_sources
    from tracer.sources.base import Scope
    from tracer.state import SessionInfo

    info = SessionInfo("s", str(tmp_path), str(tmp_path), 0, "b", "a")
    with monkeypatch.context() as patch:
        patch.setattr(os, "geteuid", lambda: 1000)
        sources, _warnings, degraded = choose_sources(info, Scope(str(tmp_path)), None)
    names = {s.name for s in sources}
    if sys.platform.startswith("linux"):
        assert names == {"watchdog", "processes"}
        assert any("fanotify unavailable (not root)" in d for d in degraded)

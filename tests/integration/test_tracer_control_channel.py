"""The recorder's control channel against other local users and silent clients (issue 11, item 3).

Real recorder processes: a second connection that sends nothing must not stall ``status`` or
``stop``; long state paths keep a socket file in a private folder (never the abstract namespace,
which any local user can reach); a process of another uid is refused by its peer credentials.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.sessionkit import (
    IS_ROOT,
    LINUX,
    start,
    state_dir,  # noqa: F401 - fixture used through usefixtures
)
from tracer.session import session_status, stop_session

pytestmark = pytest.mark.usefixtures("state_dir")

NOBODY = 65534


def _long_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state directory whose socket path would not fit ``sun_path`` (108 bytes)."""
    monkeypatch.setenv("INSPECTOR_STATE_DIR", str(tmp_path / ("s" * 60) / ("t" * 60)))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)


def _silent_connection(address: str) -> socket.socket:
    """Connect like a client would, then say nothing (the connection stays open)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(address)
    return s


def test_long_state_path_keeps_a_socket_file_in_a_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _long_state(tmp_path, monkeypatch)
    root = tmp_path / "root"
    root.mkdir()
    info = start(root)
    assert not info.address.startswith("\0"), "abstract sockets have no permissions"
    folder = Path(info.address).parent
    st_dir, st_sock = folder.lstat(), Path(info.address).lstat()
    assert stat.S_ISDIR(st_dir.st_mode)
    assert stat.S_IMODE(st_dir.st_mode) == 0o700
    assert st_dir.st_uid == os.geteuid()
    assert stat.S_ISSOCK(st_sock.st_mode)
    assert len(os.fsencode(info.address)) <= 100
    assert session_status(info).state == "recording"
    (root / "a.dll").write_bytes(b"a")
    res = stop_session(str(root))
    assert not res.recovered
    assert [e.path for e in res.manifest.entries] == [str(root / "a.dll")]
    assert not folder.exists(), "stop removes the private socket folder"


@pytest.mark.parametrize("long_path", [False, True], ids=["session-dir", "private-dir"])
def test_silent_connections_do_not_stall_status_or_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, long_path: bool
) -> None:
    if long_path:
        _long_state(tmp_path, monkeypatch)
    root = tmp_path / "root"
    root.mkdir()
    info = start(root)
    silent = [_silent_connection(info.address) for _ in range(3)]
    try:
        t0 = time.monotonic()
        st = session_status(info, timeout=3.0)
        status_s = time.monotonic() - t0
        assert st.state == "recording", st.detail
        assert status_s < 3.0
        (root / "b.dll").write_bytes(b"b")
        t0 = time.monotonic()
        res = stop_session(str(root), control_timeout=20.0)
        stop_s = time.monotonic() - t0
    finally:
        for s in silent:
            s.close()
    # A stalled channel would make stop wait 20 s, kill the recorder and mark it recovered.
    assert not res.recovered, res.manifest.degraded
    assert stop_s < 15.0
    assert [e.path for e in res.manifest.entries] == [str(root / "b.dll")]


_PROBE = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(bytes.fromhex(sys.argv[1]).decode("utf-8", "surrogateescape"))
except OSError as exc:
    print("connect-failed", exc.errno)
    sys.exit(0)
try:
    data = s.recv(100)
except socket.timeout:
    print("silent")
except OSError:
    print("refused")
else:
    print("challenge" if data else "refused")
"""


def _python_for(uid: int) -> str | None:
    """An interpreter that ``uid`` may execute (ours may live in a private home)."""
    for exe in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        try:
            r = subprocess.run(
                [exe, "-I", "-c", "pass"], user=uid, cwd="/", capture_output=True, timeout=30
            )
        except OSError:
            continue
        if r.returncode == 0:
            return exe
    return None


@pytest.mark.skipif(not (IS_ROOT and LINUX), reason="needs root (to run a process as nobody)")
def test_another_user_is_refused_by_peer_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = _python_for(NOBODY)
    if python is None:
        pytest.skip("no Python interpreter that uid 65534 may run")
    _long_state(tmp_path, monkeypatch)
    root = tmp_path / "root"
    root.mkdir()
    info = start(root)
    if info.address.startswith("/"):
        # Simulate a permission mistake so the socket is reachable: the peer check must hold.
        Path(info.address).parent.chmod(0o711)
        Path(info.address).chmod(0o777)
    probe = subprocess.run(
        [python, "-I", "-c", _PROBE, os.fsencode(info.address).hex()],
        user=NOBODY,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert probe.stdout.split() == ["refused"], probe.stdout + probe.stderr
    assert session_status(info, timeout=3.0).state == "recording"
    assert not stop_session(str(root), control_timeout=20.0).recovered

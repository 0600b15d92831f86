"""The control channel's server in-process over a real Unix socket (issue 11, item 3).

Silent clients are hung up on after the handshake deadline, clients beyond the limit are closed at
once, a client without the token is dropped, and none of them delays a well-behaved request.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from multiprocessing import AuthenticationError
from pathlib import Path
from typing import Any

import pytest

from tracer.control import ControlServer, control_address, remove_address, request
from tracer.state import SessionInfo

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")

TOKEN = b"0123456789abcdef" * 4


def _handler(msg: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    return {"echo": msg.get("cmd")}, msg.get("cmd") == "stop"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[SessionInfo, ControlServer]]:
    sdir = tmp_path / "s"
    sdir.mkdir(mode=0o700)
    (sdir / "token").write_bytes(TOKEN)
    info = SessionInfo("sid", str(tmp_path), str(sdir), 0, "boot", str(sdir / "control.sock"))
    server = ControlServer(info.address, TOKEN, _handler, handshake_timeout=0.5, max_clients=2)
    t = threading.Thread(target=server.serve, daemon=True)
    t.start()
    try:
        yield info, server
    finally:
        if t.is_alive():
            request(info, {"cmd": "stop"}, 5.0)
        t.join(5)
        server.close()


def _connect(address: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(address)
    return s


def _read_until_eof(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    return data


def test_a_silent_client_is_hung_up_on_after_the_handshake_deadline(
    served: tuple[SessionInfo, ControlServer],
) -> None:
    info, _server = served
    with _connect(info.address) as silent:
        t0 = time.monotonic()
        got = _read_until_eof(silent)  # the challenge, then EOF when the deadline passes
        waited = time.monotonic() - t0
    assert b"#CHALLENGE#" in got
    assert 0.3 <= waited < 4.0


def test_clients_beyond_the_limit_are_closed_and_requests_still_served(
    served: tuple[SessionInfo, ControlServer],
) -> None:
    info, _server = served
    hogs = [_connect(info.address) for _ in range(2)]
    try:
        time.sleep(0.1)
        with _connect(info.address) as extra:
            assert _read_until_eof(extra) == b""  # no slot: closed without a challenge
        time.sleep(0.8)  # the hogs' 0.5 s deadline passes and frees their slots
        t0 = time.monotonic()
        reply = request(info, {"cmd": "status"}, 5.0)
        assert reply == {"echo": "status"}
        assert time.monotonic() - t0 < 4.0
    finally:
        for h in hogs:
            h.close()


def test_a_client_without_the_token_is_dropped(
    served: tuple[SessionInfo, ControlServer],
) -> None:
    info, _server = served
    Path(info.token_path).write_bytes(b"not the token")
    with pytest.raises(AuthenticationError):
        request(info, {"cmd": "status"}, 3.0)
    Path(info.token_path).write_bytes(TOKEN)
    assert request(info, {"cmd": "status"}, 3.0) == {"echo": "status"}


def test_status_is_answered_while_silent_clients_wait(
    served: tuple[SessionInfo, ControlServer],
) -> None:
    info, _server = served
    with _connect(info.address):
        t0 = time.monotonic()
        assert request(info, {"cmd": "status"}, 3.0) == {"echo": "status"}
        assert time.monotonic() - t0 < 0.4  # well before the silent client's deadline


def test_long_session_dirs_get_a_private_socket_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
        session_dir = str(tmp_path / ("x" * 120))
        address = control_address(session_dir)
        folder = Path(address).parent
        assert folder.parent == run
        assert folder.name.startswith("inspector-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert folder.stat().st_uid == os.geteuid()
        remove_address(address, session_dir)
        assert not folder.exists()
        if os.geteuid() == 0:
            # Another user's runtime folder (kept across sudo) is not used: the temp dir is.
            os.chown(run, 65534, 65534)
            address = control_address(session_dir)
            assert Path(address).parent.parent != run
            assert not address.startswith("\0")
            remove_address(address, session_dir)
    finally:
        shutil.rmtree(run, ignore_errors=True)

"""The control channel between ``stop``/``status`` and the recorder (tracer.md 5.1 and 5.2).

An authenticated local socket (a named pipe on Windows): mutual HMAC challenge with the session's
0600 token, then one JSON request and one JSON reply per connection, with receive timeouts so a
stopped or silent peer cannot hang either side.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH100, PTH103, PTH118

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys
import tempfile
from collections.abc import Mapping
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Any

from tracer.errors import TracerEnvironmentError
from tracer.records import dumps_json
from tracer.state import SessionInfo

_WINDOWS: bool = sys.platform == "win32"
_LINUX: bool = sys.platform.startswith("linux")
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS; keep a margin


def control_address(session_dir: str) -> str:
    """The recorder's socket/pipe address; too-long Unix paths get a short stable alias."""
    digest = hashlib.sha256(os.path.abspath(session_dir).encode("utf-8", "surrogatepass"))
    tag = digest.hexdigest()[:24]
    if _WINDOWS:
        return f"\\\\.\\pipe\\inspector-{tag}"
    path = os.path.join(session_dir, "control.sock")
    if len(os.fsencode(path)) <= _UNIX_PATH_MAX:
        return path
    if _LINUX:
        # Abstract namespace: no file, no length problem; the HMAC token still guards it.
        return f"\0inspector-{tag}"
    short = os.path.join(tempfile.gettempdir(), f"inspector-{os.geteuid()}")
    os.makedirs(short, mode=0o700, exist_ok=True)
    return os.path.join(short, f"{tag}.sock")


# -- control channel --------------------------------------------------------------------------
def _read_token(info: SessionInfo) -> bytes:
    try:
        with open(info.token_path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise TracerEnvironmentError(
            f"cannot read the session token {info.token_path}: {exc.strerror}; stop the session "
            "as the user who started it"
        ) from exc


def request(info: SessionInfo, message: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """Send one JSON request to the recorder; raise OSError/EOFError/TimeoutError on failure."""
    token = _read_token(info)
    if _WINDOWS:  # pragma: no cover - named pipes; no receive timeout, so use a thread
        import threading
        from multiprocessing.connection import Client

        box: dict[str, Any] = {}

        def talk() -> None:
            try:
                with Client(info.address, authkey=token) as c:
                    c.send_bytes(dumps_json(dict(message)).encode())
                    box["reply"] = json.loads(c.recv_bytes())
            except Exception as exc:  # noqa: BLE001 - re-raised below
                box["error"] = exc

        t = threading.Thread(target=talk, daemon=True)
        t.start()
        t.join(timeout)
        if "reply" in box:
            return dict(box["reply"])
        raise box.get("error") or TimeoutError(f"recorder did not answer within {timeout:g} s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(min(timeout, 5.0))
        sock.connect(info.address)
        sock.settimeout(None)
        # Receive timeout at the socket level: Connection reads the raw fd (a stopped
        # recorder accepts in the kernel backlog but never answers the challenge).
        tv = struct.pack("ll", int(timeout), int((timeout % 1) * 1e6))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        conn = Connection(sock.detach())
    finally:
        sock.close()
    try:
        try:
            # Mutual HMAC authentication, as multiprocessing's own Client does.
            answer_challenge(conn, token)
            deliver_challenge(conn, token)
            conn.send_bytes(dumps_json(dict(message)).encode())
            reply = conn.recv_bytes()
        except BlockingIOError as exc:
            raise TimeoutError(f"recorder did not answer within {timeout:g} s") from exc
        return dict(json.loads(reply))
    finally:
        conn.close()

"""The control channel between ``stop``/``status`` and the recorder (tracer.md 5.1 and 5.2).

An authenticated local socket (a named pipe on Windows): mutual HMAC challenge with the session's
0600 token, then one JSON request and one JSON reply per connection, with receive timeouts so a
stopped or silent peer cannot hang either side.

The socket is always a file in a private directory (mode 0700, ours): the session directory when
the path fits ``sun_path``, else a fresh random directory under ``$XDG_RUNTIME_DIR`` or the temp
directory, recorded in ``session.json`` as the address. Never the Linux abstract namespace: it has
no permissions, so any local user could connect. The recorder refuses peers of another uid
(``SO_PEERCRED``), gives each connection a deadline for the handshake and the request, and serves
connections on their own threads, so a silent client never stalls ``status`` or ``stop``.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH100, PTH101, PTH106, PTH108, PTH116, PTH117, PTH118, PTH119, PTH120

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Any

from tracer.errors import TracerEnvironmentError
from tracer.records import dumps_json
from tracer.state import SessionInfo

_WINDOWS: bool = sys.platform == "win32"
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS; keep a margin
_SOCKET_NAME = "control.sock"
_PRIVATE_PREFIX = "inspector-"
HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client gets to authenticate and send its request before the recorder hangs up."""
MAX_CLIENTS = 16
"""Connections served at once; more are closed at once (each holds a thread until its deadline)."""
MAX_REQUEST = 1 << 16
"""Bytes of one JSON request; requests are a command name and a few fields."""

Handler = Callable[[Mapping[str, Any]], tuple[dict[str, Any], bool]]
"""Answers one request: (reply, last) - ``last`` ends the server once the reply is sent."""


def control_address(session_dir: str) -> str:
    """The recorder's socket/pipe address; too-long Unix paths move to a short private folder."""
    if _WINDOWS:
        digest = hashlib.sha256(os.path.abspath(session_dir).encode("utf-8", "surrogatepass"))
        return f"\\\\.\\pipe\\inspector-{digest.hexdigest()[:24]}"
    path = os.path.join(session_dir, _SOCKET_NAME)
    if len(os.fsencode(path)) <= _UNIX_PATH_MAX:
        return path
    return os.path.join(_private_socket_dir(), _SOCKET_NAME)


def _usable_base(base: str | None) -> bool:
    """A folder to create the private directory in: absolute, short, and ours or sticky."""
    if not base or not os.path.isabs(base):
        return False
    longest = os.path.join(base, _PRIVATE_PREFIX + "x" * 8, _SOCKET_NAME)
    if len(os.fsencode(longest)) > _UNIX_PATH_MAX:
        return False
    try:
        st = os.stat(base)
    except OSError:
        return False
    # $XDG_RUNTIME_DIR of another user (e.g. kept across sudo) is not ours to use; /tmp is
    # shared but sticky, and mkdtemp creates its folder exclusively with mode 0700.
    return stat.S_ISDIR(st.st_mode) and (
        st.st_uid == os.geteuid() or bool(st.st_mode & stat.S_ISVTX)
    )


def _private_socket_dir() -> str:
    bases = (os.environ.get("XDG_RUNTIME_DIR"), tempfile.gettempdir(), "/tmp")  # noqa: S108
    for base in bases:
        if not _usable_base(base):
            continue
        assert base is not None
        with contextlib.suppress(OSError):
            return tempfile.mkdtemp(prefix=_PRIVATE_PREFIX, dir=base)
    raise TracerEnvironmentError(
        "no short private folder for the recorder's control socket (a Unix socket path must stay "
        "under 100 bytes): set TMPDIR to a short writable folder such as /tmp, or use a shorter "
        "state directory"
    )


def check_private_dir(path: str) -> None:
    """Refuse to listen in a folder that is not a real directory of ours with mode 0700."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise TracerEnvironmentError(
            f"control socket folder {path} is unusable: {exc.strerror}"
        ) from exc
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise TracerEnvironmentError(
            f"control socket folder {path} must be a directory owned by uid {os.geteuid()} with "
            f"mode 0700 (it is uid {st.st_uid}, mode {stat.filemode(st.st_mode)}); remove it and "
            "start again"
        )


def remove_address(address: str, session_dir: str) -> None:
    """Remove a socket kept outside the session directory, and its private folder."""
    if not address.startswith("/") or address.startswith(session_dir):
        return
    with contextlib.suppress(OSError):
        os.unlink(address)
    folder = os.path.dirname(address)
    if os.path.basename(address) == _SOCKET_NAME and os.path.basename(folder).startswith(
        _PRIVATE_PREFIX
    ):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket, when the OS says."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", raw)[1])
    getpeereid = getattr(sock, "getpeereid", None)
    if getpeereid is not None:  # pragma: no cover - BSD/macOS builds that expose it
        return int(getpeereid()[0])
    return None  # pragma: no cover - the 0700 folder is then the only guard


def _set_timeouts(sock: socket.socket, timeout: float) -> None:
    # Kernel-level timeouts: ``Connection`` reads the raw fd, so socket.settimeout does not apply.
    tv = struct.pack("ll", int(timeout), int((timeout % 1) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


# -- recorder side ----------------------------------------------------------------------------
class ControlServer:
    """The recorder's end of the channel: bound at construction, served by ``serve``."""

    def __init__(
        self,
        address: str,
        token: bytes,
        handler: Handler,
        *,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.address = address
        self._token = token
        self._handler = handler
        self._timeout = handshake_timeout
        self._slots = threading.BoundedSemaphore(max_clients)
        self._done = threading.Event()
        self._refused = 0
        self._dropped = 0
        self._listener: Any = None
        self._sock: socket.socket | None = None
        if _WINDOWS:  # pragma: no cover - named pipes: multiprocessing's Listener
            from multiprocessing.connection import Listener

            self._listener = Listener(address, authkey=token)
            return
        check_private_dir(os.path.dirname(address))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(address)
            os.chmod(address, 0o600)
            sock.listen(64)
            sock.settimeout(0.25)  # wake up to notice ``_done``; signals interrupt it too
        except OSError as exc:
            sock.close()
            raise TracerEnvironmentError(
                f"cannot listen on {address}: {exc.strerror}; remove a leftover socket there"
            ) from exc
        self._sock = sock

    @property
    def refused(self) -> int:
        """Connections refused because their peer was another user."""
        return self._refused

    def serve(self) -> None:
        """Accept until a handler answers ``last``; each client runs on its own thread."""
        if self._listener is not None:  # pragma: no cover - Windows
            self._serve_pipes()
            return
        assert self._sock is not None
        while not self._done.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                continue
            if not self._accept(client):
                client.close()
                continue
            threading.Thread(target=self._client, args=(client,), daemon=True).start()

    def _accept(self, client: socket.socket) -> bool:
        try:
            uid = peer_uid(client)
        except OSError:
            return False
        if uid is not None and uid != os.geteuid():
            self._refused += 1
            return False
        return self._slots.acquire(blocking=False)

    def _client(self, client: socket.socket) -> None:
        try:
            client.settimeout(None)
            _set_timeouts(client, self._timeout)
            conn = Connection(client.detach())
        except OSError:
            client.close()
            self._slots.release()
            return
        last = False
        try:
            with conn:
                deliver_challenge(conn, self._token)
                answer_challenge(conn, self._token)
                msg = json.loads(conn.recv_bytes(MAX_REQUEST))
                if not isinstance(msg, dict):
                    raise ValueError("request is not a JSON object")
                reply, last = self._handler(msg)
                conn.send_bytes(dumps_json(reply).encode())
        except Exception:  # noqa: BLE001
            # A client without the token, a silent one past its deadline, one that hung up or
            # spoke garbage (multiprocessing asserts on a malformed challenge): drop it.
            self._dropped += 1
        finally:
            self._slots.release()
            if last:
                self._done.set()

    def _serve_pipes(self) -> None:  # pragma: no cover - Windows: one client at a time
        from multiprocessing.context import AuthenticationError

        while not self._done.is_set():
            try:
                conn = self._listener.accept()
            except (AuthenticationError, OSError, EOFError, AssertionError):
                continue
            with conn:
                try:
                    if not conn.poll(self._timeout):
                        continue
                    msg = json.loads(conn.recv_bytes())
                except (OSError, EOFError, ValueError):
                    continue
                reply, last = self._handler(msg)
                with contextlib.suppress(OSError):
                    conn.send_bytes(dumps_json(reply).encode())
                if last:
                    return

    def close(self) -> None:
        if self._listener is not None:  # pragma: no cover - Windows
            self._listener.close()
        if self._sock is not None:
            self._sock.close()
            with contextlib.suppress(OSError):
                os.unlink(self.address)


# -- client side ------------------------------------------------------------------------------
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
        _set_timeouts(sock, timeout)
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

"""Session lifecycle: state directory, locks, control channel, start/stop/status (tracer.md 5).

``start`` resolves the root, takes ``start.lock``, refuses overlapping live or stale sessions,
writes the session directory (``session.json``, a 0600 token) and spawns a detached recorder
(new session, stdin closed, log file for stderr) that returns "READY" on stdout once its baseline
is in the journal and its sources are armed. Liveness is the recorder's exclusive OS lock on
``recorder.lock`` (released by the kernel on crash or SIGKILL), never a pid file; a pid is only
signalled after its start time matched what the recorder wrote (pid reuse, tracer.md 5.2).

``stop`` asks the recorder over an authenticated local socket (HMAC challenge with the token,
JSON messages, receive timeouts so a SIGSTOPped recorder cannot hang us) to drain its sources and
exit; if it is dead (killed, rebooted) or hung (killed by verified pid) it recovers everything
from the journal and marks the result degraded. Either way it then walks the root again and
reduces baseline + final walk + events into the manifest. Socket paths too long for ``AF_UNIX``
(~108 bytes) move to the Linux abstract namespace or a short per-user directory.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH100, PTH101, PTH102, PTH103, PTH105, PTH108, PTH110, PTH111, PTH112, PTH113, PTH116, PTH118, PTH120, PTH208

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import IO, Any

from tracer.errors import (
    JournalError,
    NoSessionError,
    RecorderStartError,
    SessionExistsError,
    TracerEnvironmentError,
    TracerError,
    TracerInputError,
)
from tracer.journal import Journal
from tracer.records import (
    SCHEMA_VERSION,
    ContentKind,
    FileEvent,
    FileManifest,
    Snapshot,
    SourceStatus,
    dumps_json,
)
from tracer.reduce import ReduceOptions, gather, reduce_session, scan_manifest
from tracer.sources.base import Scope, content_of_path
from tracer.sources.snapshot import take_snapshot

_WINDOWS: bool = sys.platform == "win32"
_LINUX: bool = sys.platform.startswith("linux")
if _WINDOWS:
    import msvcrt
else:
    import fcntl

STATE_ENV = "INSPECTOR_STATE_DIR"
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS; keep a margin
READY = "READY"


# -- small OS helpers -------------------------------------------------------------------------
def boot_id() -> str:
    """Identifies the current boot: a reboot between start and stop makes sessions stale."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        # Boot time to the minute from wall clock minus monotonic (Windows: GetTickCount64).
        return f"boot@{int((time.time() - time.monotonic()) // 60)}"


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux: /proc/pid/stat field 22), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            data = f.read()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write to a temp file in the same directory and rename: no partial files."""
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        os.fchmod(fd, mode) if hasattr(os, "fchmod") else None
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class FileLock:
    """An exclusive OS lock on a file (flock / msvcrt.locking); the kernel drops it on death."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._f: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        f = open(self.path, "a+b")  # noqa: SIM115 - held for the lock's lifetime
        try:
            if _WINDOWS:
                f.seek(0)
                getattr(msvcrt, "locking")(f.fileno(), getattr(msvcrt, "LK_NBLCK"), 1)  # noqa: B009 - typeshed hides msvcrt off Windows
            else:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            f.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                return False
            raise
        self._f = f
        return True

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    @property
    def held(self) -> bool:
        return self._f is not None

    def release(self) -> None:
        if self._f is not None:
            self._f.close()  # closing drops flock; msvcrt locks go with the handle too
            self._f = None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(path: str) -> bool:
    """True while some process holds the lock (i.e. the recorder is alive)."""
    if not os.path.exists(path):
        return False
    probe = FileLock(path)
    if probe.try_acquire():
        probe.release()
        return False
    return True


# -- state directory --------------------------------------------------------------------------
def state_root() -> str:
    """Per-user state directory (mode 0700), created on demand; ``$INSPECTOR_STATE_DIR`` wins."""
    env = os.environ.get(STATE_ENV)
    if env:
        root = env
    elif _WINDOWS:
        root = os.path.join(os.environ.get("LOCALAPPDATA", os.path.expanduser("~")), "inspector")
    else:
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "state"
        )
        root = os.path.join(base, "inspector")
    root = os.path.abspath(root)
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        if not _WINDOWS:
            st = os.stat(root)
            if st.st_uid != os.geteuid():
                raise TracerEnvironmentError(
                    f"state directory {root} belongs to uid {st.st_uid}, not to you "
                    f"(uid {os.geteuid()}); stop the session as the user who started it"
                )
            if st.st_mode & 0o077:
                os.chmod(root, 0o700)
        os.makedirs(os.path.join(root, "sessions"), mode=0o700, exist_ok=True)
    except OSError as exc:
        raise TracerEnvironmentError(
            f"cannot use state directory {root}: {exc.strerror}; set {STATE_ENV} to a "
            "writable private directory"
        ) from exc
    return root


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


# -- records ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SessionOptions:
    """What the user asked for at start (kept for stop and recovery)."""

    sources: tuple[str, ...] = ("auto",)
    """``auto`` or any of ``fanotify``, ``watchdog``, ``processes``, ``usn``, ``none``."""
    excluded_dirs: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extensions: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "excluded_dirs": list(self.excluded_dirs),
            "include": list(self.include),
            "exclude": list(self.exclude),
            "extensions": None if self.extensions is None else list(self.extensions),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SessionOptions:
        ext = d.get("extensions")
        return cls(
            sources=tuple(d.get("sources", ("auto",))),
            excluded_dirs=tuple(d.get("excluded_dirs", ())),
            include=tuple(d.get("include", ())),
            exclude=tuple(d.get("exclude", ())),
            extensions=None if ext is None else tuple(ext),
        )

    def reduce_options(self) -> ReduceOptions:
        base = ReduceOptions(include=self.include, exclude=self.exclude)
        if self.extensions is not None:
            base = replace(base, extensions=frozenset(e.lower() for e in self.extensions))
        return base


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """``session.json``: everything needed to find, stop or recover a session."""

    session_id: str
    root: str
    session_dir: str
    created_ns: int
    boot_id: str
    address: str
    installer: str | None = None
    options: SessionOptions = field(default_factory=SessionOptions)
    uid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "session_id": self.session_id,
            "root": self.root,
            "session_dir": self.session_dir,
            "created_ns": self.created_ns,
            "boot_id": self.boot_id,
            "address": self.address,
            "installer": self.installer,
            "options": self.options.to_dict(),
            "uid": self.uid,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SessionInfo:
        if d.get("schema_version") != SCHEMA_VERSION:
            raise JournalError(f"session.json schema_version {d.get('schema_version')!r}")
        return cls(
            session_id=str(d["session_id"]),
            root=str(d["root"]),
            session_dir=str(d["session_dir"]),
            created_ns=int(d["created_ns"]),
            boot_id=str(d["boot_id"]),
            address=str(d["address"]),
            installer=d.get("installer"),
            options=SessionOptions.from_dict(d.get("options", {})),
            uid=d.get("uid"),
        )

    @property
    def lock_path(self) -> str:
        return os.path.join(self.session_dir, "recorder.lock")

    @property
    def journal_path(self) -> str:
        return os.path.join(self.session_dir, "journal.sqlite")

    @property
    def token_path(self) -> str:
        return os.path.join(self.session_dir, "token")

    @property
    def log_path(self) -> str:
        return os.path.join(self.session_dir, "recorder.log")

    @property
    def recorder_path(self) -> str:
        return os.path.join(self.session_dir, "recorder.json")


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


# -- sessions on disk -------------------------------------------------------------------------
def normalise_root(root: str) -> str:
    path = os.path.realpath(os.path.abspath(root))
    if not os.path.isdir(path):
        raise TracerInputError(f"{root} is not a directory; give the folder or drive to record")
    return path


def _overlaps(a: str, b: str) -> bool:
    a_, b_ = os.path.normcase(a).rstrip(os.sep), os.path.normcase(b).rstrip(os.sep)
    return a_ == b_ or a_.startswith(b_ + os.sep) or b_.startswith(a_ + os.sep) or not a_ or not b_


def load_info(session_dir: str) -> SessionInfo:
    try:
        with open(os.path.join(session_dir, "session.json"), encoding="utf-8") as f:
            return SessionInfo.from_dict(json.load(f))
    except (OSError, ValueError, KeyError) as exc:
        raise JournalError(f"{session_dir}/session.json is unreadable: {exc}") from exc


def iter_sessions(state: str | None = None) -> Iterator[SessionInfo]:
    base = os.path.join(state or state_root(), "sessions")
    with contextlib.suppress(FileNotFoundError):
        for name in sorted(os.listdir(base)):
            d = os.path.join(base, name)
            if os.path.isfile(os.path.join(d, "session.json")):
                with contextlib.suppress(JournalError):
                    yield load_info(d)


def find_session(root: str, state: str | None = None) -> SessionInfo:
    want = os.path.normcase(os.path.realpath(os.path.abspath(root)))
    for info in iter_sessions(state):
        if os.path.normcase(info.root) == want:
            return info
    raise NoSessionError(
        f"no recording session for {root}; start one with 'inspector start {root}' "
        f"(state directory {state or state_root()}; sessions belong to the user who started "
        "them, so stop as that user, e.g. with sudo if start ran with sudo)"
    )


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
class _Recovery:
    """Why ``stop`` had to recover, and whether it killed a hung recorder to do so."""

    reason: str
    killed: bool = False


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


# -- start ------------------------------------------------------------------------------------
def default_recorder_argv() -> list[str]:
    """Recorder without hashing; ``inspector`` passes its own entry point with a hasher."""
    return [sys.executable, "-m", "tracer.recorder"]


def start_session(
    root: str,
    *,
    installer: str | None = None,
    options: SessionOptions = SessionOptions(),
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
            if not _overlaps(other.root, real):
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
            _spawn_and_wait(info, argv, ready_timeout, env)
        except BaseException:
            shutil.rmtree(sdir, ignore_errors=True)
            raise
    return info


def _spawn_and_wait(
    info: SessionInfo, argv: list[str], timeout: float, env: Mapping[str, str] | None
) -> None:
    if _WINDOWS:  # pragma: no cover - no posix_spawn; CreateProcess flags instead
        _spawn_windows(info, argv, timeout, env)
        return
    read_fd, write_fd = os.pipe()
    log_fd = os.open(info.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        # posix_spawn with setsid: a new session, no controlling terminal (SIGHUP from a closing
        # terminal never reaches it), stdin from /dev/null, stdout = the ready pipe, stderr = log.
        # Not subprocess.Popen: the recorder outlives us on purpose and must not be waited for.
        pid = os.posix_spawnp(
            argv[0],
            argv,
            dict(os.environ if env is None else env),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, write_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
        )
    except OSError as exc:
        os.close(read_fd)
        raise RecorderStartError(f"cannot run the recorder {argv[0]}: {exc.strerror}") from exc
    finally:
        os.close(write_fd)
        os.close(log_fd)
    try:
        line = _read_line(read_fd, timeout)
    finally:
        os.close(read_fd)
    if line.startswith(READY):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, os.WNOHANG)
    _raise_not_ready(info, line.strip() or "it exited without a word")


def _raise_not_ready(info: SessionInfo, why: str) -> None:
    try:
        with open(info.log_path, encoding="utf-8", errors="replace") as f:
            tail = "".join(f.readlines()[-15:]).strip()
    except OSError:
        tail = ""
    raise RecorderStartError(
        f"the recorder for {info.root} did not become ready ({why})"
        + (f"; its log ends with:\n{tail}" if tail else "")
    )


def _spawn_windows(  # pragma: no cover - Windows
    info: SessionInfo, argv: list[str], timeout: float, env: Mapping[str, str] | None
) -> None:
    flags = 0x00000008 | 0x00000200 | 0x08000000  # DETACHED | NEW_PROCESS_GROUP | NO_WINDOW
    with open(info.log_path, "ab") as log:
        for extra in (0x01000000, 0):  # CREATE_BREAKAWAY_FROM_JOB, then without (access denied)
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    close_fds=True,
                    env=None if env is None else dict(env),
                    creationflags=flags | extra,
                )
                break
            except OSError:
                if not extra:
                    raise
    assert proc.stdout is not None
    line = proc.stdout.readline().decode("utf-8", "replace")
    proc.stdout.close()
    proc.returncode = 0  # detached on purpose: never waited for
    if not line.startswith(READY):
        _raise_not_ready(info, line.strip() or "it exited without a word")


def _read_line(fd: int, timeout: float) -> str:
    import select

    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timed out waiting for the baseline walk"
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode("utf-8", "replace")


# -- stop -------------------------------------------------------------------------------------
def _kill_verified(info: SessionInfo) -> _Recovery:
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
    return _Recovery(
        f"recorder (pid {pid}) did not answer and was killed; live events after its last "
        "flush may be missing",
        killed=True,
    )


def stop_session(root: str, *, control_timeout: float = 60.0, keep: bool = False) -> StopResult:
    """Stop (or recover) the session on ``root`` and return its manifest.

    The session directory is removed unless ``keep``; callers writing outputs pass ``keep=True``
    and call ``discard_session`` once their files are in place, so a failed write can be retried.
    """
    info = find_session(root)
    recovery: list[_Recovery] = []
    lock = FileLock(info.lock_path)
    if not lock.try_acquire():
        try:
            request(info, {"cmd": "stop"}, control_timeout)
        except (OSError, EOFError, TimeoutError, ValueError):
            if lock.acquire(0.5):  # it died just now: nothing to kill
                recovery.append(_Recovery(stale_cause(info)))
            else:
                recovery.append(_kill_verified(info))
        if not lock.held and not lock.acquire(30.0):
            raise TracerEnvironmentError(
                f"recorder of {info.root} still holds {info.lock_path} 30 s after stop"
            )
    else:
        recovery.append(_Recovery(stale_cause(info)))
    try:
        result = _finish(info, recovery)
    finally:
        lock.release()
    if not keep:
        discard_session(info)
    return result


def discard_session(info: SessionInfo) -> None:
    shutil.rmtree(info.session_dir, ignore_errors=True)
    if info.address.startswith("/") and not info.address.startswith(info.session_dir):
        with contextlib.suppress(OSError):
            os.unlink(info.address)


def _finish(info: SessionInfo, recovery: list[_Recovery]) -> StopResult:
    damage: list[str] = []
    if not os.path.exists(info.journal_path):
        raise JournalError(
            f"session journal {info.journal_path} is missing. The recorder of {info.root} died "
            f"before it was ready; remove {info.session_dir} and start again"
        )
    journal: Journal | None = None
    try:
        journal = Journal(info.journal_path)
    except JournalError as exc:
        damage.append(str(exc))
    baseline: Snapshot | None = None
    events: list[FileEvent] = []
    meta_sources: list[Any] = []
    degraded: list[str] = []
    warnings: list[str] = []
    state = "recording"
    usn_cursor = None
    if journal is not None:
        try:
            try:
                baseline = journal.read_baseline()
            except (JournalError, sqlite3.DatabaseError, KeyError, TypeError, ValueError) as exc:
                damage.append(f"baseline unreadable ({exc})")
            try:
                events = list(journal.events(corrupt=damage))
                meta_sources = journal.get_meta("sources", [])
                degraded = list(journal.get_meta("degraded", []))
                warnings = list(journal.get_meta("warnings", []))
                state = journal.get_meta("state", "recording")
                usn_cursor = journal.get_meta("usn_cursor")
            except (sqlite3.DatabaseError, ValueError) as exc:
                damage.append(f"events or state unreadable ({exc})")
        finally:
            journal.close()
    if damage:
        lost = baseline is None
        degraded.append(
            "journal damaged: "
            + "; ".join(damage[:5])
            + (f"; and {len(damage) - 5} more" if len(damage) > 5 else "")
            + (
                "; the baseline is lost, so every file under the root at stop is listed"
                if lost
                else "; outputs come from the two walks and the readable events"
            )
        )
    if baseline is None:
        baseline = Snapshot(root=info.root, files={})
    if state == "stopped":
        # Stopped cleanly before (e.g. an earlier stop whose outputs failed): nothing lost.
        recovery = [r for r in recovery if r.killed]
    elif not recovery:
        recovery = [_Recovery("the recorder did not record a clean stop")]
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
    return StopResult(manifest, info, bool(recovery), journal_damaged=bool(damage))


def scan_tree(path: str, options: SessionOptions = SessionOptions()) -> FileManifest:
    """Package Inspector's ``scan``: every file already under ``path``, no recording."""
    root = normalise_root(path)
    scope = Scope(root, options.excluded_dirs)
    snap = take_snapshot(root, options.excluded_dirs)
    content = {p: content_of_path(p) for p in sorted(snap.files)}
    return scan_manifest(snap, content, scope, options.reduce_options())

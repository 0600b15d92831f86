"""The per-user state directory and the session records kept in it (tracer.md 5.1 and 5.2).

Where sessions live (``$INSPECTOR_STATE_DIR``, else the platform's per-user state folder, mode
0700), what ``session.json`` holds (``SessionInfo`` with the user's ``SessionOptions``), how a
session is found again from its root, and the atomic writes used for every file in it.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH100, PTH101, PTH103, PTH105, PTH108, PTH111, PTH112, PTH113, PTH116, PTH118, PTH120, PTH208

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tracer.errors import JournalError, NoSessionError, TracerEnvironmentError, TracerInputError
from tracer.records import SCHEMA_VERSION
from tracer.reduce import ReduceOptions

_WINDOWS: bool = sys.platform == "win32"

STATE_ENV = "INSPECTOR_STATE_DIR"


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


# -- state directory --------------------------------------------------------------------------
def _check_private(path: str, st: os.stat_result, what: str) -> None:
    me = os.geteuid()
    if not stat.S_ISDIR(st.st_mode):
        raise TracerEnvironmentError(
            f"{what} {path} is not a directory (a link or a file); remove it so it can be "
            f"created afresh, or set {STATE_ENV} to a private directory"
        )
    if st.st_uid != me:
        fix = (
            "stop the session as the user who started it"
            if what == "state directory"
            else f"remove it (rm -r '{path}') or set {STATE_ENV} to a private directory"
        )
        raise TracerEnvironmentError(
            f"{what} {path} belongs to uid {st.st_uid}, not to you (uid {me}); {fix}"
        )
    if st.st_mode & 0o022:
        raise TracerEnvironmentError(
            f"{what} {path} is writable by other users (mode {stat.filemode(st.st_mode)}), so "
            f"they could plant or swap sessions in it; fix it with 'chmod 700 {path}' and check "
            "what it holds"
        )
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def state_root() -> str:
    """Per-user state directory (mode 0700), created on demand; ``$INSPECTOR_STATE_DIR`` wins.

    Like ssh with ``~/.ssh``, a state directory or ``sessions`` folder that someone else owns or
    may write to is refused (another user could plant or swap sessions there); one that others
    may only read is tightened to 0700.
    """
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
    sessions = os.path.join(root, "sessions")
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        if not _WINDOWS:
            _check_private(root, os.stat(root), "state directory")
        os.makedirs(sessions, mode=0o700, exist_ok=True)
        if not _WINDOWS:
            _check_private(sessions, os.lstat(sessions), "sessions folder")
    except OSError as exc:
        raise TracerEnvironmentError(
            f"cannot use state directory {root}: {exc.strerror}; set {STATE_ENV} to a "
            "writable private directory"
        ) from exc
    return root


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


# -- sessions on disk -------------------------------------------------------------------------
def normalise_root(root: str) -> str:
    path = os.path.realpath(os.path.abspath(root))
    if not os.path.isdir(path):
        raise TracerInputError(f"{root} is not a directory; give the folder or drive to record")
    return path


def overlaps(a: str, b: str) -> bool:
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

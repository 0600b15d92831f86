"""NTFS USN change journal: Package Inspector's own mechanism (tracer.md 0.1, 1.2, 1.5, 3.3a).

At ``start`` remember the journal id and ``NextUsn`` of the root's volume (what Package Inspector
stores in ``HKCU\\PackageInspectorRegistryKey\\<drive>``); at ``stop`` read the journal from that
cursor and turn its records into events. The journal is persistent, so this survives a dead
recorder and a reboot. When the journal was deleted/recreated (new id) or has wrapped past the
cursor (cursor < ``LowestValidUsn``) the records are gone: fail loudly, as Package Inspector does
with error 1181, and say how to enlarge the journal.

The OS calls sit behind ``UsnApi``; ``parse_usn_records`` is pure (``USN_RECORD_V2``/``V3`` bytes
as returned by ``FSCTL_READ_USN_JOURNAL``) and ``WindowsUsnApi`` is the thin ctypes edge.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH118

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tracer.errors import SourceUnavailableError, UsnJournalWrappedError
from tracer.records import EventKind, FileEvent
from tracer.sources.base import Scope

USN_REASON_DATA_OVERWRITE = 0x00000001
USN_REASON_DATA_EXTEND = 0x00000002
USN_REASON_DATA_TRUNCATION = 0x00000004
USN_REASON_FILE_CREATE = 0x00000100
USN_REASON_FILE_DELETE = 0x00000200
USN_REASON_RENAME_OLD_NAME = 0x00001000
USN_REASON_RENAME_NEW_NAME = 0x00002000
USN_REASON_CLOSE = 0x80000000
_DATA = USN_REASON_DATA_OVERWRITE | USN_REASON_DATA_EXTEND | USN_REASON_DATA_TRUNCATION
FILE_ATTRIBUTE_DIRECTORY = 0x10
_EPOCH_DELTA_100NS = 116444736000000000  # 1601-01-01 -> 1970-01-01
_WINDOWS: bool = sys.platform == "win32"


@dataclass(frozen=True, slots=True)
class UsnJournalInfo:
    """``USN_JOURNAL_DATA``: the fields wrap detection needs."""

    journal_id: int
    first_usn: int
    next_usn: int
    lowest_valid_usn: int


@dataclass(frozen=True, slots=True)
class UsnRecord:
    """One ``USN_RECORD_V2``/``V3`` (file references widened to int)."""

    usn: int
    file_ref: int
    parent_ref: int
    reason: int
    attributes: int
    name: str
    timestamp_ns: int = 0


@dataclass(frozen=True, slots=True)
class UsnCursor:
    """Where the session starts in a volume's journal (persisted in the session journal)."""

    volume: str
    journal_id: int
    next_usn: int

    def to_dict(self) -> dict[str, Any]:
        return {"volume": self.volume, "journal_id": self.journal_id, "next_usn": self.next_usn}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UsnCursor:
        return cls(str(d["volume"]), int(d["journal_id"]), int(d["next_usn"]))


class UsnApi(Protocol):
    """The three OS operations the USN source needs (faked in tests)."""

    def query(self, volume: str) -> UsnJournalInfo: ...

    def read(self, volume: str, journal_id: int, start_usn: int) -> Iterator[UsnRecord]: ...

    def directory_path(self, volume: str, file_ref: int) -> str | None: ...


_V2 = struct.Struct("<IHHQQqqIIIIHH")  # through FileNameOffset (60 bytes)
_V3_HEAD = struct.Struct("<IHH16s16sqqIIIIHH")  # 128-bit file ids (76 bytes)


def parse_usn_records(buf: bytes) -> list[UsnRecord]:
    """Split an ``FSCTL_READ_USN_JOURNAL`` output buffer *after* its leading 8-byte next-USN."""
    out: list[UsnRecord] = []
    off = 0
    while off + 8 <= len(buf):
        length, major, _minor = struct.unpack_from("<IHH", buf, off)
        if length == 0 or off + length > len(buf):
            raise ValueError(f"USN record at offset {off} has bad length {length}")
        if major == 2:
            (_l, _ma, _mi, fref, pref, usn, ts, reason, _src, _sec, attrs, nlen, noff) = (
                _V2.unpack_from(buf, off)
            )
        elif major == 3:
            (_l, _ma, _mi, f16, p16, usn, ts, reason, _src, _sec, attrs, nlen, noff) = (
                _V3_HEAD.unpack_from(buf, off)
            )
            fref = int.from_bytes(f16, "little")
            pref = int.from_bytes(p16, "little")
        else:
            raise ValueError(f"USN record at offset {off} has unsupported version {major}")
        name = buf[off + noff : off + noff + nlen].decode("utf-16-le", "surrogatepass")
        ts_ns = max(0, (ts - _EPOCH_DELTA_100NS) * 100)
        out.append(UsnRecord(usn, fref, pref, reason, attrs, name, ts_ns))
        off += length
    return out


def take_cursor(api: UsnApi, volume: str) -> UsnCursor:
    info = api.query(volume)
    return UsnCursor(volume, info.journal_id, info.next_usn)


def check_cursor(api: UsnApi, cursor: UsnCursor) -> UsnJournalInfo:
    """Raise ``UsnJournalWrappedError`` if the journal no longer covers the session."""
    info = api.query(cursor.volume)
    fix = (
        f"enlarge it (e.g. 'fsutil usn createjournal m=0x8000000 a=0x2000000 {cursor.volume}', "
        "4x the default) and record the install again"
    )
    if info.journal_id != cursor.journal_id:
        raise UsnJournalWrappedError(
            f"the USN change journal of {cursor.volume} was deleted or recreated since start "
            f"(id {cursor.journal_id:#x} -> {info.journal_id:#x}); changes cannot be read back "
            f"(Package Inspector fails here with error 1181); {fix}"
        )
    if cursor.next_usn < info.lowest_valid_usn:
        raise UsnJournalWrappedError(
            f"the USN change journal of {cursor.volume} wrapped: the session starts at USN "
            f"{cursor.next_usn} but the oldest record kept is {info.lowest_valid_usn} "
            f"(Package Inspector's error 1181); {fix}"
        )
    return info


def usn_events(
    api: UsnApi, cursor: UsnCursor, scope: Scope, records: Iterable[UsnRecord] | None = None
) -> list[FileEvent]:
    """Events for files under the root from the cursor on (after ``check_cursor``)."""
    if records is None:
        check_cursor(api, cursor)
        records = api.read(cursor.volume, cursor.journal_id, cursor.next_usn)
    dirs: dict[int, str | None] = {}
    old_names: dict[int, str] = {}
    out: list[FileEvent] = []

    def path_of(rec: UsnRecord) -> str | None:
        if rec.parent_ref not in dirs:
            dirs[rec.parent_ref] = api.directory_path(cursor.volume, rec.parent_ref)
        parent = dirs[rec.parent_ref]
        return None if parent is None else os.path.join(parent, rec.name)

    for rec in records:
        if rec.attributes & FILE_ATTRIBUTE_DIRECTORY:
            # A renamed directory changes its children's paths: forget cached lookups.
            if rec.reason & (USN_REASON_RENAME_NEW_NAME | USN_REASON_FILE_DELETE):
                dirs.clear()
            continue
        path = path_of(rec)
        if path is None:
            continue
        r = rec.reason
        t = rec.timestamp_ns

        def emit(kind: EventKind, p: str, dest: str | None = None, t: int = t) -> None:
            if scope.contains(p) or (dest is not None and scope.contains(dest)):
                out.append(FileEvent(kind, p, "usn", t, dest=dest))

        if r & USN_REASON_RENAME_OLD_NAME:
            old_names[rec.file_ref] = path
            continue
        if r & USN_REASON_RENAME_NEW_NAME:
            old = old_names.pop(rec.file_ref, None)
            if old is not None and old != path:
                emit(EventKind.MOVED, old, path)
            elif old is None:
                emit(EventKind.CREATED, path)
        if not r & USN_REASON_CLOSE:
            continue  # every change is summarised again by the file's close record
        if r & USN_REASON_FILE_CREATE:
            emit(EventKind.CREATED, path)
        if r & _DATA:
            emit(EventKind.WRITTEN, path)
        if r & USN_REASON_FILE_DELETE:
            emit(EventKind.DELETED, path)
    return out


class WindowsUsnApi:
    """``DeviceIoControl`` on ``\\\\.\\C:`` (administrator). Windows only; not exercised in CI."""

    FSCTL_QUERY_USN_JOURNAL = 0x000900F4
    FSCTL_READ_USN_JOURNAL = 0x000900BB

    def __init__(self) -> None:
        if not _WINDOWS:
            raise SourceUnavailableError("the USN change journal exists only on Windows NTFS")
        import ctypes
        from ctypes import wintypes

        self._ct = ctypes
        self._k32: Any = getattr(ctypes, "WinDLL")("kernel32", use_last_error=True)  # noqa: B009
        self._k32.CreateFileW.restype = wintypes.HANDLE
        self._handles: dict[str, Any] = {}

    def _volume(self, volume: str) -> Any:
        h = self._handles.get(volume)
        if h is None:
            h = self._k32.CreateFileW(
                f"\\\\.\\{volume.rstrip(chr(92))}", 0x80000000, 3, None, 3, 0, None
            )
            if h in (None, -1, 0xFFFFFFFFFFFFFFFF):
                err = getattr(self._ct, "get_last_error")()  # noqa: B009
                raise SourceUnavailableError(
                    f"cannot open volume {volume} (error {err}); run as administrator"
                )
            self._handles[volume] = h
        return h

    def _ioctl(self, volume: str, code: int, inbuf: bytes, size: int) -> bytes:
        ct = self._ct
        out = ct.create_string_buffer(size)
        got = ct.c_ulong(0)
        inb = ct.create_string_buffer(inbuf, len(inbuf)) if inbuf else None
        ok = self._k32.DeviceIoControl(
            self._volume(volume), code, inb, len(inbuf), out, size, ct.byref(got), None
        )
        if not ok:
            err = getattr(ct, "get_last_error")()  # noqa: B009
            raise SourceUnavailableError(f"DeviceIoControl({code:#x}) on {volume}: error {err}")
        return bytes(out.raw[: got.value])

    def query(self, volume: str) -> UsnJournalInfo:
        raw = self._ioctl(volume, self.FSCTL_QUERY_USN_JOURNAL, b"", 80)
        jid, first, nxt, lowest = struct.unpack_from("<QqqQ", raw, 0)
        return UsnJournalInfo(jid, first, nxt, lowest)

    def read(self, volume: str, journal_id: int, start_usn: int) -> Iterator[UsnRecord]:
        usn = start_usn
        end = self.query(volume).next_usn
        while usn < end:
            # READ_USN_JOURNAL_DATA_V0: StartUsn, ReasonMask, ReturnOnlyOnClose, Timeout,
            # BytesToWaitFor, UsnJournalID.
            req = struct.pack("<qIIQQQ", usn, 0xFFFFFFFF, 0, 0, 0, journal_id)
            raw = self._ioctl(volume, self.FSCTL_READ_USN_JOURNAL, req, 1 << 16)
            (next_usn,) = struct.unpack_from("<q", raw, 0)
            yield from parse_usn_records(raw[8:])
            if next_usn <= usn:
                return
            usn = next_usn

    def directory_path(self, volume: str, file_ref: int) -> str | None:
        ct = self._ct
        # FILE_ID_DESCRIPTOR { DWORD dwSize; FILE_ID_TYPE Type = FileIdType; LARGE_INTEGER FileId }
        desc = struct.pack("<IIq", 24, 0, file_ref & 0xFFFFFFFFFFFFFFFF)
        desc += b"\0" * 8
        h = self._k32.OpenFileById(
            self._volume(volume), ct.create_string_buffer(desc, len(desc)), 0, 7, None, 0x02000000
        )
        if h in (None, -1, 0xFFFFFFFFFFFFFFFF):
            return None
        try:
            buf = ct.create_unicode_buffer(32768)
            n = self._k32.GetFinalPathNameByHandleW(h, buf, 32768, 0)
            if not n:
                return None
            path = str(buf.value)
            return path[4:] if path.startswith("\\\\?\\") else path
        finally:
            self._k32.CloseHandle(h)

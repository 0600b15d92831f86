"""The byte layout of a binary policy: primitives, header constants and value encodings.

sipolicy.md section 3.1 (DWORD/QWORD, BLOB, STRING with its extra zero DWORD, LIST, GUID in
``bytes_le`` layout, VERSION packing) and 3.2 (header constants). ``Writer`` appends records,
``Reader`` takes them back with bounds checks that name the offset; neither knows the block order,
which ``encode``/``decode`` walk.
"""

from __future__ import annotations

import datetime as _dt
import re
import struct
from collections.abc import Sequence

from policy.errors import PolicyInputError
from policy.model import FileRuleKind
from policy.validate import parse_guid, parse_version

SUPPORTED_FORMATS = (7, 8)
DEFAULT_FORMAT = 8
HEADER_SIZE = 0x40
MAX_BINARY_BYTES = 32 * 1024 * 1024
"""Largest binary policy read: Microsoft's 1869-rule block list compiles to 240 KB."""
DEFAULT_MIN_HASH = 0x800C  # CALG_SHA_256
NO_VERSION = 0xFFFFFFFFFFFFFFFF
KIND_CODE = {FileRuleKind.DENY: 0, FileRuleKind.ALLOW: 1, FileRuleKind.FILE_ATTRIB: 2}
FILETIME_EPOCH = _dt.datetime(1601, 1, 1, tzinfo=_dt.UTC)


class Writer:
    """Appends the section 3.1 primitives to a buffer."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def u32(self, value: int) -> None:
        self.buf += struct.pack("<I", value)

    def u64(self, value: int) -> None:
        self.buf += struct.pack("<Q", value)

    def raw(self, data: bytes) -> None:
        self.buf += data

    def blob(self, data: bytes) -> None:
        self.u32(len(data))
        self.buf += data
        self.buf += b"\0" * (-len(data) % 4)

    def string(self, text: str | None) -> None:
        # Strings carry one more zero DWORD after the padded text (section 3.1, trap 1).
        if text is None or not text.strip():
            self.buf += b"\0" * 8
            return
        self.blob(text.encode("utf-16-le"))
        self.u32(0)

    def indices(self, values: Sequence[int]) -> None:
        self.u32(len(values))
        for v in values:
            self.u32(v)


class Reader:
    """Takes the section 3.1 primitives back; every failure names the source and the offset."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, message: str) -> PolicyInputError:
        return PolicyInputError(f"{self.source}: offset 0x{self.pos:X}: {message}")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated: need {n} bytes, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u32(self) -> int:
        value: int = struct.unpack("<I", self.take(4))[0]
        return value

    def u64(self) -> int:
        value: int = struct.unpack("<Q", self.take(8))[0]
        return value

    def count(self, what: str, unit: int = 4) -> int:
        n = self.u32()
        if n * unit > len(self.data) - self.pos:
            raise self.fail(f"{what} count {n} exceeds the file")
        return n

    def blob(self) -> bytes:
        n = self.count("blob", 1)
        data = self.take(n)
        self.take(-n % 4)
        return data

    def string(self) -> str | None:
        raw = self.blob()
        if self.u32() != 0:
            raise self.fail("string is not followed by its zero DWORD")
        if not raw:
            return None
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise self.fail("string is not UTF-16") from None

    def indices(self, limit: int, what: str) -> list[int]:
        values = [self.u32() for _ in range(self.count(what))]
        for v in values:
            if v >= limit:
                raise self.fail(f"{what} index {v} out of range (only {limit})")
        return values

    def block(self, number: int) -> None:
        found = self.u32()
        if found != number:
            raise self.fail(f"expected block marker {number}, found {found}")


def guid_bytes(text: str | None) -> bytes:
    return parse_guid(text).bytes_le if text else b"\0" * 16


def version_number(text: str | None) -> int:
    return 0 if text is None else parse_version(text)


def version_text(value: int) -> str:
    return ".".join(str((value >> s) & 0xFFFF) for s in (48, 32, 16, 0))


def filetime(text: str) -> int:
    """An xs:dateTime as a Windows FILETIME (section 3.3 item 8, SignTimeAfter)."""
    match = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?",
        text.strip(),
    )
    if not match:
        raise PolicyInputError(f"SignTimeAfter {text!r} is not an xs:dateTime")
    y, mo, d, h, mi, s, frac, tz = match.groups()
    # A time without offset is taken as UTC: Microsoft's converter would use the converting
    # machine's local time (open question 3), which a reproducible build cannot depend on.
    tzinfo = _dt.UTC
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        tzinfo = _dt.timezone(sign * _dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    moment = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tzinfo)
    delta = moment - FILETIME_EPOCH
    ticks = (delta.days * 86400 + delta.seconds) * 10_000_000
    return ticks + int((frac or "0").ljust(7, "0"))


def filetime_text(value: int) -> str:
    seconds, ticks = divmod(value, 10_000_000)
    moment = FILETIME_EPOCH + _dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ticks:07d}" if ticks else "") + "Z"

"""Write real EVTX logs (MS-EVEN6 binary XML) for tests: the events a device would have logged.

A test input builder, not product code: it writes what Windows writes - a 4 KiB file header, 64
KiB chunks with CRC32 checksums, records holding a fragment header and a template instance whose
template definition (an ``<Event>`` with ``System`` and ``EventData``, every value a string
substitution) sits inline the first time a chunk uses it and is referenced by offset after that.
Both independent parsers (pyevtx-rs ``evtx`` and ``python-evtx``) read these files, which is
what makes them a fair input for the readers and the benchmark.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
CODE_INTEGRITY = "Microsoft-Windows-CodeIntegrity"
CI_CHANNEL = "Microsoft-Windows-CodeIntegrity/Operational"
CHUNK_SIZE = 0x10000
_EPOCH_DELTA = 116444736000000000


@dataclass(frozen=True, slots=True)
class LogEvent:
    event_id: int
    data: tuple[tuple[str, str], ...]
    activity_id: str | None = None
    time: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    provider: str = CODE_INTEGRITY
    channel: str = CI_CHANNEL
    computer: str = "DESKTOP-TEST"


def _filetime(when: datetime) -> int:
    return int(when.timestamp() * 10_000_000) + _EPOCH_DELTA


class _ChunkWriter:
    """Serialises BinXML into one chunk, tracking names and templates already written in it."""

    def __init__(self) -> None:
        self.data = bytearray(512)
        self.names: dict[str, int] = {}
        self.templates: dict[tuple[object, ...], tuple[int, int]] = {}

    def pos(self) -> int:
        return len(self.data)

    def name(self, buf: bytearray, base: int, text: str) -> None:
        known = self.names.get(text)
        here = base + len(buf) + 4
        if known is not None:
            buf += struct.pack("<I", known)
            return
        buf += struct.pack("<I", here)
        h = 0
        for unit in struct.unpack(f"<{len(text)}H", text.encode("utf-16-le")):
            h = (h * 65599 + unit) & 0xFFFFFFFF
        buf += struct.pack("<IHH", 0, h & 0xFFFF, len(text))
        buf += text.encode("utf-16-le") + b"\x00\x00"
        self.names[text] = here


def _text(value: str) -> bytes:
    return b"\x05\x01" + struct.pack("<H", len(value)) + value.encode("utf-16-le")


def _subst(index: int) -> bytes:
    return b"\x0d" + struct.pack("<HB", index, 0x01)


# An element spec: (name, attributes[(name, ("lit", text) | ("sub", index))], children | content)
Content = list["Elem"] | tuple[str, object] | None


@dataclass
class Elem:
    name: str
    attrs: list[tuple[str, tuple[str, object]]] = field(default_factory=list)
    content: Content = None


def _element(w: _ChunkWriter, buf: bytearray, base: int, e: Elem) -> None:
    buf += b"\x41" if e.attrs else b"\x01"
    buf += struct.pack("<H", 0xFFFF)
    size_at = len(buf)
    buf += b"\x00\x00\x00\x00"
    w.name(buf, base, e.name)
    attr_size_at = len(buf)
    if e.attrs:
        buf += b"\x00\x00\x00\x00"
        attr_start = len(buf)
        for i, (an, (kind, val)) in enumerate(e.attrs):
            buf += b"\x46" if i < len(e.attrs) - 1 else b"\x06"
            w.name(buf, base, an)
            buf += _text(str(val)) if kind == "lit" else _subst(int(str(val)))
        struct.pack_into("<I", buf, attr_size_at, len(buf) - attr_start)
    if e.content is None:
        buf += b"\x03"
    else:
        buf += b"\x02"
        if isinstance(e.content, tuple):
            kind, val = e.content
            buf += _text(str(val)) if kind == "lit" else _subst(int(str(val)))
        else:
            for child in e.content:
                _element(w, buf, base, child)
        buf += b"\x04"
    struct.pack_into("<I", buf, size_at, len(buf) - size_at - 4)


def _template(names: Sequence[str]) -> Elem:
    system = Elem(
        "System",
        content=[
            Elem("Provider", [("Name", ("sub", 0))]),
            Elem("EventID", content=("sub", 1)),
            Elem("TimeCreated", [("SystemTime", ("sub", 2))]),
            Elem("EventRecordID", content=("sub", 3)),
            Elem("Correlation", [("ActivityID", ("sub", 4))]),
            Elem("Channel", content=("sub", 5)),
            Elem("Computer", content=("sub", 6)),
        ],
    )
    data = Elem(
        "EventData",
        content=[Elem("Data", [("Name", ("lit", n))], ("sub", 7 + i)) for i, n in enumerate(names)],
    )
    return Elem("Event", [("xmlns", ("lit", NS))], [system, data])


def _record(w: _ChunkWriter, record_id: int, ev: LogEvent) -> bytes:
    base = w.pos() + 24  # BinXML starts after the 24-byte record header
    buf = bytearray(b"\x0f\x01\x01\x00")
    names = tuple(n for n, _ in ev.data)
    key = (names,)
    buf += b"\x0c\x01"
    known = w.templates.get(key)
    if known is None:
        template_id = len(w.templates) + 1
        def_at = base + len(buf) + 8
        buf += struct.pack("<II", template_id, def_at)
        header_at = len(buf)
        buf += struct.pack("<I", 0) + uuid.uuid5(uuid.NAMESPACE_OID, repr(key)).bytes_le
        buf += b"\x00\x00\x00\x00"
        body_start = len(buf)
        buf += b"\x0f\x01\x01\x00"
        _element(w, buf, base, _template(names))
        buf += b"\x00"
        struct.pack_into("<I", buf, header_at + 20, len(buf) - body_start)
        w.templates[key] = (template_id, def_at)
    else:
        buf += struct.pack("<II", *known)
    time = ev.time.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    values = [
        ev.provider,
        str(ev.event_id),
        time,
        str(record_id),
        "{" + ev.activity_id.strip("{}") + "}" if ev.activity_id else "",
        ev.channel,
        ev.computer,
        *(v for _, v in ev.data),
    ]
    encoded = [v.encode("utf-16-le") for v in values]
    buf += struct.pack("<I", len(encoded))
    for e in encoded:
        buf += struct.pack("<HBB", len(e), 0x01 if e else 0x00, 0)
    for e in encoded:
        buf += e
    size = 24 + len(buf) + 4
    return (
        b"\x2a\x2a\x00\x00"
        + struct.pack("<IQQ", size, record_id, _filetime(ev.time))
        + bytes(buf)
        + struct.pack("<I", size)
    )


def write_evtx(events: Sequence[LogEvent], *, dirty: bool = False) -> bytes:
    """A complete EVTX file holding ``events`` in order (record ids from 1)."""
    chunks: list[bytes] = []
    w = _ChunkWriter()
    first_id = 1
    last_offset = 0
    record_id = 0

    def close() -> None:
        nonlocal w, first_id
        if w.pos() == 512:
            return
        data = bytearray(w.data)
        free = len(data)
        data += bytes(CHUNK_SIZE - len(data))
        header = struct.pack(
            "<8sQQQQIIII",
            b"ElfChnk\x00",
            first_id,
            record_id,
            first_id,
            record_id,
            128,
            last_offset,
            free,
            zlib.crc32(bytes(data[512:free])),
        )
        data[: len(header)] = header
        crc = zlib.crc32(bytes(data[:120]) + bytes(data[128:512]))
        struct.pack_into("<I", data, 124, crc)
        chunks.append(bytes(data))
        w = _ChunkWriter()
        first_id = record_id + 1

    for ev in events:
        rid = record_id + 1
        rec = _record(w, rid, ev)
        if w.pos() + len(rec) > CHUNK_SIZE:
            close()
            rec = _record(w, rid, ev)
        last_offset = w.pos()
        w.data += rec
        record_id = rid
    close()
    header = bytearray(4096)
    struct.pack_into(
        "<8sQQQIHHHH",
        header,
        0,
        b"ElfFile\x00",
        0,
        max(len(chunks) - 1, 0),
        record_id + 1,
        128,
        1,
        3,
        4096,
        len(chunks),
    )
    struct.pack_into("<I", header, 120, 1 if dirty else 0)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header) + b"".join(chunks)


def audit_event(
    event_id: int,
    path: str,
    *,
    sha1: bytes,
    sha256: bytes,
    flat_sha1: bytes | None = None,
    flat_sha256: bytes | None = None,
    original_file_name: str = "",
    file_version: str = "",
    product_name: str = "",
    scenario: int = 1,
    policy_guid: str = "{A244370E-44C9-4C06-B551-F6016E563076}",
    activity_id: str | None = None,
) -> LogEvent:
    """A 3076/3077 (version 5 template, Windows 11) as Code Integrity logs it."""
    data = (
        ("FileNameLength", str(len(path))),
        ("File Name", path),
        ("ProcessNameLength", "40"),
        ("Process Name", "\\Device\\HarddiskVolume3\\Windows\\explorer.exe"),
        ("Requested Signing Level", "2"),
        ("Validated Signing Level", "1"),
        ("Status", "0xc0e90002"),
        ("SHA1 Hash Size", "20"),
        ("SHA1 Hash", sha1.hex().upper()),
        ("SHA256 Hash Size", "32"),
        ("SHA256 Hash", sha256.hex().upper()),
        ("SHA1 Flat Hash Size", "20"),
        ("SHA1 Flat Hash", (flat_sha1 or bytes(20)).hex().upper()),
        ("SHA256 Flat Hash Size", "32"),
        ("SHA256 Flat Hash", (flat_sha256 or bytes(32)).hex().upper()),
        ("USN", "33757488"),
        ("SI Signing Scenario", str(scenario)),
        ("PolicyName", "Audit base"),
        ("PolicyID", "AuditBase"),
        ("OriginalFileName", original_file_name),
        ("FileVersion", file_version),
        ("ProductName", product_name),
        ("PolicyGUID", policy_guid),
        ("UserWriteable", "false"),
    )
    return LogEvent(event_id, data, activity_id)


def signature_event(
    activity_id: str,
    *,
    total: int,
    index: int = 0,
    publisher: str = "",
    issuer: str = "",
    publisher_tbs: bytes = b"",
    issuer_tbs: bytes = b"",
) -> LogEvent:
    """A 3089 (version 2): one signature of the file of the event with the same ActivityID."""
    data = (
        ("TotalSignatureCount", str(total)),
        ("Signature", str(index)),
        ("CacheState", "22"),
        ("Hash Size", "20"),
        ("PageHash", "false"),
        ("SignatureType", "1"),
        ("ValidatedSigningLevel", "4"),
        ("VerificationError", "26"),
        ("PublisherName", publisher),
        ("IssuerName", issuer),
        ("PublisherTBSHashSize", str(len(publisher_tbs))),
        ("PublisherTBSHash", publisher_tbs.hex().upper()),
        ("IssuerTBSHashSize", str(len(issuer_tbs))),
        ("IssuerTBSHash", issuer_tbs.hex().upper()),
    )
    return LogEvent(3089, data, activity_id)

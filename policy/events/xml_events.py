"""Windows event XML -> ``RawEvent``: exports (``wevtutil qe … /f:xml``, ``Get-WinEvent |
ForEach-Object ToXml()``).

An export is a run of ``<Event>`` elements, with or without an ``<Events>`` root; both are read
as a stream (``XMLPullParser``), each event cleared once read, so memory does not grow with the
file. Untrusted input: a DOCTYPE (entity expansion) is refused, nesting deeper than
``MAX_DEPTH`` is refused, and one malformed event ends the file with a problem naming the line,
keeping every event read before it.
"""

from __future__ import annotations

import codecs
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from policy.events.records import RawEvent

MAX_DEPTH = 32
_CHUNK = 1 << 16
_DECL = re.compile(rb"<\?xml[^>]*\?>")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def raw_event(elem: ET.Element, source: str) -> RawEvent | None:
    """One ``<Event>`` element as a ``RawEvent`` (None when it has no numeric EventID)."""
    system = None
    for child in elem:
        if _local(child.tag) == "System":
            system = child
            break
    if system is None:
        return None
    fields: dict[str, ET.Element] = {_local(c.tag): c for c in system}
    id_elem = fields.get("EventID")
    try:
        event_id = int((id_elem.text or "").strip()) if id_elem is not None else -1
    except ValueError:
        return None
    if event_id < 0:
        return None
    provider = fields.get("Provider")
    created = fields.get("TimeCreated")
    computer = fields.get("Computer")
    correlation = fields.get("Correlation")
    record = fields.get("EventRecordID")
    data: list[tuple[str, str]] = []
    for section in elem:
        name = _local(section.tag)
        if name == "EventData":
            for item in section:
                key = item.get("Name") or _local(item.tag)
                data.append((key, (item.text or "").strip()))
        elif name == "UserData":
            # AppLocker and others wrap their fields in one provider-specific element.
            for wrapper in section:
                for item in wrapper:
                    data.append((_local(item.tag), (item.text or "").strip()))
    where = source
    if record is not None and (record.text or "").strip():
        where = f"{source}#record {(record.text or '').strip()}"
    return RawEvent(
        source=where,
        event_id=event_id,
        provider=provider.get("Name") if provider is not None else None,
        time=created.get("SystemTime") if created is not None else None,
        device=(computer.text or "").strip() or None if computer is not None else None,
        activity_id=correlation.get("ActivityID") if correlation is not None else None,
        data=tuple(data),
    )


def _utf8_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The export as UTF-8 pieces, whatever its encoding (UTF-8 with or without BOM, UTF-16)."""
    first = stream.read(_CHUNK)
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        decoder = codecs.getincrementaldecoder("utf-16")()
        chunk = first
        while chunk:
            yield decoder.decode(chunk).encode("utf-8")
            chunk = stream.read(_CHUNK)
        yield decoder.decode(b"", final=True).encode("utf-8")
        return
    chunk = first.removeprefix(b"\xef\xbb\xbf")
    while chunk:
        yield chunk
        chunk = stream.read(_CHUNK)


def read_xml_export(
    stream: BinaryIO, source: str, problem: Callable[[str, str], None]
) -> Iterator[RawEvent]:
    """Every ``<Event>`` in an export, in file order."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    parser.feed(b"<InspectorEvents>")
    stack: list[ET.Element] = []
    first = True
    tail = b""
    chunks: Iterator[bytes | None] = itertools.chain(_utf8_chunks(stream), [None])
    for chunk in chunks:
        if chunk is None:
            data = b"</InspectorEvents>"
        else:
            data = _DECL.sub(b"", chunk, count=1) if first else chunk
            first = False
            window = (tail + data).upper()
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                problem(source, "a DOCTYPE is not allowed in an event export (entity expansion)")
                return
            tail = data[-16:]
        try:
            parser.feed(data)
            for pair in parser.read_events():
                kind, elem = cast(tuple[str, ET.Element], pair)
                if kind == "start":
                    stack.append(elem)
                    if len(stack) > MAX_DEPTH:
                        problem(source, f"elements nested deeper than {MAX_DEPTH}: not read on")
                        return
                    continue
                stack.pop()
                if _local(elem.tag) == "Event" and len(stack) in (1, 2):
                    event = raw_event(elem, source)
                    if event is None:
                        problem(source, "an <Event> without a numeric EventID: ignored")
                    else:
                        yield event
                    stack[-1].remove(elem)  # read once: keep memory flat
        except ET.ParseError as exc:
            line = exc.position[0]
            problem(
                source,
                f"malformed XML near line {line} (a truncated or edited export?): the events "
                "after it were not read",
            )
            return

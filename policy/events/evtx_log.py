"""EVTX files -> ``RawEvent``: the only user of the ``evtx`` package (pyevtx-rs, Rust).

Why ``evtx`` and not ``python-evtx``: on the same generated CodeIntegrity log it renders records
thousands of times faster (``python -m bench.events_bench`` measures both in one run; README has
the figures), it is maintained, and it recovers from damaged chunks instead of stopping: a log
copied while Windows was writing it has a dirty header and a torn last chunk. Records are taken as
JSON (``records_json``: one ``json.loads`` per record, several times cheaper than rendering and
re-parsing XML) and mapped to the same ``RawEvent`` the XML exports give.

Damage is reported, never fatal: recoverable errors (bad checksums, torn records) arrive as
warnings from the parser and become problems; an unrecoverable one ends the file with a problem
that says how many records were read.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import evtx

from policy.events.records import RawEvent

MAGIC = b"ElfFile\x00"
HEADER_BLOCK = 4096
CHUNK_SIZE = 0x10000


def check_header(head: bytes, size: int, source: str, problem: Callable[[str, str], None]) -> None:
    """Report what the file header says about damage: a dirty flag, chunks missing at the end."""
    if len(head) < 128 or not head.startswith(MAGIC):
        return
    (chunk_count,) = struct.unpack_from("<H", head, 42)
    (flags,) = struct.unpack_from("<I", head, 120)
    if flags & 0x1:
        problem(source, "the log is marked dirty (copied while Windows was writing it)")
    whole = (size - HEADER_BLOCK) // CHUNK_SIZE
    if size < HEADER_BLOCK + chunk_count * CHUNK_SIZE:
        torn = " and a torn chunk" if (size - HEADER_BLOCK) % CHUNK_SIZE else ""
        problem(
            source,
            f"the log is truncated: {max(whole, 0)} of {chunk_count} chunks complete{torn}; "
            "the records in the missing part are lost",
        )


def read_evtx(path: str, source: str, problem: Callable[[str, str], None]) -> Iterator[RawEvent]:
    """Every readable record of an EVTX file, in file order."""
    try:
        with open(path, "rb") as f:
            check_header(f.read(128), os.fstat(f.fileno()).st_size, source, problem)
    except OSError as exc:
        problem(source, f"cannot read the header: {exc}")
    try:
        parser = evtx.PyEvtxParser(path, number_of_threads=1, skip_errors=True)
    except (OSError, RuntimeError) as exc:
        problem(source, f"not a readable EVTX log ({exc}); nothing read from it")
        return
    records = iter(parser.records_json())
    read = 0
    while True:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                record = next(records)
            except StopIteration:
                record = None
            except RuntimeError as exc:
                problem(source, f"the log is damaged after record {read} ({exc}); rest not read")
                record = None
        for w in caught:
            problem(source, f"damaged record skipped: {_first_line(str(w.message))}")
        if record is None:
            return
        read += 1
        record_id = record.get("event_record_id")
        where = f"{source}#record {record_id}"
        text = record.get("data")
        if not isinstance(text, str):
            problem(where, "a record without data: ignored")
            continue
        try:
            event = raw_from_json(json.loads(text), source)
        except ValueError as exc:
            problem(where, f"a record's data does not parse ({exc}): ignored")
            continue
        if event is None:
            problem(where, "a record without a numeric EventID: ignored")
            continue
        yield event


def _text(value: Any) -> str | None:
    """A JSON-rendered value as text (typed substitutions arrive as numbers, ``#text`` wraps
    values that also carry attributes)."""
    if isinstance(value, dict):
        value = value.get("#text")
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _attr(node: Any, name: str) -> str | None:
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict):
            return _text(attrs.get(name))
    return None


def raw_from_json(doc: Any, source: str) -> RawEvent | None:
    """One record as pyevtx-rs renders it to JSON (``{"Event": {"System": …, "EventData": …}}``)."""
    event = doc.get("Event") if isinstance(doc, dict) else None
    system = event.get("System") if isinstance(event, dict) else None
    if not isinstance(event, dict) or not isinstance(system, dict):
        return None
    try:
        event_id = int(_text(system.get("EventID")) or "")
    except ValueError:
        return None
    data: list[tuple[str, str]] = []
    for section in ("EventData", "UserData"):
        body = event.get(section)
        if not isinstance(body, dict):
            continue
        if section == "UserData" and len(body) == 1:
            (inner,) = body.values()  # AppLocker wraps its fields in one element
            body = inner if isinstance(inner, dict) else body
        for key, value in body.items():
            if key.startswith("#"):
                continue
            text = _text(value)
            data.append((key, "" if text is None else text))
    record_id = _text(system.get("EventRecordID"))
    computer = _text(system.get("Computer"))
    return RawEvent(
        source=f"{source}#record {record_id}" if record_id else source,
        event_id=event_id,
        provider=_attr(system.get("Provider"), "Name"),
        time=_attr(system.get("TimeCreated"), "SystemTime"),
        device=computer or None,
        activity_id=_attr(system.get("Correlation"), "ActivityID"),
        data=tuple(data),
    )


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line[:200]

"""EVTX files -> ``RawEvent``: the only user of the ``evtx`` package (pyevtx-rs, Rust).

Why ``evtx`` and not ``python-evtx``: on the same generated 20,000-record CodeIntegrity log it
renders records about 30x faster (``python -m bench.events_bench`` measures both), it is
maintained, and it recovers from damaged chunks instead of stopping: a log copied while Windows
was writing it has a dirty header and a torn last chunk. Each record is rendered as XML and read
by the same code as XML exports (``xml_events``), so the two inputs cannot drift apart.

Damage is reported, never fatal: recoverable errors (bad checksums, torn records) arrive as
warnings from the parser and become problems; an unrecoverable one ends the file with a problem
that says how many records were read.
"""

from __future__ import annotations

import os
import struct
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

import evtx

from policy.events.records import RawEvent
from policy.events.xml_events import parse_record_xml

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
    records = iter(parser.records())
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
            problem(where, "a record without XML data: ignored")
            continue
        try:
            event = parse_record_xml(text, source)
        except ET.ParseError as exc:
            problem(where, f"a record's XML does not parse ({exc}): ignored")
            continue
        if event is None:
            problem(where, "a record without a numeric EventID: ignored")
            continue
        yield event


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line[:200]

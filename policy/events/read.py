"""Read event inputs of any supported kind into one ``EventSet`` (format detected per file).

Formats, by their first bytes: ``ElfFile\\0`` is an EVTX log (``evtx_log``); ``<`` (after a BOM
and white space) an XML export (``xml_events``); anything else a CSV or JSON export
(``tables``). Only regular files are read (a FIFO or device is refused without blocking); an
input that cannot be opened is reported and the others are still read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from policy.events.evtx_log import MAGIC, read_evtx
from policy.events.normalize import CORRELATION_WINDOW, Collector
from policy.events.records import EventSet
from policy.events.tables import read_table
from policy.events.xml_events import read_xml_export

FORMATS = ("evtx", "xml", "table")


def detect(head: bytes) -> str:
    """``evtx``, ``xml`` or ``table`` from a file's first bytes."""
    if head.startswith(MAGIC):
        return "evtx"
    text = head
    if text.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore").encode("utf-8")
    text = text.removeprefix(b"\xef\xbb\xbf").lstrip()
    return "xml" if text.startswith(b"<") else "table"


def read_events(paths: Iterable[str], *, window: int = CORRELATION_WINDOW) -> EventSet:
    """Every event in ``paths``, normalised, correlated and de-duplicated."""
    collector = Collector(window)
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            collector.failed(path, f"cannot open it: {exc.strerror or exc}")
            continue
        with os.fdopen(fd, "rb") as stream:
            mode = os.fstat(stream.fileno()).st_mode
            if not stat.S_ISREG(mode):
                collector.failed(path, "not a regular file (a FIFO, device or folder)")
                continue
            os.set_blocking(fd, True)
            fmt = detect(stream.read(64))
            stream.seek(0)
            collector.source(path, fmt)
            if fmt == "evtx":
                collector.add_all(read_evtx(path, path, collector.problem))
            elif fmt == "xml":
                collector.add_all(read_xml_export(stream, path, collector.problem))
            else:
                collector.add_all(read_table(stream, path, collector.problem))
    return collector.finish()

"""Every digest of a file in one pass over its bytes (formats.md 1.2, 2.2, 3).

A ``DigestSession`` is fed the file's bytes as contiguous chunks in file order and computes, for
each requested algorithm, the flat hash, the Authenticode image hash (with the 8-byte zero padding
of unsigned files) and the page-hash table (4096-byte pages, header page first, terminator last),
and can keep a copy of the certificate table. Each chunk is handed to every digest that covers it
before the next chunk is read, so each byte is read once and stays in cache while it is hashed.

Pure: no I/O. ``catalog.hashing`` reads files and feeds sessions.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from catalog.pe_layout import PAGE_SIZE, PeLayout
from catalog.records import HashAlgorithm, PageHashTable

CHUNK_SIZE = 1 << 20
"""Bytes handed to the digests at a time: small enough to stay in cache, big enough that hashlib
releases the GIL and Python overhead is negligible."""

_ZEROS = bytes(PAGE_SIZE)
_CONSTRUCTORS: dict[HashAlgorithm, Callable[[], hashlib._Hash]] = {
    HashAlgorithm.SHA1: hashlib.sha1,
    HashAlgorithm.SHA256: hashlib.sha256,
}

Update = Callable[[memoryview], object]


@dataclass(frozen=True, slots=True)
class DigestResults:
    """What a session computed. Dicts hold only the requested algorithms."""

    flat: dict[HashAlgorithm, bytes]
    authenticode: dict[HashAlgorithm, bytes]
    page_tables: dict[HashAlgorithm, PageHashTable]
    certificate_table: bytes | None


class _Feed:
    """A half-open byte range and the digests that consume it."""

    __slots__ = ("end", "hashers", "page", "start", "updates")

    def __init__(
        self,
        start: int,
        end: int,
        updates: list[Update],
        page: int = -1,
        hashers: list[hashlib._Hash] | None = None,
    ) -> None:
        self.start = start
        self.end = end
        self.updates = updates
        self.page = page
        self.hashers = hashers


class DigestSession:
    """Consumes one file's bytes, in order, and produces every digest requested.

    ``layout`` is None for files hashed flat. ``page_hashes`` asks for page tables (ignored when the
    layout reports a page-hash problem). ``keep_certificate_table`` copies the certificate table
    (at most ``certificate_table_limit`` bytes) for signature decoding.
    """

    def __init__(
        self,
        file_size: int,
        algorithms: frozenset[HashAlgorithm],
        layout: PeLayout | None = None,
        *,
        page_hashes: bool = True,
        keep_certificate_table: bool = True,
        certificate_table_limit: int = 16 << 20,
        flat: bool = True,
    ) -> None:
        self._size = file_size
        self._algorithms = tuple(sorted(algorithms, key=lambda a: a.value))
        self._layout = layout
        self._position = 0
        new = [_CONSTRUCTORS[alg] for alg in self._algorithms]

        self._flat = [make() for make in new] if flat else []
        static: list[_Feed] = [_Feed(0, file_size, [h.update for h in self._flat])] if flat else []

        self._image: list[hashlib._Hash] = []
        self._header_page: list[hashlib._Hash] = []
        self._certificate: bytearray | None = None
        self._pages: Iterator[tuple[int, int, int]] = iter(())
        self._page_count = 0
        self._page_digests: list[list[bytes]] = []
        if layout is not None:
            self._image = [make() for make in new]
            image_updates: list[Update] = [h.update for h in self._image]
            static.extend(_Feed(s, e, image_updates) for s, e in layout.image_ranges())
            if page_hashes and layout.page_hash_problem is None:
                self._header_page = [make() for make in new]
                page_updates: list[Update] = [h.update for h in self._header_page]
                static.extend(_Feed(s, e, page_updates) for s, e in layout.header_page_ranges())
                self._pages, self._page_count = _page_stream(layout)
                self._page_digests = [[b""] * self._page_count for _ in self._algorithms]
            if keep_certificate_table and layout.signed:
                self._certificate = bytearray()
                end = layout.cert_table_offset + min(
                    layout.cert_table_size, certificate_table_limit
                )
                static.append(_Feed(layout.cert_table_offset, end, [self._certificate.extend]))

        static.sort(key=lambda f: f.start)
        self._static = static
        self._next_static = 0
        self._pending_page = next(self._pages, None)
        self._active: list[_Feed] = []
        self._new = new

    def feed(self, chunk: memoryview) -> None:
        """Consume the next ``len(chunk)`` bytes of the file."""
        lo_chunk = self._position
        hi_chunk = lo_chunk + len(chunk)
        if hi_chunk > self._size:
            raise ValueError(f"fed {hi_chunk} bytes to a session for a {self._size}-byte file")
        self._position = hi_chunk
        active = self._active
        static = self._static
        while self._next_static < len(static) and static[self._next_static].start < hi_chunk:
            active.append(static[self._next_static])
            self._next_static += 1
        while self._pending_page is not None and self._pending_page[0] < hi_chunk:
            start, end, index = self._pending_page
            hashers = [make() for make in self._new]
            active.append(_Feed(start, end, [h.update for h in hashers], index, hashers))
            self._pending_page = next(self._pages, None)

        still: list[_Feed] = []
        for feed in active:
            lo = feed.start if feed.start > lo_chunk else lo_chunk
            hi = feed.end if feed.end < hi_chunk else hi_chunk
            if lo < hi:
                piece = chunk[lo - lo_chunk : hi - lo_chunk]
                for update in feed.updates:
                    update(piece)
            if feed.end > hi_chunk:
                still.append(feed)
            elif feed.page >= 0:
                self._finish_page(feed)
        self._active = still

    def finish(self) -> DigestResults:
        """Close every digest. The session must have been fed exactly ``file_size`` bytes."""
        if self._position != self._size:
            raise ValueError(f"session fed {self._position} of {self._size} bytes")
        for feed in self._active:  # zero-length ranges at EOF
            if feed.page >= 0:
                self._finish_page(feed)
        self._active = []
        algs = self._algorithms
        flat = {alg: h.digest() for alg, h in zip(algs, self._flat, strict=False)}
        authenticode: dict[HashAlgorithm, bytes] = {}
        tables: dict[HashAlgorithm, PageHashTable] = {}
        layout = self._layout
        if layout is not None:
            padding = _ZEROS[: layout.image_padding]
            for alg, h in zip(algs, self._image, strict=True):
                if padding:
                    h.update(padding)
                authenticode[alg] = h.digest()
            if self._header_page:
                tables = self._tables(layout)
        certificate = None if self._certificate is None else bytes(self._certificate)
        return DigestResults(flat, authenticode, tables, certificate)

    def _finish_page(self, feed: _Feed) -> None:
        # Page hashers exist only while their page is being read: memory stays proportional to
        # the table, not to the file.
        hashers = feed.hashers or []
        short = PAGE_SIZE - (feed.end - feed.start)
        for column, h in zip(self._page_digests, hashers, strict=True):
            if short:
                h.update(_ZEROS[:short])
            column[feed.page] = h.digest()

    def _tables(self, layout: PeLayout) -> dict[HashAlgorithm, PageHashTable]:
        offsets = [
            start + k for start, length in layout.page_runs() for k in range(0, length, PAGE_SIZE)
        ]
        end = layout.page_table_end()
        header_short = _ZEROS[: PAGE_SIZE - layout.size_of_headers]
        tables: dict[HashAlgorithm, PageHashTable] = {}
        for alg, header, column in zip(
            self._algorithms, self._header_page, self._page_digests, strict=True
        ):
            header.update(header_short)
            entries = [(0, header.digest()), *zip(offsets, column, strict=True)]
            entries.append((end, bytes(alg.digest_size)))
            tables[alg] = PageHashTable(alg, tuple(entries))
        return tables


def _page_stream(layout: PeLayout) -> tuple[Iterator[tuple[int, int, int]], int]:
    """Pages ``(start, end, table index)`` in file order, and how many there are.

    Table order is section-table order; file order can differ (sections out of order or
    overlapping), so the per-section page runs are merged lazily by start offset.
    """
    runs: list[Iterator[tuple[int, int, int]]] = []
    index = 0
    for start, length in layout.page_runs():
        runs.append(_run_pages(start, length, index))
        index += -(-length // PAGE_SIZE)
    return heapq.merge(*runs), index


def _run_pages(start: int, length: int, first_index: int) -> Iterator[tuple[int, int, int]]:
    for k, offset in enumerate(range(0, length, PAGE_SIZE)):
        yield start + offset, start + min(offset + PAGE_SIZE, length), first_index + k

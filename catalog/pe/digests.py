"""Every digest of a file in one pass over its bytes (formats.md 1.2, 2.2, 3).

A ``DigestSession`` is fed the file's bytes as contiguous chunks in file order and computes, for
each requested algorithm, the flat hash, the Authenticode image hash (with the 8-byte zero padding
of unsigned files) and the page-hash table (4096-byte pages, header page first, terminator last),
and can keep a copy of the certificate table. Each chunk is handed to every digest that covers it
before the next chunk is read, so each byte is read once and stays in cache while it is hashed.

Pure: no I/O. ``catalog.pe.hashing`` reads files and feeds sessions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from catalog.pe.layout import PAGE_SIZE, PeLayout
from catalog.records import HashAlgorithm, PageHashTable

CHUNK_SIZE = 1 << 20
"""Bytes handed to the digests at a time: small enough to stay in cache, big enough that hashlib
releases the GIL and Python overhead is negligible."""

_ZEROS = bytes(PAGE_SIZE)
_CONSTRUCTORS: dict[HashAlgorithm, Callable[..., hashlib._Hash]] = {
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
    first_pages: dict[HashAlgorithm, bytes]
    """The header page's digest (WDAC's "Hash Page"), also without full page tables."""


class _Feed:
    """A half-open byte range and the digests that consume it."""

    __slots__ = ("end", "start", "updates")

    def __init__(self, start: int, end: int, updates: list[Update]) -> None:
        self.start = start
        self.end = end
        self.updates = updates


class _PageRun:
    """One section's raw data, cut into 4096-byte pages (the last one zero-padded).

    Whole pages inside a chunk are hashed with one constructor call each; only a page that
    straddles a chunk boundary keeps hashers alive until the next chunk. Digests land in the
    table columns at ``first_index + k`` (section-table order), whatever the file order.
    """

    __slots__ = ("count", "end", "first_index", "next_page", "pending", "start")

    def __init__(self, start: int, length: int, first_index: int) -> None:
        self.start = start
        self.end = start + length
        self.count = -(-length // PAGE_SIZE)
        self.first_index = first_index
        self.next_page = 0
        self.pending: list[hashlib._Hash] | None = None


class DigestSession:
    """Consumes one file's bytes, in order, and produces every digest requested.

    ``layout`` is None for files hashed flat. ``page_hashes`` asks for the header page's digest
    and, with ``page_tables``, the whole page-hash table (both ignored when the layout reports a
    page-hash problem). ``keep_certificate_table`` copies the certificate table
    (at most ``certificate_table_limit`` bytes) for signature decoding.
    """

    def __init__(
        self,
        file_size: int,
        algorithms: frozenset[HashAlgorithm],
        layout: PeLayout | None = None,
        *,
        page_hashes: bool = True,
        page_tables: bool = True,
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
        self._runs: list[_PageRun] = []
        self._page_digests: list[list[bytes]] = []
        self._page_tables = page_tables
        if layout is not None:
            self._image = [make() for make in new]
            image_updates: list[Update] = [h.update for h in self._image]
            static.extend(_Feed(s, e, image_updates) for s, e in layout.image_ranges())
            if page_hashes and layout.page_hash_problem is None:
                self._header_page = [make() for make in new]
                page_updates: list[Update] = [h.update for h in self._header_page]
                static.extend(_Feed(s, e, page_updates) for s, e in layout.header_page_ranges())
                index = 0
                for start, length in layout.page_runs() if page_tables else ():
                    self._runs.append(_PageRun(start, length, index))
                    index += self._runs[-1].count
                self._page_digests = [[b""] * index for _ in self._algorithms]
                # Activation walks runs in file order; table order is kept by first_index.
                self._runs.sort(key=lambda r: r.start)
            if keep_certificate_table and layout.signed:
                self._certificate = bytearray()
                end = layout.cert_table_offset + min(
                    layout.cert_table_size, certificate_table_limit
                )
                static.append(_Feed(layout.cert_table_offset, end, [self._certificate.extend]))

        static.sort(key=lambda f: f.start)
        self._static = static
        self._next_static = 0
        self._active: list[_Feed] = []
        self._next_run = 0
        self._active_runs: list[_PageRun] = []
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
        self._active = still
        if self._runs:
            self._feed_pages(chunk, lo_chunk, hi_chunk)

    def _feed_pages(self, chunk: memoryview, lo_chunk: int, hi_chunk: int) -> None:
        runs = self._runs
        while self._next_run < len(runs) and runs[self._next_run].start < hi_chunk:
            self._active_runs.append(runs[self._next_run])
            self._next_run += 1
        columns = self._page_digests
        new = self._new
        remaining: list[_PageRun] = []
        for run in self._active_runs:
            if run.pending is not None:  # the page that straddled the previous boundary
                page_start = run.start + (run.next_page - 1) * PAGE_SIZE
                page_end = min(page_start + PAGE_SIZE, run.end)
                piece = chunk[: min(page_end, hi_chunk) - lo_chunk]
                for h in run.pending:
                    h.update(piece)
                if page_end <= hi_chunk:
                    self._store(
                        run.first_index + run.next_page - 1, run.pending, page_end - page_start
                    )
                    run.pending = None
            if run.pending is None:
                k = run.next_page
                index = run.first_index + k
                page_start = run.start + k * PAGE_SIZE
                while k < run.count and page_start < hi_chunk:
                    page_end = page_start + PAGE_SIZE
                    if page_end > run.end:
                        page_end = run.end
                    piece = chunk[page_start - lo_chunk : page_end - lo_chunk]
                    if page_end > hi_chunk:
                        run.pending = [make(piece) for make in new]
                        k += 1
                        break
                    if page_end - page_start == PAGE_SIZE:
                        for column, make in zip(columns, new, strict=True):
                            column[index] = make(piece).digest()
                    else:
                        self._store(index, [make(piece) for make in new], page_end - page_start)
                    k += 1
                    index += 1
                    page_start += PAGE_SIZE
                run.next_page = k
            if run.next_page < run.count or run.pending is not None:
                remaining.append(run)
        self._active_runs = remaining

    def _store(self, index: int, hashers: list[hashlib._Hash], length: int) -> None:
        short = PAGE_SIZE - length
        for column, h in zip(self._page_digests, hashers, strict=True):
            if short:
                h.update(_ZEROS[:short])
            column[index] = h.digest()

    def finish(self) -> DigestResults:
        """Close every digest. The session must have been fed exactly ``file_size`` bytes."""
        if self._position != self._size:
            raise ValueError(f"session fed {self._position} of {self._size} bytes")
        self._active = []
        algs = self._algorithms
        flat = {alg: h.digest() for alg, h in zip(algs, self._flat, strict=False)}
        authenticode: dict[HashAlgorithm, bytes] = {}
        tables: dict[HashAlgorithm, PageHashTable] = {}
        first_pages: dict[HashAlgorithm, bytes] = {}
        layout = self._layout
        if layout is not None:
            padding = _ZEROS[: layout.image_padding]
            for alg, h in zip(algs, self._image, strict=True):
                if padding:
                    h.update(padding)
                authenticode[alg] = h.digest()
            header_short = _ZEROS[: PAGE_SIZE - layout.size_of_headers]
            for alg, header in zip(algs, self._header_page, strict=False):
                header.update(header_short)
                first_pages[alg] = header.digest()
            if first_pages and self._page_tables:
                tables = self._tables(layout, first_pages)
        certificate = None if self._certificate is None else bytes(self._certificate)
        return DigestResults(flat, authenticode, tables, certificate, first_pages)

    def _tables(
        self, layout: PeLayout, first_pages: dict[HashAlgorithm, bytes]
    ) -> dict[HashAlgorithm, PageHashTable]:
        offsets = (0, *_page_offsets(layout), layout.page_table_end())
        tables: dict[HashAlgorithm, PageHashTable] = {}
        for alg, column in zip(self._algorithms, self._page_digests, strict=True):
            digests = b"".join((first_pages[alg], *column, bytes(alg.digest_size)))
            tables[alg] = PageHashTable(alg, offsets, digests)
        return tables


def _page_offsets(layout: PeLayout) -> list[int]:
    """The file offset of every page of every hashed section, in table order."""
    offsets: list[int] = []
    for start, length in layout.page_runs():
        offsets.extend(range(start, start + length, PAGE_SIZE))
    return offsets


def digest_buffer(
    view: memoryview,
    algorithms: frozenset[HashAlgorithm],
    layout: PeLayout | None = None,
    *,
    page_hashes: bool = True,
    page_tables: bool = True,
    keep_certificate_table: bool = True,
    certificate_table_limit: int = 16 << 20,
    flat: bool = True,
) -> DigestResults:
    """What a ``DigestSession`` fed ``view`` computes, for a file held whole in memory.

    Each range goes to hashlib in one call, with none of the session's bookkeeping: for the
    small files that make up most of a Windows image, that bookkeeping costs more than hashing.
    """
    algs = tuple(sorted(algorithms, key=lambda a: a.value))
    news = [_CONSTRUCTORS[alg] for alg in algs]
    flat_digests: dict[HashAlgorithm, bytes] = {}
    if flat:
        flat_digests = {alg: new(view).digest() for alg, new in zip(algs, news, strict=True)}
    authenticode: dict[HashAlgorithm, bytes] = {}
    first_pages: dict[HashAlgorithm, bytes] = {}
    tables: dict[HashAlgorithm, PageHashTable] = {}
    certificate = None
    if layout is not None:
        image_ranges = layout.image_ranges()
        padding = _ZEROS[: layout.image_padding]
        paged = page_hashes and layout.page_hash_problem is None
        header_ranges = layout.header_page_ranges() if paged else ()
        header_short = _ZEROS[: PAGE_SIZE - layout.size_of_headers] if paged else b""
        for alg, new in zip(algs, news, strict=True):
            h = new()
            for start, end in image_ranges:
                h.update(view[start:end])
            if padding:
                h.update(padding)
            authenticode[alg] = h.digest()
            if paged:
                h = new()
                for start, end in header_ranges:
                    h.update(view[start:end])
                h.update(header_short)
                first_pages[alg] = h.digest()
                if page_tables:
                    tables[alg] = _table(view, layout, alg, new, first_pages[alg])
        if keep_certificate_table and layout.signed:
            start = layout.cert_table_offset
            kept = min(layout.cert_table_size, certificate_table_limit)
            certificate = bytes(view[start : start + kept])
    return DigestResults(flat_digests, authenticode, tables, certificate, first_pages)


def _table(
    view: memoryview,
    layout: PeLayout,
    alg: HashAlgorithm,
    new: Callable[..., hashlib._Hash],
    first_page: bytes,
) -> PageHashTable:
    digests: list[bytes] = [first_page]
    for start, length in layout.page_runs():
        end = start + length
        whole = end - length % PAGE_SIZE
        digests += [new(view[o : o + PAGE_SIZE]).digest() for o in range(start, whole, PAGE_SIZE)]
        if whole < end:  # the section's last, partial page: zero-padded to 4096 bytes
            h = new(view[whole:end])
            h.update(_ZEROS[: PAGE_SIZE - (end - whole)])
            digests.append(h.digest())
    digests.append(bytes(alg.digest_size))
    offsets = (0, *_page_offsets(layout), layout.page_table_end())
    return PageHashTable(alg, offsets, b"".join(digests))

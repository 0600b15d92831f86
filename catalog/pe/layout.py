"""PE header parsing for hashing: bytes in, a frozen ``PeLayout`` out (formats.md 1.1, 1.4, 2.2).

Zero-copy: every field is read with ``struct.unpack_from`` from the caller's buffer (bytes,
bytearray, memoryview or mmap). Nothing here opens files. The layout says which byte ranges the
Authenticode image hash covers, how many zero bytes pad it, and where the page-hash pages are.

Three outcomes:
- ``NotAPeError``: no ``MZ``/``PE\\0\\0`` structure at all; the file is hashed flat.
- ``NonConformantPeError``: a PE that Windows will not image-hash (certificate table not at the end,
  entries out of range, truncated headers or sections, ...); the file falls back to flat hashes as
  Windows does (CRYPTCATADMIN_CALCHASH_FLAG_NONCONFORMANT_FILES_FALLBACK_FLAT, formats.md 3).
- a ``PeLayout`` (possibly with ``page_hash_problem`` set when page hashes cannot be made).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass

from catalog.errors import CatalogInputError

BytesLike = bytes | bytearray | memoryview | mmap.mmap
"""Anything the parser and the hasher accept as file content (read without copying)."""

PAGE_SIZE = 4096
"""Page-hash page size. Always 4096, never SectionAlignment (formats.md 2.1, signify issue 58)."""

MAX_PE_SIZE = 0xFFFFFFFF
"""PE offsets are 32-bit: a larger file cannot be described, Windows does not image-hash it."""

MAX_PAGE_TABLE_ENTRIES = 1 << 20
"""Absolute cap on page-table entries: 4 GiB of 4 KiB pages, more than a PE (32-bit offsets) holds.

Windows documents no limit of its own; see ``page_table_entries`` for the tighter per-file cap."""

PAGE_TABLE_OVERLAP_FACTOR = 2
"""Sections may page the same bytes more than once (overlapping raw data), so a 64 MiB file with 90
overlapping sections asks for 1.5 M page digests (issue: page-hash amplification). We hash at most
this many times the file's own page count (plus one partial page per section, the header page and
the terminator); a file asking for more gets no page hashes, with the reason. Linkers never
overlap sections, so real files are far below it."""

_PE32 = 0x10B
_PE32_PLUS = 0x20B
_SECTION_HEADER_SIZE = 40
_CERT_DIRECTORY_INDEX = 4
_RESOURCE_DIRECTORY_INDEX = 2
_WIN_CERTIFICATE_HEADER = 8


class NotAPeError(CatalogInputError):
    """The bytes are not a PE image (hash them flat). ``reason`` says what was missing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NonConformantPeError(CatalogInputError):
    """A PE that Windows will not hash with Authenticode rules; it falls back to flat hashes."""

    def __init__(self, reason: str, pe_format: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pe_format = pe_format


class IncompleteHeadersError(CatalogInputError):
    """The buffer is a prefix of the file that ends before the headers do.

    Raised only when ``file_size`` is larger than the buffer: the caller should retry with at least
    ``needed`` bytes from the start of the file.
    """

    def __init__(self, needed: int) -> None:
        super().__init__(f"PE headers extend to offset {needed:#x}, beyond the bytes read")
        self.needed = needed


@dataclass(frozen=True, slots=True)
class Section:
    """One section-table entry, as far as hashing cares."""

    index: int
    name: str
    pointer_to_raw_data: int
    size_of_raw_data: int
    virtual_address: int = 0
    virtual_size: int = 0

    @property
    def raw_end(self) -> int:
        return self.pointer_to_raw_data + self.size_of_raw_data


@dataclass(frozen=True, slots=True)
class PeLayout:
    """Everything the hasher needs to know about one conformant PE file."""

    file_size: int
    pe_format: str
    """``PE32`` or ``PE32+``."""
    machine: int
    e_lfanew: int
    size_of_headers: int
    section_alignment: int
    file_alignment: int
    checksum_offset: int
    """File offset of the 4-byte CheckSum field (excluded from both image and page hashes)."""
    cert_entry_offset: int | None
    """File offset of the 8-byte certificate-table directory entry (excluded likewise)."""
    cert_table_offset: int
    cert_table_size: int
    sections: tuple[Section, ...]
    page_hash_problem: str | None
    """Why no page-hash table can be made for this file (None when it can)."""
    resource_rva: int = 0
    """RVA of the resource directory (data directory 2); 0 when there is none."""
    resource_size: int = 0

    @property
    def signed(self) -> bool:
        """The file carries a certificate table (an Authenticode signature)."""
        return self.cert_table_size != 0

    @property
    def image_end(self) -> int:
        """Where the image hash stops: the certificate table, or the end of the file."""
        return self.cert_table_offset if self.signed else self.file_size

    def image_ranges(self) -> tuple[tuple[int, int], ...]:
        """Half-open byte ranges hashed for the Authenticode image hash, in file order.

        Contiguous formulation (formats.md 1.2 A): everything up to the certificate table (or EOF)
        except the CheckSum and the certificate directory entry.
        """
        return _skip_fields(0, self.image_end, self._excluded())

    @property
    def image_padding(self) -> int:
        """Zero bytes appended to the image hash input: unsigned files are padded to 8 bytes."""
        return 0 if self.signed else -self.file_size % 8

    def header_page_ranges(self) -> tuple[tuple[int, int], ...]:
        """Ranges of the header page (page-table entry 0 and WDAC's first-page hash).

        ``[0, SizeOfHeaders)`` minus the excluded fields; the hasher appends
        ``PAGE_SIZE - SizeOfHeaders`` zero bytes (formats.md 2.2 step 1).
        """
        return _skip_fields(0, self.size_of_headers, self._excluded())

    def page_runs(self) -> tuple[tuple[int, int], ...]:
        """Section raw-data runs ``(start, length)`` that are paged, in section-table order."""
        return tuple(
            (s.pointer_to_raw_data, s.size_of_raw_data)
            for s in self.sections
            if s.size_of_raw_data > 0
        )

    def page_table_end(self) -> int:
        """Offset of the terminating page-table entry: end of the last paged section."""
        runs = self.page_runs()
        start, length = runs[-1]
        return start + length

    def _excluded(self) -> tuple[tuple[int, int], ...]:
        fields = [(self.checksum_offset, 4)]
        if self.cert_entry_offset is not None:
            fields.append((self.cert_entry_offset, 8))
        return tuple(fields)


def _skip_fields(
    start: int, end: int, fields: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    pos = start
    for offset, length in sorted(fields):
        if offset >= end:
            break
        if offset > pos:
            ranges.append((pos, offset))
        pos = max(pos, offset + length)
    if pos < end:
        ranges.append((pos, end))
    return tuple(ranges)


def parse_pe_layout(data: BytesLike, file_size: int | None = None) -> PeLayout:
    """Parse the headers of a PE held in ``data`` (the whole file, or a prefix of it).

    ``file_size`` is the size of the whole file when ``data`` is only a prefix. Raises
    ``NotAPeError``, ``NonConformantPeError`` or ``IncompleteHeadersError`` (prefix too short).
    """
    view = memoryview(data).cast("B")
    size = len(view) if file_size is None else file_size
    avail = len(view)

    def need(offset: int, length: int, what: str, *, not_pe: bool = False) -> None:
        end = offset + length
        if end > size:
            msg = f"{what} at offset {offset:#x} runs past the end of the file ({size} bytes)"
            if not_pe:
                raise NotAPeError(msg)
            raise NonConformantPeError(f"truncated PE: {msg}", pe_format)
        if end > avail:
            raise IncompleteHeadersError(end)

    pe_format: str | None = None
    if size < 2 or bytes(view[:2]) != b"MZ":
        raise NotAPeError("no MZ signature" if size >= 2 else "file too small to be a PE")
    need(0x3C, 4, "e_lfanew field of the DOS header", not_pe=True)
    (e_lfanew,) = struct.unpack_from("<I", view, 0x3C)
    need(e_lfanew, 24, "PE signature and COFF header (e_lfanew)", not_pe=True)
    if bytes(view[e_lfanew : e_lfanew + 4]) != b"PE\0\0":
        raise NotAPeError(f"MZ file without a PE signature at e_lfanew {e_lfanew:#x}")

    machine, number_of_sections = struct.unpack_from("<HH", view, e_lfanew + 4)
    (size_of_optional_header,) = struct.unpack_from("<H", view, e_lfanew + 20)
    oh = e_lfanew + 24
    need(oh, 2, "optional header magic")
    (magic,) = struct.unpack_from("<H", view, oh)
    if magic == _PE32:
        pe_format, rva_count_at, directories_at = "PE32", oh + 92, oh + 96
    elif magic == _PE32_PLUS:
        pe_format, rva_count_at, directories_at = "PE32+", oh + 108, oh + 112
    else:
        raise NonConformantPeError(
            f"unknown optional-header magic {magic:#06x} at offset {oh:#x} "
            "(expected 0x10b or 0x20b)"
        )
    checksum_offset = oh + 64
    fixed_end = directories_at - oh
    if size_of_optional_header < fixed_end:
        raise NonConformantPeError(
            f"SizeOfOptionalHeader {size_of_optional_header} is smaller than the {fixed_end} bytes "
            f"of a {pe_format} optional header before its data directories",
            pe_format,
        )
    need(oh, fixed_end, "optional header")
    section_alignment, file_alignment = struct.unpack_from("<II", view, oh + 32)
    (size_of_headers,) = struct.unpack_from("<I", view, oh + 60)
    (rva_count,) = struct.unpack_from("<I", view, rva_count_at)

    if rva_count <= _CERT_DIRECTORY_INDEX:
        # No certificate-table entry: osslsigncode refuses such files and Wine's image hash fails
        # (so Windows-compatible tools fall back to flat); formats.md 1.4 calls it unverified.
        raise NonConformantPeError(
            f"NumberOfRvaAndSizes is {rva_count} (< 5): there is no certificate-table entry, "
            "so Windows' Authenticode hashing does not apply",
            pe_format,
        )
    directories_room = (size_of_optional_header - fixed_end) // 8
    if directories_room <= _CERT_DIRECTORY_INDEX:
        raise NonConformantPeError(
            f"SizeOfOptionalHeader {size_of_optional_header} leaves room for only "
            f"{directories_room} data directories; the certificate-table entry (index 4) is "
            "missing",
            pe_format,
        )
    cert_entry_offset = directories_at + 8 * _CERT_DIRECTORY_INDEX
    need(cert_entry_offset, 8, "certificate-table directory entry")
    cert_offset, cert_size = struct.unpack_from("<II", view, cert_entry_offset)

    section_table = oh + size_of_optional_header
    table_length = number_of_sections * _SECTION_HEADER_SIZE
    if section_table + table_length > size:
        raise NonConformantPeError(
            f"section table ({number_of_sections} entries at {section_table:#x}) runs past the end "
            f"of the file ({size} bytes)",
            pe_format,
        )
    need(section_table, table_length, "section table")
    sections = tuple(
        Section(
            index=i,
            name=name.rstrip(b"\0").decode("latin-1"),
            pointer_to_raw_data=pointer,
            size_of_raw_data=raw_size,
            virtual_address=virtual_address,
            virtual_size=virtual_size,
        )
        for i, (name, virtual_size, virtual_address, raw_size, pointer) in enumerate(
            struct.unpack_from("<8sIIII", view, section_table + i * _SECTION_HEADER_SIZE)
            for i in range(number_of_sections)
        )
    )
    resource_rva, resource_size = 0, 0
    if rva_count > _RESOURCE_DIRECTORY_INDEX and directories_room > _RESOURCE_DIRECTORY_INDEX:
        resource_rva, resource_size = struct.unpack_from(
            "<II", view, directories_at + 8 * _RESOURCE_DIRECTORY_INDEX
        )

    if size > MAX_PE_SIZE:
        raise NonConformantPeError(
            f"file is {size} bytes, over 4 GiB: PE offsets are 32-bit and Windows does not "
            "Authenticode-hash such files",
            pe_format,
        )
    if size_of_headers > size:
        raise NonConformantPeError(
            f"SizeOfHeaders {size_of_headers:#x} is beyond the end of the file ({size} bytes)",
            pe_format,
        )
    for section in sections:
        if section.size_of_raw_data and section.raw_end > size:
            raise NonConformantPeError(
                f"section {section.index} {section.name!r} raw data "
                f"[{section.pointer_to_raw_data:#x}, {section.raw_end:#x}) runs past the end of "
                f"the file ({size} bytes): the file is truncated",
                pe_format,
            )
    _check_certificate_table(cert_offset, cert_size, size, size_of_headers, pe_format)

    return PeLayout(
        file_size=size,
        pe_format=pe_format,
        machine=machine,
        e_lfanew=e_lfanew,
        size_of_headers=size_of_headers,
        section_alignment=section_alignment,
        file_alignment=file_alignment,
        checksum_offset=checksum_offset,
        cert_entry_offset=cert_entry_offset,
        cert_table_offset=cert_offset if cert_size else 0,
        cert_table_size=cert_size,
        sections=sections,
        page_hash_problem=page_hash_problem(
            size, size_of_headers, cert_entry_offset, sections, number_of_sections
        ),
        resource_rva=resource_rva,
        resource_size=resource_size,
    )


def _check_certificate_table(
    offset: int, length: int, file_size: int, size_of_headers: int, pe_format: str
) -> None:
    if offset == 0 and length == 0:
        return
    where = f"certificate table [{offset:#x}, {offset + length:#x})"
    if offset == 0 or length == 0:
        raise NonConformantPeError(
            f"certificate-table entry is half empty (offset {offset:#x}, size {length:#x})",
            pe_format,
        )
    if length < _WIN_CERTIFICATE_HEADER:
        raise NonConformantPeError(f"{where} is smaller than a WIN_CERTIFICATE header", pe_format)
    if offset < size_of_headers:
        raise NonConformantPeError(f"{where} overlaps the PE headers", pe_format)
    if offset + length > file_size:
        raise NonConformantPeError(
            f"{where} runs past the end of the file ({file_size} bytes)", pe_format
        )
    if offset + length != file_size:
        # Windows rejects signatures not at the end (MS12-024 hardening); Package Inspector cannot
        # catalog such files either (formats.md 1.4): a WDAC flat-hash rule is how to allow them.
        raise NonConformantPeError(
            f"{where} is not at the end of the file ({file_size - offset - length} bytes follow "
            "it; typically data appended after signing)",
            pe_format,
        )


def page_table_entries(sections: tuple[Section, ...]) -> int:
    """Entries a page-hash table would have: header page, every section page, terminator."""
    return 2 + sum(-(-s.size_of_raw_data // PAGE_SIZE) for s in sections)


def page_table_cap(file_size: int, number_of_sections: int) -> int:
    """The most page-table entries hashed for a file this size (``PAGE_TABLE_OVERLAP_FACTOR``)."""
    file_pages = -(-file_size // PAGE_SIZE)
    return min(
        MAX_PAGE_TABLE_ENTRIES, PAGE_TABLE_OVERLAP_FACTOR * file_pages + number_of_sections + 2
    )


def page_hash_problem(
    file_size: int,
    size_of_headers: int,
    cert_entry_offset: int,
    sections: tuple[Section, ...],
    number_of_sections: int,
) -> str | None:
    if size_of_headers > PAGE_SIZE:
        # Implementations disagree and no Windows artefact settles it (formats.md 2.2): omit.
        return (
            f"SizeOfHeaders {size_of_headers:#x} exceeds one {PAGE_SIZE}-byte page; Windows' "
            "page hashes for such files are unverified, so none are emitted"
        )
    if size_of_headers < cert_entry_offset + 8:
        return (
            f"SizeOfHeaders {size_of_headers:#x} ends inside the optional header; "
            "the header page is undefined"
        )
    if number_of_sections == 0 or not any(s.size_of_raw_data for s in sections):
        return "no section has raw data, so there are no pages to hash"
    entries = page_table_entries(sections)
    cap = page_table_cap(file_size, number_of_sections)
    if entries > cap:
        return (
            f"the sections ask for {entries:,} page-table entries, over the cap of {cap:,} for a "
            f"{file_size:,}-byte file (overlapping sections page the same bytes again and "
            "again); no page hashes are emitted"
        )
    return None

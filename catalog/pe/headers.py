"""Batched PE header parsing: the first bytes of many files in, one ``PeLayout`` (or why not) each.

Same contract as ``catalog.pe.layout.parse_pe_layout`` (formats.md 1.1, 1.4, 2.2), which stays the
reference: the tests require both to agree on every fixture and on generated mutants. Instead of
one walk of Python objects per file, each header level is decoded for the whole batch with one
``struct.iter_unpack`` pass over the files' fixed-size slices joined end to end (DOS headers, then
PE/COFF plus optional headers per magic, then every section table of the batch at once). Files that
leave the common path anywhere (short, not a PE, headers beyond the bytes given, any check that
fails) are handed to the reference parser, so errors and their messages are its own.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from catalog.errors import CatalogInputError
from catalog.pe.layout import (
    MAX_PE_SIZE,
    BytesLike,
    PeLayout,
    Section,
    page_hash_problem,
    parse_pe_layout,
)

Parsed = PeLayout | CatalogInputError
"""A layout, or the ``NotAPeError`` / ``NonConformantPeError`` / ``IncompleteHeadersError``."""

_DOS = struct.Struct("<2s58xI")
_NT_SPAN = 24 + 112 + 40
"""PE signature, COFF header, and a PE32+ optional header up to the end of data directory 4."""
_NT_COMMON = struct.Struct("<4sHH12xH2xH30xII20xI")
"""Signature, Machine, NumberOfSections, SizeOfOptionalHeader, Magic, SectionAlignment,
FileAlignment, SizeOfHeaders: the same offsets in PE32 and PE32+."""
_DIRECTORIES = {
    # magic: (format of the tail from optional-header offset 64, offset of the directories)
    0x10B: (struct.Struct("<28xI16xII8xII"), 96),
    0x20B: (struct.Struct("<44xI16xII8xII"), 112),
}
_TAIL_AT = 24 + 64
_TAIL_SPAN = _NT_SPAN - _TAIL_AT
_SECTION = struct.Struct("<8sIIII16x")
_FORMATS = {0x10B: "PE32", 0x20B: "PE32+"}


def _fixed(view: memoryview, start: int, length: int) -> bytes:
    piece = bytes(view[start : start + length])
    return piece if len(piece) == length else piece.ljust(length, b"\0")


def parse_layouts(buffers: Sequence[BytesLike], sizes: Sequence[int]) -> list[Parsed]:
    """Parse many files' headers; ``buffers[i]`` holds (a prefix of) a ``sizes[i]``-byte file."""
    views = [memoryview(b).cast("B") for b in buffers]
    results: list[Parsed | None] = [None] * len(views)
    dos = _DOS.iter_unpack(b"".join(_fixed(v, 0, _DOS.size) for v in views))
    candidates: list[tuple[int, int]] = []
    for i, ((magic, e_lfanew), view) in enumerate(zip(dos, views, strict=True)):
        if magic == b"MZ" and len(view) >= _DOS.size and e_lfanew + _NT_SPAN <= len(view):
            candidates.append((i, e_lfanew))
    nt = _NT_COMMON.iter_unpack(
        b"".join(_fixed(views[i], e, _NT_COMMON.size) for i, e in candidates)
    )
    by_magic: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {0x10B: [], 0x20B: []}
    for (i, e_lfanew), fields in zip(candidates, nt, strict=True):
        if fields[0] == b"PE\0\0" and fields[4] in by_magic:
            by_magic[fields[4]].append((i, e_lfanew, fields))
    tables: list[tuple[int, PeLayout]] = []
    for magic, group in by_magic.items():
        tail, directories = _DIRECTORIES[magic]
        rows = tail.iter_unpack(
            b"".join(_fixed(views[i], e + _TAIL_AT, _TAIL_SPAN)[: tail.size] for i, e, _ in group)
        )
        for (i, e_lfanew, fields), row in zip(group, rows, strict=True):
            layout = _common_path(views[i], sizes[i], e_lfanew, fields, row, magic, directories)
            if layout is not None:
                tables.append((i, layout))
    _fill_sections(views, sizes, tables, results)
    return [
        parsed if parsed is not None else _reference(views[i], sizes[i])
        for i, parsed in enumerate(results)
    ]


def _common_path(
    view: memoryview,
    size: int,
    e_lfanew: int,
    fields: tuple[int, ...],
    row: tuple[int, ...],
    magic: int,
    directories: int,
) -> PeLayout | None:
    """A layout without sections when every header check passes; None sends the file to the
    reference parser (which then reports the precise reason)."""
    _sig, machine, count, optional_size, _magic, section_alignment, file_alignment, headers = fields
    rva_count, resource_rva, resource_size, cert_offset, cert_size = row
    oh = e_lfanew + 24
    room = (optional_size - directories) // 8 if optional_size >= directories else -1
    table_end = oh + optional_size + count * 40
    if room <= 4 or rva_count <= 4 or table_end > len(view) or size > MAX_PE_SIZE:
        return None
    if headers > size or not _certificate_ok(cert_offset, cert_size, size, headers):
        return None
    return PeLayout(
        file_size=size,
        pe_format=_FORMATS[magic],
        machine=machine,
        e_lfanew=e_lfanew,
        size_of_headers=headers,
        section_alignment=section_alignment,
        file_alignment=file_alignment,
        checksum_offset=oh + 64,
        cert_entry_offset=oh + directories + 32,
        cert_table_offset=cert_offset if cert_size else 0,
        cert_table_size=cert_size,
        sections=(),
        page_hash_problem=None,
        resource_rva=resource_rva,
        resource_size=resource_size,
    )


def _certificate_ok(offset: int, length: int, size: int, headers: int) -> bool:
    if offset == 0 and length == 0:
        return True
    return offset != 0 and length >= 8 and offset >= headers and offset + length == size


def _fill_sections(
    views: list[memoryview],
    sizes: Sequence[int],
    tables: list[tuple[int, PeLayout]],
    results: list[Parsed | None],
) -> None:
    """Decode every section table of the batch in one pass, then finish each layout."""
    spans: list[tuple[int, int]] = []
    for i, layout in tables:
        view = views[i]
        optional_size = struct.unpack_from("<H", view, layout.e_lfanew + 20)[0]
        count = struct.unpack_from("<H", view, layout.e_lfanew + 6)[0]
        spans.append((layout.e_lfanew + 24 + optional_size, count))
    rows = iter(
        _SECTION.iter_unpack(
            b"".join(
                bytes(views[i][start : start + 40 * count])
                for (i, _), (start, count) in zip(tables, spans, strict=True)
            )
        )
    )
    for (i, layout), (_start, count) in zip(tables, spans, strict=True):
        size = sizes[i]
        sections = tuple(
            Section(
                index=k,
                name=name.rstrip(b"\0").decode("latin-1"),
                pointer_to_raw_data=pointer,
                size_of_raw_data=raw_size,
                virtual_address=virtual_address,
                virtual_size=virtual_size,
            )
            for k, (name, virtual_size, virtual_address, raw_size, pointer) in zip(
                range(count), rows, strict=False
            )
        )
        if any(s.size_of_raw_data and s.raw_end > size for s in sections):
            continue  # truncated section data: the reference parser says which
        results[i] = _with_sections(layout, sections, count)


def _with_sections(layout: PeLayout, sections: tuple[Section, ...], count: int) -> PeLayout:
    problem = page_hash_problem(
        layout.file_size, layout.size_of_headers, layout.cert_entry_offset or 0, sections, count
    )
    return PeLayout(
        file_size=layout.file_size,
        pe_format=layout.pe_format,
        machine=layout.machine,
        e_lfanew=layout.e_lfanew,
        size_of_headers=layout.size_of_headers,
        section_alignment=layout.section_alignment,
        file_alignment=layout.file_alignment,
        checksum_offset=layout.checksum_offset,
        cert_entry_offset=layout.cert_entry_offset,
        cert_table_offset=layout.cert_table_offset,
        cert_table_size=layout.cert_table_size,
        sections=sections,
        page_hash_problem=problem,
        resource_rva=layout.resource_rva,
        resource_size=layout.resource_size,
    )


def _reference(view: memoryview, size: int) -> Parsed:
    try:
        return parse_pe_layout(view, size)
    except CatalogInputError as exc:
        return exc

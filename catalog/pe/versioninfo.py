"""Version-resource strings (OriginalFilename, FileVersion, ...) read straight from a PE's bytes.

Zero-copy: the resource directory (PE/COFF "The .rsrc Section") and the VS_VERSIONINFO block
(VS_VERSIONINFO, StringFileInfo, StringTable, String: each ``Length, ValueLength, Type`` then a
NUL-terminated UTF-16 key, DWORD-aligned children) are walked with ``struct.unpack_from`` over the
bytes the hasher already read. No pefile on the hot path: pefile parses every resource of the file
and costs about a millisecond per PE. pefile stays the reference (``catalog.pe.metadata``): the
tests require both to agree on every fixture and on real PEs, so the walk below follows pefile's
reading (only the first name under RT_VERSION, every language under it; first table wins for a key,
the last duplicate inside one table; a value is at most ``ValueLength`` UTF-16 units).

Best effort: malformed resources give a note, never an exception.
"""

from __future__ import annotations

import mmap
import struct

from catalog.pe.layout import BytesLike, PeLayout, Section
from catalog.records import PeMetadata

KEYS: dict[str, str] = {
    "OriginalFilename": "original_filename",
    "InternalName": "internal_name",
    "FileDescription": "file_description",
    "ProductName": "product_name",
    "CompanyName": "company_name",
    "FileVersion": "file_version",
    "ProductVersion": "product_version",
}
RT_VERSION = 16
_MAX_ENTRIES = 4096
"""Entries per resource directory beyond which the directory is taken as corrupt (as pefile)."""
_MAX_STRING_UNITS = 1 << 16
_HEADER = struct.Struct("<HHH")
_DIRECTORY = struct.Struct("<12xHH")
_ENTRY = struct.Struct("<II")
_DATA_ENTRY = struct.Struct("<II")
_FIXED_FILE_INFO_SIZE = 52


class _MalformedError(Exception):
    """A structure the walk cannot read; becomes a note."""


class _Image:
    """RVA -> bytes over the file content, the way the loader maps sections (headers otherwise)."""

    __slots__ = ("buffer", "data", "last", "sections", "size")

    def __init__(
        self, buffer: bytes | bytearray | mmap.mmap, sections: tuple[Section, ...]
    ) -> None:
        self.buffer = buffer
        self.data = memoryview(buffer)
        self.size = len(buffer)
        self.sections = sections
        self.last: Section | None = None

    def _section(self, rva: int) -> Section | None:
        last = self.last
        if last is not None and self._contains(last, rva):
            return last
        for s in self.sections:
            if self._contains(s, rva):
                self.last = s
                return s
        return None

    @staticmethod
    def _contains(s: Section, rva: int) -> bool:
        extent = max(s.virtual_size, s.size_of_raw_data)
        return s.virtual_address <= rva < s.virtual_address + extent

    def offset(self, rva: int) -> int:
        s = self._section(rva)
        if s is None:
            if rva < self.size:
                return rva
            raise _MalformedError(f"RVA {rva:#x} is outside every section and the file")
        return rva - s.virtual_address + s.pointer_to_raw_data

    def read(self, rva: int, length: int) -> memoryview:
        """Up to ``length`` bytes at ``rva``, cut at the end of the section's raw data."""
        s = self._section(rva)
        if s is None:
            if rva < self.size:
                return self.data[rva : rva + length]
            raise _MalformedError(f"RVA {rva:#x} is outside every section and the file")
        start = rva - s.virtual_address + s.pointer_to_raw_data
        end = min(start + length, s.pointer_to_raw_data + s.size_of_raw_data)
        return self.data[start:end] if end > start else self.data[0:0]

    def span(self, rva: int, length: int) -> tuple[int, int]:
        """File offsets ``[start, end)`` of up to ``length`` bytes at ``rva`` (cut as ``read``)."""
        s = self._section(rva)
        if s is None:
            if rva < self.size:
                return rva, min(rva + length, self.size)
            raise _MalformedError(f"RVA {rva:#x} is outside every section and the file")
        start = rva - s.virtual_address + s.pointer_to_raw_data
        end = min(start + length, s.pointer_to_raw_data + s.size_of_raw_data, self.size)
        return start, max(start, end)

    def unicode(self, rva: int, max_units: int = _MAX_STRING_UNITS) -> str:
        """A NUL-terminated UTF-16LE string of at most ``max_units`` code units."""
        if max_units == 0:
            return ""
        start, end = self.span(rva, 2 * max_units)
        find = self.buffer.find
        stop = find(b"\0\0", start, end)
        while stop >= 0 and (stop - start) % 2:
            stop = find(b"\0\0", stop + 1, end)
        if stop < 0:
            stop = start + ((end - start) & ~1)
        return _decode(bytes(self.buffer[start:stop]))


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-16-le")
    except UnicodeDecodeError:
        text = None
    if text is not None and len(text) * 2 == len(raw):
        return text  # no surrogate pairs: the same as reading unit by unit
    # One character per UTF-16 unit (surrogate pairs are not combined), as pefile reads them.
    units = "".join(map(chr, struct.unpack(f"<{len(raw) // 2}H", raw)))
    return units.encode("utf-8", "backslashreplace").decode("utf-8", "replace")


def _align(offset: int, base: int) -> int:
    """DWORD-align ``offset`` relative to the block's RVA ``base`` (as the resource compiler)."""
    return ((offset + base + 3) & 0xFFFFFFFC) - (base & 0xFFFFFFFC)


def read_version_strings(data: BytesLike, layout: PeLayout) -> tuple[PeMetadata | None, str | None]:
    """``(metadata, None)``; ``(None, None)`` without a version resource; ``(None, why)``."""
    if layout.resource_rva == 0:
        return None, None
    buffer = data if isinstance(data, bytes | bytearray | mmap.mmap) else bytes(data)
    image = _Image(buffer, layout.sections)
    try:
        blocks = _version_blocks(image, layout.resource_rva)
        binary = _fixed_version(image, blocks)
        found: dict[str, str] = {}
        for rva, size in blocks:
            for table in _string_tables(image, rva, size):
                for key, value in table.items():
                    if key in KEYS and key not in found:
                        found[key] = value
    except (_MalformedError, struct.error, ValueError) as exc:
        return None, f"version resource unreadable: {exc}"
    if not found and binary is None:
        return None, None
    fields = {field: found.get(key) for key, field in KEYS.items()}
    return PeMetadata(**fields, binary_file_version=binary), None


def _fixed_version(image: _Image, blocks: list[tuple[int, int]]) -> str | None:
    """VS_FIXEDFILEINFO.dwFileVersionMS/LS of the first VS_VERSION_INFO block, as ``a.b.c.d``
    (what WDAC compares with MinimumFileVersion / MaximumFileVersion)."""
    for rva, size in blocks[:1]:
        start = image.offset(rva)
        raw = image.data[start : start + size]
        fixed = _align(_HEADER.size + 2 * 16, rva)
        if fixed + _FIXED_FILE_INFO_SIZE > len(raw):
            return None
        signature, _struct_version, ms, ls = struct.unpack_from("<IIII", raw, fixed)
        if signature == 0xFEEF04BD:
            return f"{ms >> 16}.{ms & 0xFFFF}.{ls >> 16}.{ls & 0xFFFF}"
    return None


def _directory(image: _Image, rva: int) -> list[tuple[int, int]]:
    """``(name, offset)`` of every entry of the resource directory at ``rva``."""
    raw = image.read(rva, _DIRECTORY.size)
    if len(raw) < _DIRECTORY.size:
        raise _MalformedError(f"resource directory at RVA {rva:#x} is truncated")
    named, ids = _DIRECTORY.unpack_from(raw)
    count = named + ids
    if count > _MAX_ENTRIES:
        raise _MalformedError(f"resource directory at RVA {rva:#x} claims {count} entries")
    table = image.read(rva + _DIRECTORY.size, count * _ENTRY.size)
    whole = len(table) // _ENTRY.size
    return [_ENTRY.unpack_from(table, i * _ENTRY.size) for i in range(whole)]


def _version_blocks(image: _Image, root: int) -> list[tuple[int, int]]:
    """``(rva, size)`` of each VS_VERSIONINFO: every language of the first RT_VERSION name."""
    for name, offset in _directory(image, root):
        if name & 0x80000000 or name & 0xFFFF != RT_VERSION:
            continue
        if not offset & 0x80000000:
            return []
        names = _directory(image, root + (offset & 0x7FFFFFFF))
        if not names or not names[0][1] & 0x80000000:
            return []
        blocks: list[tuple[int, int]] = []
        for _lang, leaf in _directory(image, root + (names[0][1] & 0x7FFFFFFF)):
            if leaf & 0x80000000:
                continue
            raw = image.read(root + leaf, _DATA_ENTRY.size)
            if len(raw) < _DATA_ENTRY.size:
                continue
            blocks.append(_DATA_ENTRY.unpack_from(raw))
        return blocks
    return []


def _header(raw: memoryview, offset: int) -> tuple[int, int, int] | None:
    if offset < 0 or offset + _HEADER.size > len(raw):
        return None
    length, value_length, kind = _HEADER.unpack_from(raw, offset)
    return length, value_length, kind


def _string_tables(image: _Image, base: int, size: int) -> list[dict[str, str]]:
    """The String entries of each StringTable of one VS_VERSIONINFO block, in file order."""
    start = image.offset(base)
    raw = image.data[start : start + size]
    top = _header(raw, 0)
    if top is None:
        return []
    if image.unicode(base + _HEADER.size, (len(image.data) - start) // 2) != "VS_VERSION_INFO":
        return []
    fixed = _align(_HEADER.size + 2 * 16, base)
    if fixed + _FIXED_FILE_INFO_SIZE > len(raw):
        return []
    offset = _align(fixed + _FIXED_FILE_INFO_SIZE, base)
    tables: list[dict[str, str]] = []
    while True:
        block = _header(raw, offset)
        if block is None:
            return []  # pefile drops the whole resource when a child header is cut off
        length, value_length, kind = block
        key = image.unicode(base + offset + _HEADER.size)
        if key.startswith("StringFileInfo") and kind in (0, 1) and value_length == 0:
            tables.extend(_tables(image, raw, base, offset, length, key))
        offset = _align(length + offset, base)
        if length == 0 or offset >= top[0]:
            return tables


def _tables(
    image: _Image, raw: memoryview, base: int, info_offset: int, info_length: int, info_key: str
) -> list[dict[str, str]]:
    tables: list[dict[str, str]] = []
    offset = _align(info_offset + _HEADER.size + 2 * (len(info_key) + 1), base)
    while True:
        table = _header(raw, offset)
        if table is None:
            return tables
        table_length = table[0]
        language = image.unicode(base + offset + _HEADER.size)
        entries: dict[str, str] = {}
        tables.append(entries)
        entry = _align(offset + _HEADER.size + 2 * (len(language) + 1), base)
        while entry < offset + table_length:
            string = _header(raw, entry)
            if string is None:
                break
            length, value_length, _kind = string
            key = image.unicode(base + entry + _HEADER.size)
            if key in KEYS:  # other values are never used: not decoded
                value_at = _align(2 * (len(key) + 1) + entry + _HEADER.size, base)
                entries[key] = image.unicode(base + value_at, value_length)
            entry = offset + table_length if length == 0 else _align(length + entry, base)
        following = _align(table_length + offset, base)
        if following == offset:
            return tables
        offset = following
        if offset >= info_length:
            return tables

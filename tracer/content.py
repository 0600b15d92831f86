"""Catalogable-file decision by content and extension, on bytes handed in (tracer.md 6).

Pure: callers read the first bytes (``HEAD_PROBE``, then ``needed_head_length``) and hand them
over; nothing here opens files and nothing imports the catalog package (the full PE parse belongs
to the hasher). A file is a PE when its DOS header's ``e_lfanew`` points at ``PE\\0\\0``.
"""

from __future__ import annotations

import struct

from tracer.records import ContentKind

DEFAULT_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".ps1",
        ".psm1",
        ".psd1",
        ".ps1xml",
        ".psc1",
        ".cdxml",
        ".js",
        ".vbs",
        ".wsf",
        ".msi",
        ".msp",
        ".mst",
        ".appx",
        ".msix",
    }
)
"""Non-PE types App Control checks (scripts under Constrained Language, MSI/MSP/MST, packages)."""

_MAX_LFANEW = 1 << 24
# Wine writes its own PEs into a prefix with one of two ASCII markers at 0x40 (wine.md 4.3): full
# builtin copies, and placeholder ("fake") DLLs for modules whose builtin is not installed, e.g.
# windows/twain_64/sane.ds without libsane. Neither is installer content.
_WINE_MARKERS = (b"Wine builtin DLL", b"Wine placeholder DLL")
HEAD_PROBE = 64
"""Bytes to read first; ``needed_head_length`` then says how many the PE check needs."""


def needed_head_length(first: bytes) -> int:
    """How many leading bytes ``classify_head`` needs, given at least the first 64 of a file."""
    if len(first) < HEAD_PROBE or first[:2] != b"MZ":
        return len(first)
    lfanew: int = struct.unpack_from("<I", first, 0x3C)[0]
    if lfanew > _MAX_LFANEW:
        return HEAD_PROBE
    return max(HEAD_PROBE, lfanew + 4)


def classify_head(head: bytes) -> ContentKind:
    """``PE`` when the DOS stub's ``e_lfanew`` points at ``PE\\0\\0`` (Wine's PEs apart)."""
    if head[:4] == b"\x7fELF":
        return ContentKind.ELF
    if len(head) < HEAD_PROBE or head[:2] != b"MZ":
        return ContentKind.OTHER
    (lfanew,) = struct.unpack_from("<I", head, 0x3C)
    if lfanew < 4 or lfanew + 4 > len(head) or head[lfanew : lfanew + 4] != b"PE\0\0":
        return ContentKind.OTHER
    if any(head[0x40 : 0x40 + len(m)] == m for m in _WINE_MARKERS):
        return ContentKind.WINE_BUILTIN
    return ContentKind.PE


def worth_hashing_at_close(
    path: str, content: ContentKind, extensions: frozenset[str] = DEFAULT_EXTENSIONS
) -> bool:
    """Hash while the handle is open: anything that can run (PE, ELF) or is catalogable."""
    return content in (ContentKind.PE, ContentKind.ELF) or extension_catalogable(path, extensions)


def extension_catalogable(path: str, extensions: frozenset[str] = DEFAULT_EXTENSIONS) -> bool:
    # Last dot of the last component; rpartition is cheaper than splitext on hot paths.
    name = path.replace("\\", "/").rpartition("/")[2]
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in extensions

"""Version-resource strings of a PE (OriginalFilename, FileVersion, ...), read with pefile.

The only module that imports pefile; it is used for metadata only, never on the hash hot path
(a full pefile parse runs at about 12 MB/s). Only the headers and the resource directory are
parsed. Metadata is best effort: a file whose resources do not parse gets a note, not an error.
"""

from __future__ import annotations

import mmap
import warnings

import pefile

from catalog.pe.versioninfo import KEYS
from catalog.records import PeMetadata

_RESOURCE_DIRECTORY = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]


def read_metadata(data: bytes | bytearray | mmap.mmap) -> tuple[PeMetadata | None, str | None]:
    """``(metadata, None)``; ``(None, None)`` without a version resource; ``(None, why)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # No pe.close(): with data= pefile holds no file or mapping, and close() runs a full
            # gc.collect() (about 27 ms a file, with the GIL held).
            pe = pefile.PE(data=data, fast_load=True)
            pe.parse_data_directories(directories=[_RESOURCE_DIRECTORY])
            strings = _string_table(pe)
            binary = _fixed_version(pe)
    # pefile raises many exception types on malformed input (PEFormatError, struct.error,
    # IndexError, ...); metadata is optional, so any of them becomes a note for this file.
    except Exception as exc:  # noqa: BLE001
        return None, f"version resource unreadable: {type(exc).__name__}: {exc}"
    if not strings and binary is None:
        return None, None
    fields = {field: strings.get(key) for key, field in KEYS.items()}
    return PeMetadata(**fields, binary_file_version=binary), None


def _fixed_version(pe: pefile.PE) -> str | None:
    """VS_FIXEDFILEINFO.dwFileVersionMS/LS as ``a.b.c.d`` (None without a version resource)."""
    for info in getattr(pe, "VS_FIXEDFILEINFO", None) or []:
        ms, ls = int(info.FileVersionMS), int(info.FileVersionLS)
        return f"{ms >> 16}.{ms & 0xFFFF}.{ls >> 16}.{ls & 0xFFFF}"
    return None


def _string_table(pe: pefile.PE) -> dict[str, str]:
    found: dict[str, str] = {}
    for file_info in getattr(pe, "FileInfo", None) or []:
        for entry in file_info:
            for table in getattr(entry, "StringTable", None) or []:
                for raw_key, raw_value in table.entries.items():
                    key = _text(raw_key)
                    if key in KEYS and key not in found:
                        found[key] = _text(raw_value).rstrip("\0")
    return found


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

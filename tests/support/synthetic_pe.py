"""Builds minimal PE images in memory for unit tests of layout edge cases.

The images are not runnable; they have exactly the header fields the hasher reads, so a test can
set one field to an absurd value and know what else is in the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass
class SyntheticPe:
    pe32_plus: bool = True
    e_lfanew: int = 0x80
    size_of_headers: int = 0x400
    number_of_rva_and_sizes: int = 16
    size_of_optional_header: int | None = None
    # (name, pointer_to_raw_data, size_of_raw_data); raw data is filled with a byte pattern
    sections: list[tuple[bytes, int, int]] = field(
        default_factory=lambda: [(b".text", 0x400, 0x1200), (b".data", 0x1600, 0x200)]
    )
    number_of_sections: int | None = None
    cert: tuple[int, int] = (0, 0)
    overlay: bytes = b""
    magic: int | None = None

    def build(self) -> bytearray:
        opt_size = self.size_of_optional_header
        fixed = 112 if self.pe32_plus else 96
        if opt_size is None:
            opt_size = fixed + 8 * self.number_of_rva_and_sizes
        end_of_sections = max((p + s for _, p, s in self.sections), default=0)
        size = max(self.size_of_headers, end_of_sections)
        data = bytearray(size)
        for _, pointer, raw in self.sections:
            for i in range(pointer, pointer + raw):
                data[i] = (i * 7 + 3) & 0xFF
        data[0:2] = b"MZ"
        struct.pack_into("<I", data, 0x3C, self.e_lfanew)
        e = self.e_lfanew
        data[e : e + 4] = b"PE\0\0"
        count = len(self.sections) if self.number_of_sections is None else self.number_of_sections
        struct.pack_into("<HH", data, e + 4, 0x8664 if self.pe32_plus else 0x14C, count)
        struct.pack_into("<H", data, e + 20, opt_size)
        oh = e + 24
        magic = self.magic if self.magic is not None else (0x20B if self.pe32_plus else 0x10B)
        struct.pack_into("<H", data, oh, magic)
        struct.pack_into("<II", data, oh + 32, 0x1000, 0x200)
        struct.pack_into("<I", data, oh + 60, self.size_of_headers)
        struct.pack_into("<I", data, oh + 64, 0xDEADBEEF)  # CheckSum: excluded from hashes
        struct.pack_into("<I", data, oh + fixed - 4, self.number_of_rva_and_sizes)
        if self.number_of_rva_and_sizes > 4:
            struct.pack_into("<II", data, oh + fixed + 32, *self.cert)
        table = oh + opt_size
        for i, (name, pointer, raw) in enumerate(self.sections):
            struct.pack_into("<8s8xII", data, table + 40 * i, name, raw, pointer)
        data += self.overlay
        return data

    def checksum_offset(self) -> int:
        return self.e_lfanew + 24 + 64

    def cert_entry_offset(self) -> int:
        return self.e_lfanew + 24 + (112 if self.pe32_plus else 96) + 32

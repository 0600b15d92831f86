"""Helpers for the catalog hasher_properties tests that more than one lane uses."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.conftest import FIXTURES

PE_DIR = FIXTURES / "pe"
BASE_NAMES = (
    "hello64.exe",
    "hello32.exe",
    "version64.dll",
    "hello64-signed-sha256.exe",
    "hello32-signed-sha1.exe",
)
BASES = {name: (PE_DIR / name).read_bytes() for name in BASE_NAMES}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    offset: int
    width: int


def header_fields(data: bytes) -> tuple[Field, ...]:
    """The fields that steer hashing, at their offsets in an unmutated fixture (formats.md 1.1)."""
    (e,) = struct.unpack_from("<I", data, 0x3C)
    oh = e + 24
    (nsections,) = struct.unpack_from("<H", data, e + 6)
    (size_of_opt,) = struct.unpack_from("<H", data, e + 20)
    (magic,) = struct.unpack_from("<H", data, oh)
    pe32 = magic == 0x10B
    cert = oh + (128 if pe32 else 144)
    fields = [
        Field("e_lfanew", 0x3C, 4),
        Field("NumberOfSections", e + 6, 2),
        Field("SizeOfOptionalHeader", e + 20, 2),
        Field("Magic", oh, 2),
        Field("SizeOfHeaders", oh + 60, 4),
        Field("NumberOfRvaAndSizes", oh + (92 if pe32 else 108), 4),
        Field("CertTable.offset", cert, 4),
        Field("CertTable.size", cert + 4, 4),
    ]
    table = oh + size_of_opt
    for i in range(nsections):
        fields.append(Field(f"section{i}.SizeOfRawData", table + 40 * i + 16, 4))
        fields.append(Field(f"section{i}.PointerToRawData", table + 40 * i + 20, 4))
    return tuple(fields)


FIELDS = {name: header_fields(data) for name, data in BASES.items()}


@st.composite
def field_value(draw: st.DrawFn, width: int, size: int) -> int:
    top = (1 << (8 * width)) - 1
    special = [0, 1, 2, 4, 5, 8, 0x10, 0x40, 0x200, 0x400, 0x1000, 0x1001, size - 8, size - 1]
    special += [size, size + 1, size + 8, top - 1, top]
    value = draw(st.one_of(st.sampled_from(special), st.integers(0, top)))
    return max(0, min(value, top))


class Case:
    """A mutated fixture; its repr names the edits, not the (large) bytes."""

    __slots__ = ("base", "data", "edits")

    def __init__(self, base: str, edits: tuple[str, ...], data: bytes) -> None:
        self.base = base
        self.edits = edits
        self.data = data

    def __repr__(self) -> str:
        return f"Case({self.base!r}, {self.edits!r}, <{len(self.data)} bytes>)"


@st.composite
def mutated(draw: st.DrawFn) -> Case:
    name = draw(st.sampled_from(BASE_NAMES))
    data = bytearray(BASES[name])
    edits: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("flip", "truncate", "append", "field", "field", "field")))
        if op == "flip" and data:
            offset = draw(st.integers(0, min(len(data), 0x600) - 1))
            mask = draw(st.integers(1, 255))
            data[offset] ^= mask
            edits.append(f"xor {mask:#04x} at {offset:#x}")
        elif op == "truncate":
            # Mostly near the end (inside the last section or the signature), sometimes anywhere.
            tail = st.integers(max(0, len(data) - 0x3000), len(data))
            cut = draw(st.one_of(tail, tail, st.integers(0, len(data))))
            del data[cut:]
            edits.append(f"truncate at {cut:#x}")
        elif op == "append":  # data after a signature, or an odd-sized overlay
            extra = draw(st.binary(min_size=1, max_size=64))
            data += extra
            edits.append(f"append {len(extra)} bytes")
        elif op == "field":
            target = draw(st.sampled_from(FIELDS[name]))
            value = draw(field_value(target.width, len(data)))
            if target.offset + target.width <= len(data):
                end = target.offset + target.width
                data[target.offset : end] = value.to_bytes(target.width, "little")
                edits.append(f"{target.name} = {value:#x}")
    return Case(name, tuple(edits), bytes(data))

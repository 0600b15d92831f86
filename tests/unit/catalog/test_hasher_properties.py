"""Property tests: the hasher on mutated fixture PEs (formats.md 1.1, 1.2 A, 1.4, 2.2).

Hypothesis flips header bytes, truncates, appends, and writes chosen or random values into the
fields that steer hashing (e_lfanew, NumberOfSections, SizeOfOptionalHeader, Magic, SizeOfHeaders,
NumberOfRvaAndSizes, the certificate entry, sections' PointerToRawData/SizeOfRawData). Whatever
comes out, ``hash_buffer`` must return (or raise a ``CatalogError``, nothing else), quickly; flat
hashes must equal hashlib over the bytes; and whenever it calls the result a conformant PE, the
image hash must be the contiguous formula of formats.md 1.2 A computed here from the raw bytes
(never over the CheckSum or the certificate entry), and the header page must be formats.md 2.2
step 1. The offsets are read here with ``struct``, not taken from the code under test.
A second property compares every mutant the hasher accepts as a PE with osslsigncode's digest.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from catalog.errors import CatalogError
from catalog.pe.hashing import HashOptions, hash_buffer
from catalog.pe.layout import parse_pe_layout
from catalog.records import FileDigests, FileKind, HashAlgorithm
from tests.conftest import FIXTURES, require_tool

PE_DIR = FIXTURES / "pe"
BASE_NAMES = (
    "hello64.exe",
    "hello32.exe",
    "version64.dll",
    "hello64-signed-sha256.exe",
    "hello32-signed-sha1.exe",
)
BASES = {name: (PE_DIR / name).read_bytes() for name in BASE_NAMES}
PAGE = 4096
TIME_LIMIT_S = 2.0
"""Generous per-file bound; a hang or quadratic blow-up on hostile headers exceeds it by far."""


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


def contiguous_ranges(data: bytes) -> tuple[tuple[tuple[int, int], ...], int, int, int]:
    """formats.md 1.2 A from the raw bytes: (ranges, padding, checksum offset, cert entry offset).

    Only meaningful for files the hasher accepted as conformant (the certificate table, if any,
    ends exactly at EOF).
    """
    (e,) = struct.unpack_from("<I", data, 0x3C)
    oh = e + 24
    (magic,) = struct.unpack_from("<H", data, oh)
    checksum = oh + 64
    cert_entry = oh + (128 if magic == 0x10B else 144)
    cert_offset, cert_size = struct.unpack_from("<II", data, cert_entry)
    signed = cert_size != 0
    end = cert_offset if signed else len(data)
    pieces = ((0, checksum), (checksum + 4, cert_entry), (cert_entry + 8, end))
    ranges = tuple((a, min(b, end)) for a, b in pieces if a < min(b, end))
    padding = 0 if signed else -len(data) % 8
    return ranges, padding, checksum, cert_entry


def check_conformance(data: bytes) -> None:
    """What a file the hasher calls conformant must satisfy (formats.md 1.4 recommendations)."""
    (e,) = struct.unpack_from("<I", data, 0x3C)
    oh = e + 24
    (nsections,) = struct.unpack_from("<H", data, e + 6)
    (size_of_opt,) = struct.unpack_from("<H", data, e + 20)
    (magic,) = struct.unpack_from("<H", data, oh)
    assert magic in (0x10B, 0x20B)
    (rva_count,) = struct.unpack_from("<I", data, oh + (92 if magic == 0x10B else 108))
    assert rva_count >= 5, "no certificate entry"
    (size_of_headers,) = struct.unpack_from("<I", data, oh + 60)
    assert size_of_headers <= len(data), "SizeOfHeaders beyond EOF"
    table = oh + size_of_opt
    assert table + 40 * nsections <= len(data), "section table beyond EOF"
    for i in range(nsections):
        raw_size, pointer = struct.unpack_from("<II", data, table + 40 * i + 16)
        assert raw_size == 0 or pointer + raw_size <= len(data), f"section {i} beyond EOF"
    cert_offset, cert_size = struct.unpack_from("<II", data, oh + (128 if magic == 0x10B else 144))
    if cert_offset or cert_size:
        assert cert_size >= 8
        assert cert_offset + cert_size == len(data), "certificate table not at the end"


def check_pe(data: bytes, result: FileDigests) -> None:
    check_conformance(data)
    ranges, padding, checksum, cert_entry = contiguous_ranges(data)
    layout = parse_pe_layout(data, len(data))
    assert layout.checksum_offset == checksum
    assert layout.cert_entry_offset == cert_entry
    declared = layout.image_ranges()
    for start, end in declared:
        assert 0 <= start < end <= len(data)
        assert end <= checksum or start >= checksum + 4, "CheckSum bytes are hashed"
        assert end <= cert_entry or start >= cert_entry + 8, "certificate entry bytes are hashed"
    assert declared == ranges
    for alg in HashAlgorithm:
        h = hashlib.new(alg.value)
        for start, end in ranges:
            h.update(data[start:end])
        h.update(bytes(padding))
        assert result.authenticode(alg) == h.digest(), alg.value
        table = result.page_table(alg)
        if table is not None:
            (size_of_headers,) = struct.unpack_from("<I", data, layout.e_lfanew + 24 + 60)
            assert cert_entry + 8 <= size_of_headers <= PAGE
            page = (
                data[:checksum]
                + data[checksum + 4 : cert_entry]
                + data[cert_entry + 8 : size_of_headers]
            )
            expected = hashlib.new(alg.value, page + bytes(PAGE - size_of_headers)).digest()
            assert table.entries[0] == (0, expected)
            assert table.entries[-1][1] == bytes(alg.digest_size)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_mutated_pes_hash_safely(case: Case) -> None:
    data = case.data
    started = time.perf_counter()
    try:
        result = hash_buffer(data, "<mutated>", HashOptions())
    except CatalogError as exc:
        event(f"raised {type(exc).__name__}")
        return
    event(result.kind.value)
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT_S, f"hashing {len(data)} bytes took {elapsed:.2f} s"
    assert result.size == len(data)
    assert result.flat_sha1 == hashlib.sha1(data).digest()
    assert result.flat_sha256 == hashlib.sha256(data).digest()
    if result.kind is FileKind.PE:
        check_pe(data, result)
    else:
        assert result.reason
        assert result.authenticode_sha1 is None
        assert result.authenticode_sha256 is None


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=512))
def test_arbitrary_small_inputs(data: bytes) -> None:
    """Random bytes (often with an MZ prefix forced) never crash the hasher."""
    for candidate in (data, b"MZ" + data):
        try:
            result = hash_buffer(candidate, "<random>", HashOptions())
        except CatalogError:
            continue
        assert result.flat_sha256 == hashlib.sha256(candidate).digest()


@pytest.mark.integration
def test_mutants_accepted_as_pe_hash_like_osslsigncode() -> None:
    """Differential oracle: osslsigncode 2.9 on each mutant the hasher calls a conformant PE."""
    exe = require_tool("osslsigncode")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)

        @settings(
            max_examples=300,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(mutated())
        def check(case: Case) -> None:
            try:
                result = hash_buffer(case.data, "<mutated>", HashOptions(metadata=False))
            except CatalogError:
                return
            if result.kind is not FileKind.PE:
                return
            path, out = tmp / "mutant.exe", tmp / "mutant.der"
            path.write_bytes(case.data)
            for alg in HashAlgorithm:
                out.unlink(missing_ok=True)
                proc = subprocess.run(
                    [exe, "extract-data", "-h", alg.value, "-in", str(path), "-out", str(out)],
                    capture_output=True,
                    check=False,
                )
                if proc.returncode != 0:
                    event("osslsigncode refused")
                    return
                digest = result.authenticode(alg)
                assert digest is not None
                # extract-data ends with the DigestInfo digest, then an empty SignerInfos SET.
                tail = bytes([0x04, alg.digest_size]) + digest + b"\x31\x00"
                assert out.read_bytes().endswith(tail), f"{alg.value} differs from osslsigncode"
            event("agrees with osslsigncode")

        check()

"""Property tests: the hasher on mutated fixture PEs (formats.md 1.1, 1.2 A, 1.4, 2.2).

Hypothesis flips header bytes, truncates, appends, and writes chosen or random values into the
fields that steer hashing (e_lfanew, NumberOfSections, SizeOfOptionalHeader, Magic, SizeOfHeaders,
NumberOfRvaAndSizes, the certificate entry, sections' PointerToRawData/SizeOfRawData). Whatever
comes out, ``hash_buffer`` must return (or raise a ``CatalogError``, nothing else), quickly; flat
hashes must equal hashlib over the bytes; and whenever it calls the result a conformant PE, the
image hash must be the contiguous formula of formats.md 1.2 A computed here from the raw bytes
(never over the CheckSum or the certificate entry), and the header page must be formats.md 2.2
step 1. The offsets are read here with ``struct``, not taken from the code under test.
The osslsigncode comparison of the same mutants is in tests/integration/catalog/.
"""

from __future__ import annotations

import hashlib
import struct
import time

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from catalog.errors import CatalogError
from catalog.pe.hashing import HashOptions, hash_buffer
from catalog.pe.layout import parse_pe_layout
from catalog.records import FileDigests, FileKind, HashAlgorithm
from tests.support.catalog_hasher_properties import Case, mutated

PAGE = 4096
TIME_LIMIT_S = 2.0


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

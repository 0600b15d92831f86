"""PE layout parsing: ranges, padding, pages and every non-conformance reason (formats.md 1-2)."""

from __future__ import annotations

import hashlib

import pytest

from catalog.pe.layout import (
    IncompleteHeadersError,
    NonConformantPeError,
    NotAPeError,
    parse_pe_layout,
)
from tests.support.synthetic_pe import SyntheticPe


def test_ranges_skip_exactly_checksum_and_cert_entry() -> None:
    pe = SyntheticPe()
    data = pe.build()
    layout = parse_pe_layout(data)
    cks, cert = pe.checksum_offset(), pe.cert_entry_offset()
    assert layout.image_ranges() == ((0, cks), (cks + 4, cert), (cert + 8, len(data)))
    assert layout.header_page_ranges() == ((0, cks), (cks + 4, cert), (cert + 8, 0x400))


@pytest.mark.parametrize(("extra", "padding"), [(0, 0), (1, 7), (6, 2), (8, 0)])
def test_unsigned_files_pad_to_eight_bytes(extra: int, padding: int) -> None:
    data = SyntheticPe(overlay=b"x" * extra).build()
    assert parse_pe_layout(data).image_padding == padding


def test_signed_file_stops_at_certificate_table_without_padding() -> None:
    body = SyntheticPe().build()
    table_offset = len(body)
    signed = SyntheticPe(cert=(table_offset, 13), overlay=b"\0" * 13).build()
    layout = parse_pe_layout(signed)
    assert layout.signed
    assert layout.image_end == table_offset
    assert layout.image_padding == 0
    assert layout.image_ranges()[-1][1] == table_offset


def test_pe32_offsets() -> None:
    pe = SyntheticPe(pe32_plus=False)
    layout = parse_pe_layout(pe.build())
    assert layout.pe_format == "PE32"
    assert layout.checksum_offset == pe.checksum_offset()
    assert layout.cert_entry_offset == pe.cert_entry_offset()


def test_page_runs_follow_section_table_order_and_terminate_at_last_section() -> None:
    pe = SyntheticPe(sections=[(b".b", 0x2000, 0x100), (b".a", 0x400, 0x1800), (b".z", 0, 0)])
    layout = parse_pe_layout(pe.build())
    assert layout.page_runs() == ((0x2000, 0x100), (0x400, 0x1800))
    assert layout.page_table_end() == 0x400 + 0x1800


def test_page_table_handles_out_of_order_and_overlapping_sections() -> None:
    """Pages are computed in file order but listed in section-table order, each zero-padded."""
    from catalog.pe.hashing import hash_buffer

    pe = SyntheticPe(sections=[(b".b", 0x1000, 0x1100), (b".a", 0x400, 0x1000)])
    data = bytes(pe.build())
    table = hash_buffer(data).page_table_sha256
    assert table is not None
    offsets = [offset for offset, _ in table.entries]
    assert offsets == [0, 0x1000, 0x2000, 0x400, 0x1400]
    expected = hashlib.sha256(data[0x2000:0x2100] + bytes(4096 - 0x100)).digest()
    assert table.entries[2][1] == expected
    assert table.entries[-1][1] == bytes(32)


def test_not_mz() -> None:
    with pytest.raises(NotAPeError, match="no MZ"):
        parse_pe_layout(b"#!/bin/sh\n")


def test_mz_without_pe_signature() -> None:
    data = SyntheticPe().build()
    data[0x80:0x84] = b"NE\0\0"
    with pytest.raises(NotAPeError, match="without a PE signature"):
        parse_pe_layout(data)


def test_e_lfanew_beyond_eof() -> None:
    data = SyntheticPe().build()
    data[0x3C:0x40] = (len(data) + 10).to_bytes(4, "little")
    with pytest.raises(NotAPeError, match="past the end"):
        parse_pe_layout(data)


@pytest.mark.parametrize(
    ("pe", "message"),
    [
        (SyntheticPe(magic=0x107), "unknown optional-header magic"),
        (SyntheticPe(number_of_rva_and_sizes=4), "NumberOfRvaAndSizes is 4"),
        (SyntheticPe(size_of_optional_header=40), "SizeOfOptionalHeader 40"),
        (SyntheticPe(number_of_sections=0xFFFF), "section table"),
        (SyntheticPe(cert=(0x1700, 0)), "half empty"),
        (SyntheticPe(cert=(0x1700, 4), overlay=bytes(4)), "smaller than a WIN_CERTIFICATE"),
        (SyntheticPe(cert=(0x200, 0x1600)), "overlaps the PE headers"),
        (SyntheticPe(cert=(0x1800, 0x100)), "runs past the end"),
        (SyntheticPe(cert=(0x1800, 8), overlay=bytes(0x300)), "not at the end of the file"),
    ],
)
def test_nonconformant_reasons(pe: SyntheticPe, message: str) -> None:
    with pytest.raises(NonConformantPeError, match=message):
        parse_pe_layout(pe.build())


def test_size_of_headers_beyond_eof() -> None:
    pe = SyntheticPe()
    data = pe.build()
    data[pe.e_lfanew + 24 + 60 : pe.e_lfanew + 24 + 64] = (len(data) + 1).to_bytes(4, "little")
    with pytest.raises(NonConformantPeError, match=r"SizeOfHeaders .* beyond the end"):
        parse_pe_layout(data)


def test_truncated_section_is_nonconformant() -> None:
    data = SyntheticPe().build()[:0x1000]
    with pytest.raises(NonConformantPeError, match=r"section 0 '.text' raw data .* truncated"):
        parse_pe_layout(data)


def test_over_four_gib_is_nonconformant() -> None:
    data = SyntheticPe().build()
    with pytest.raises(NonConformantPeError, match="over 4 GiB"):
        parse_pe_layout(data, file_size=5 << 30)


def test_prefix_too_short_asks_for_more() -> None:
    data = SyntheticPe().build()
    with pytest.raises(IncompleteHeadersError) as info:
        parse_pe_layout(data[:0x90], file_size=len(data))
    assert info.value.needed > 0x90


@pytest.mark.parametrize(
    ("pe", "problem"),
    [
        (SyntheticPe(size_of_headers=0x1400, sections=[(b".t", 0x1400, 0x200)]), "exceeds one"),
        (SyntheticPe(sections=[]), "no section has raw data"),
        (SyntheticPe(size_of_headers=0x100), "ends inside the optional header"),
    ],
)
def test_page_hash_problems_keep_the_image_hash(pe: SyntheticPe, problem: str) -> None:
    layout = parse_pe_layout(pe.build())
    assert layout.page_hash_problem is not None
    assert problem in layout.page_hash_problem

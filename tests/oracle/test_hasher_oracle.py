"""The hasher against Microsoft-made ground truth (../shared/oracle/README.md, formats.md 8)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from catalog.pe.hashing import hash_file
from catalog.pe.layout import parse_pe_layout
from catalog.pe.page_hashes import table_bytes
from catalog.records import FileKind, HashAlgorithm
from tests.conftest import require_tool

SHA1, SHA256 = HashAlgorithm.SHA1, HashAlgorithm.SHA256


def test_makecat_member_padded_authenticode(oracle_dir: Path) -> None:
    result = hash_file(oracle_dir / "makecat" / "unsigned.exe")
    assert result.kind is FileKind.PE
    assert result.pe_format == "PE32+"
    assert result.size == 96150
    assert result.size % 8 == 6
    assert result.authenticode_sha256 is not None
    assert result.authenticode_sha1 is not None
    assert result.authenticode_sha256.hex().upper() == (
        "2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4"
    )
    assert result.authenticode_sha1.hex().upper() == "802FC5BA67A9B06DEC18A0D5A380A8A5954B5EF0"


def test_makecat_member_unpadded_value_differs(oracle_dir: Path) -> None:
    """The ranges alone, without the 2 padding bytes, give the value LIEF/signify print."""
    import hashlib

    data = (oracle_dir / "makecat" / "unsigned.exe").read_bytes()
    layout = parse_pe_layout(data)
    assert layout.image_padding == 2
    h = hashlib.sha256()
    for start, end in layout.image_ranges():
        h.update(data[start:end])
    assert h.hexdigest().upper() == (
        "0566641B470753F20E0278BE1FDBF3170957B6DCA9CDC6DB7F241FE552B6138E"
    )


def test_makecat_member_page_table(oracle_dir: Path) -> None:
    table = hash_file(oracle_dir / "makecat" / "unsigned.exe").page_table_sha256
    assert table is not None
    assert len(table.entries) == 28
    assert table.entries[-1] == (0xFA00, bytes(32))
    assert table.first_page.hex().upper() == (
        "43CE7BFD7EEA479340D0EA3F8B5903D3F85BB18AE184A662372C64F8B5C65A85"
    )
    assert len(table_bytes(table)) == 28 * 36


def test_makecat_page_table_is_inside_makecats_catalog(oracle_dir: Path) -> None:
    """MakeCat stored the V2 table of unsigned.exe in unsigned.cat: ours must appear verbatim."""
    table = hash_file(oracle_dir / "makecat" / "unsigned.exe").page_table_sha256
    assert table is not None
    assert table_bytes(table) in (oracle_dir / "makecat" / "unsigned.cat").read_bytes()


@pytest.mark.parametrize("name", ["unsigned.mof", "unsigned.ps1", "unsigned.msi", "unsigned.js"])
def test_flat_members_match_coreutils(oracle_dir: Path, name: str) -> None:
    path = oracle_dir / "makecat" / name
    result = hash_file(path)
    assert result.kind is FileKind.FLAT
    assert result.authenticode_sha256 is None
    assert result.page_table_sha256 is None
    for tool, digest in (("sha1sum", result.flat_sha1), ("sha256sum", result.flat_sha256)):
        out = subprocess.run([require_tool(tool), str(path)], capture_output=True, check=True)
        assert digest is not None
        assert digest.hex() == out.stdout.split()[0].decode()


def test_flat_ids_are_the_ids_makecat_wrote(oracle_dir: Path) -> None:
    """v2 catalogs store raw digests as member ids: SHA256 and SHA1 compat for each flat file."""
    catalog = (oracle_dir / "makecat" / "unsigned.cat").read_bytes()
    for name in ("unsigned.mof", "unsigned.ps1", "unsigned.msi", "unsigned.js", "unsigned.psc1"):
        result = hash_file(oracle_dir / "makecat" / name)
        assert result.flat_sha256 is not None
        assert result.flat_sha1 is not None
        assert b"\x04\x20" + result.flat_sha256 in catalog, name
        assert b"\x04\x14" + result.flat_sha1 in catalog, name


def test_dxcore_digest_and_first_page(oracle_dir: Path) -> None:
    result = hash_file(oracle_dir / "microsoft" / "DXCore.dll")
    assert result.authenticode_sha256 is not None
    assert result.authenticode_sha256.hex().upper() == (
        "06FA542CA0A1626E11E99E79896C9EAA79B5CFC3F9AD0AC8B84D4B2E8C5A292C"
    )
    assert result.first_page_hash(SHA256) is not None
    assert result.first_page_hash(SHA256).hex().upper() == (  # type: ignore[union-attr]
        "99930B6D578798D60B78E1E75D751B2CC5F5E5DD2C9EEE23B93A5EF196FE97E0"
    )


def test_dxcore_is_a_member_of_microsofts_v2_catalog(oracle_dir: Path) -> None:
    result = hash_file(oracle_dir / "microsoft" / "DXCore.dll")
    cat = (
        oracle_dir
        / "microsoft"
        / ("115fe8649854ad531fb7ecd1318fbee6b33c9cbd78f02ed582092a96d5eb5899.cat")
    )
    assert result.authenticode_sha256 is not None
    assert b"\x04\x20" + result.authenticode_sha256 in cat.read_bytes()


def test_kernel32_pages_are_4096_not_section_alignment(oracle_dir: Path) -> None:
    path = oracle_dir / "microsoft" / "kernel32_sectionalign_64k.dll"
    result = hash_file(path)
    layout = parse_pe_layout(path.read_bytes())
    assert layout.section_alignment == 0x10000
    assert result.authenticode_sha256 is not None
    assert result.authenticode_sha256.hex().upper() == (
        "A7C52CF8CF527307EE0532AD566E569D6F8DA524625ECA61F3437CF53037C9C5"
    )
    table = result.page_table_sha256
    assert table is not None
    assert len(table.entries) == 156
    assert table.entries[-1][0] == 0x9B000


@pytest.mark.parametrize("name", ["DXCore.dll", "kernel32_sectionalign_64k.dll"])
def test_page_tables_equal_the_ones_microsoft_signed(oracle_dir: Path, name: str) -> None:
    """The table inside Microsoft's own signature is ground truth for every entry."""
    result = hash_file(oracle_dir / "microsoft" / name)
    assert result.signature is not None
    assert result.signature.page_hashes is not None
    embedded = result.signature.page_hashes
    ours = result.page_table(embedded.algorithm)
    assert ours is not None
    assert table_bytes(ours) == table_bytes(embedded)


@pytest.mark.parametrize(
    "name",
    [
        "DXCore.dll",
        "kernel32_sectionalign_64k.dll",
        "pciide.sys",
        "sigcheck.exe",
        "whois.exe",
        "7z1900-x64_signed.exe",
    ],
)
def test_image_hash_equals_digest_in_the_files_signature(oracle_dir: Path, name: str) -> None:
    result = hash_file(oracle_dir / "microsoft" / name)
    assert result.kind is FileKind.PE
    assert result.signed
    assert result.signature is not None
    alg = HashAlgorithm.parse(result.signature.digest_algorithm)
    assert result.authenticode(alg) == result.signature.digest
    assert result.signature_matches() is True


def test_edge_bad_nt_headers_is_nonconformant(oracle_dir: Path) -> None:
    result = hash_file(oracle_dir / "edge" / "BadNtHeaders.exe")
    assert result.kind is FileKind.PE_NONCONFORMANT
    assert result.reason is not None
    assert "SizeOfOptionalHeader" in result.reason
    assert result.authenticode_sha256 is None
    assert result.flat_sha256 is not None
    assert result.sip_digest(SHA256) == result.flat_sha256


def test_edge_two_page_headers_get_no_page_hashes(oracle_dir: Path) -> None:
    result = hash_file(oracle_dir / "edge" / "GLCKIO2_2pages.sys")
    assert result.kind is FileKind.PE
    assert result.page_table_sha256 is None
    assert result.page_table_sha1 is None
    assert result.page_hash_note is not None
    assert "0x1400" in result.page_hash_note

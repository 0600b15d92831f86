"""File-level behaviour of the hasher: bad input, large files, and batches that go on."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import catalog.pe.hashing as hashing
from catalog.errors import CatalogEnvironmentError, CatalogInputError
from catalog.pe.digests import CHUNK_SIZE
from catalog.pe.hashing import HashOptions, hash_buffer, hash_file, hash_paths
from catalog.records import FileDigests, FileFailure, FileKind, HashAlgorithm
from tests.support.synthetic_pe import SyntheticPe


def test_zero_length_file_is_flat(tmp_path: Path) -> None:
    empty = tmp_path / "empty.dll"
    empty.write_bytes(b"")
    result = hash_file(empty)
    assert result.kind is FileKind.FLAT
    assert result.flat_sha256 == hashlib.sha256(b"").digest()
    assert result.flat_sha1 == hashlib.sha1(b"").digest()


def test_directory_given_as_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogInputError, match="is a directory"):
        hash_file(tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogEnvironmentError, match="no such file"):
        hash_file(tmp_path / "gone.exe")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(CatalogInputError, match="not a regular file"):
        hash_file(fifo)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.exe"
    secret.write_bytes(b"MZ")
    secret.chmod(0)
    with pytest.raises(CatalogEnvironmentError, match="permission denied"):
        hash_file(secret)


def test_file_that_shrinks_while_read_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.exe"
    path.write_bytes(bytes(SyntheticPe().build()))
    real = hashing._hash_small

    def shrink_then_read(fd: int, name: str, size: int, opts: HashOptions) -> FileDigests:
        os.truncate(name, size // 2)
        return real(fd, name, size, opts)

    monkeypatch.setattr(hashing, "_hash_small", shrink_then_read)
    with pytest.raises(CatalogEnvironmentError, match="shrank while being read"):
        hash_file(path)


def test_file_that_changes_while_read_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.exe"
    path.write_bytes(bytes(SyntheticPe().build()))
    real = hashing._hash_small

    def read_then_grow(fd: int, name: str, size: int, opts: HashOptions) -> FileDigests:
        result = real(fd, name, size, opts)
        with open(name, "ab") as f:
            f.write(b"more")
        return result

    monkeypatch.setattr(hashing, "_hash_small", read_then_grow)
    with pytest.raises(CatalogEnvironmentError, match="changed while it was being hashed"):
        hash_file(path)


def test_large_sparse_pe_streams_with_bounded_memory(tmp_path: Path) -> None:
    """Over SMALL_FILE_LIMIT the file is read in chunks; results equal the in-memory path."""
    head = bytes(SyntheticPe().build())
    path = tmp_path / "big.exe"
    with path.open("wb") as f:
        f.write(head)
        f.truncate(hashing.SMALL_FILE_LIMIT + 3 * CHUNK_SIZE + 5)  # sparse overlay
    size = path.stat().st_size
    streamed = hash_file(path, HashOptions(metadata=False))
    expected_flat = hashlib.sha256()
    expected_flat.update(head)
    zeros = bytes(1 << 20)
    remaining = size - len(head)
    while remaining:
        n = min(remaining, len(zeros))
        expected_flat.update(zeros[:n])
        remaining -= n
    assert streamed.kind is FileKind.PE
    assert streamed.flat_sha256 == expected_flat.digest()
    in_memory = hash_buffer(path.read_bytes(), str(path), HashOptions(metadata=False))
    assert streamed == in_memory


def test_algorithm_selection(tmp_path: Path) -> None:
    path = tmp_path / "a.exe"
    path.write_bytes(bytes(SyntheticPe().build()))
    only_sha1 = hash_file(path, HashOptions(algorithms=frozenset({HashAlgorithm.SHA1})))
    assert only_sha1.authenticode_sha1 is not None
    assert only_sha1.authenticode_sha256 is None
    assert only_sha1.page_table_sha1 is not None
    assert only_sha1.page_table_sha256 is None
    assert only_sha1.flat_sha256 is None
    no_pages = hash_file(path, HashOptions(page_hashes=False))
    assert no_pages.page_table_sha256 is None
    assert no_pages.page_hash_note is None


def test_batch_goes_on_past_bad_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    good = tmp_path / "sub" / "good.exe"
    good.write_bytes(bytes(SyntheticPe().build()))
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    truncated = tmp_path / "truncated.exe"
    truncated.write_bytes(bytes(SyntheticPe().build())[:0x900])
    results = list(hash_paths([tmp_path, tmp_path / "missing.exe"], workers=2))
    by_name = {Path(r.path).name: r for r in results}
    assert set(by_name) == {"good.exe", "readme.txt", "truncated.exe", "missing.exe"}
    assert isinstance(by_name["good.exe"], FileDigests)
    assert by_name["good.exe"].kind is FileKind.PE
    assert isinstance(by_name["truncated.exe"], FileDigests)
    assert by_name["truncated.exe"].kind is FileKind.PE_NONCONFORMANT
    missing = by_name["missing.exe"]
    assert isinstance(missing, FileFailure)
    assert missing.category == "environment"
    # folder contents come back sorted, so output order is deterministic
    assert [Path(r.path).name for r in results][:3] == ["readme.txt", "good.exe", "truncated.exe"]


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    (tmp_path / "d" / "f.txt").write_text("x")
    (tmp_path / "link.txt").symlink_to(tmp_path / "d" / "f.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere")
    results = {Path(r.path).name: r for r in hash_paths([tmp_path])}
    assert set(results) == {"f.txt", "link.txt", "dangling.txt"}
    assert isinstance(results["link.txt"], FileDigests)
    assert isinstance(results["dangling.txt"], FileFailure)


def test_flat_can_be_skipped_for_conformant_pes_only(tmp_path: Path) -> None:
    pe = tmp_path / "a.exe"
    pe.write_bytes(bytes(SyntheticPe().build()))
    script = tmp_path / "a.ps1"
    script.write_text("Get-Date\n")
    no_flat = HashOptions(flat=False)
    assert hash_file(pe, no_flat).flat_sha256 is None
    assert hash_file(pe, no_flat).authenticode_sha256 is not None
    assert hash_file(script, no_flat).flat_sha256 == hashlib.sha256(b"Get-Date\n").digest()


def test_pe_over_the_size_limit_streams_to_flat_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files over 4 GiB are classified from their first chunk and hashed flat, in chunks.

    Writing 4 GiB in a unit test is too slow, so the limit is lowered to just below the file size.
    """
    import catalog.pe.layout as pe_layout

    head = bytes(SyntheticPe().build())
    path = tmp_path / "huge.exe"
    with path.open("wb") as f:
        f.write(head)
        f.truncate(hashing.SMALL_FILE_LIMIT + CHUNK_SIZE)
    monkeypatch.setattr(pe_layout, "MAX_PE_SIZE", hashing.SMALL_FILE_LIMIT)
    result = hash_file(path, HashOptions(metadata=False))
    assert result.kind is FileKind.PE_NONCONFORMANT
    assert result.reason is not None
    assert "over 4 GiB" in result.reason
    assert result.authenticode_sha256 is None
    assert result.flat_sha1 is not None
    assert len(result.flat_sha1) == 20


def test_streaming_path_handles_files_smaller_than_a_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the thresholds, the chunked reader never reads past a short file's end."""
    data = bytes(SyntheticPe().build())
    path = tmp_path / "small.exe"
    path.write_bytes(data)
    monkeypatch.setattr(hashing, "SMALL_FILE_LIMIT", 16)
    streamed = hash_file(path, HashOptions(metadata=False))
    assert streamed == hash_buffer(data, str(path), HashOptions(metadata=False))
    assert streamed.flat_sha256 == hashlib.sha256(data).digest()


def overlapping_sections_pe(count: int, section_size: int) -> bytes:
    """One section's raw data declared ``count`` times (issue: page-hash amplification)."""
    import struct

    pe = SyntheticPe(size_of_headers=0x1000, sections=[(b".text", 0x1000, section_size)])
    data = pe.build()
    e = pe.e_lfanew
    (opt_size,) = struct.unpack_from("<H", data, e + 20)
    table = e + 24 + opt_size
    assert table + 40 * count <= 0x1000
    struct.pack_into("<H", data, e + 6, count)
    for i in range(count):
        struct.pack_into("<8s8xII", data, table + 40 * i, b".o%d" % i, section_size, 0x1000)
    return bytes(data)


def test_overlapping_sections_do_not_amplify_page_hashing(tmp_path: Path) -> None:
    """90 sections over the same 256 KiB: 5,762 page digests on main; refused with a reason."""
    data = overlapping_sections_pe(90, 0x40000)
    path = tmp_path / "overlap.exe"
    path.write_bytes(data)
    result = hash_file(path)
    assert result.kind is FileKind.PE
    assert result.page_table_sha1 is None
    assert result.page_table_sha256 is None
    assert result.page_hash_sha256 is None
    assert result.page_hash_note is not None
    assert "over the cap" in result.page_hash_note
    assert result.flat_sha256 == hashlib.sha256(data).digest()
    assert result.authenticode_sha256 is not None


def test_a_few_overlapping_sections_still_get_page_hashes(tmp_path: Path) -> None:
    """Under the cap (twice the file's pages) overlapping sections are hashed as declared."""
    data = overlapping_sections_pe(2, 0x4000)
    path = tmp_path / "overlap2.exe"
    path.write_bytes(data)
    table = hash_file(path).page_table_sha256
    assert table is not None
    assert len(table.entries) == 2 + 2 * 4
    page = data[0x1000:0x2000]
    assert table.entries[1] == (0x1000, hashlib.sha256(page).digest())
    assert table.entries[5] == (0x1000, hashlib.sha256(page).digest())

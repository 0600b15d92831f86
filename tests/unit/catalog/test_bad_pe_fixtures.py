"""The hasher on deliberately broken PEs (fixtures/pe/bad/, formats.md 1.4 and 2.2).

Contract: every broken file gives a ``FileDigests`` with the right kind and a reason that names
the defect, or a specific ``CatalogError``; never any other exception. Flat hashes are always right
(oracle: ``sha1sum``/``sha256sum``), because non-conformant files fall back to them (formats.md 3).
Where the hasher still calls the file a conformant PE, its image hash must equal osslsigncode's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import CatalogEnvironmentError, CatalogInputError
from catalog.pe.hashing import HashOptions, hash_buffer, hash_file
from catalog.records import FileKind, HashAlgorithm
from fixtures.generate import BAD
from tests.support.catalog_bad_pe_fixtures import BAD_DIR, EXPECTED, NAMES


def test_every_bad_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in BAD_DIR.iterdir() if p.is_file()}
    assert on_disk == set(EXPECTED) == {v.name for v in BAD}


@pytest.mark.parametrize("name", NAMES)
def test_kind_and_specific_reason(name: str) -> None:
    expect = EXPECTED[name]
    result = hash_file(BAD_DIR / name, HashOptions())
    assert result.kind is expect.kind, result.reason
    assert result.pe_format == expect.pe_format
    if expect.kind is FileKind.PE:
        assert result.reason is None
        text = result.page_hash_note
    else:
        text = result.reason
        # Non-conformant and flat files carry no image hash, no page hashes, no signature.
        for alg in HashAlgorithm:
            assert result.authenticode(alg) is None
            assert result.page_table(alg) is None
            assert result.sip_digest(alg) == result.flat(alg)
        assert result.signature is None
    assert text is not None
    for word in expect.words:
        assert word in text.lower(), f"{name}: {word!r} not in {text!r}"


@pytest.mark.parametrize("name", NAMES)
def test_buffer_and_file_entry_points_agree(name: str) -> None:
    path = BAD_DIR / name
    from_file = hash_file(path, HashOptions())
    from_buffer = hash_buffer(path.read_bytes(), str(path), HashOptions())
    assert from_buffer == from_file


def test_missing_file_is_an_environment_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogEnvironmentError, match="no such file"):
        hash_file(tmp_path / "absent.exe", HashOptions())


def test_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogInputError, match="directory"):
        hash_file(tmp_path, HashOptions())

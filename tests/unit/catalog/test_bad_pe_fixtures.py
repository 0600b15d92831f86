"""The hasher on deliberately broken PEs (fixtures/pe/bad/, formats.md 1.4 and 2.2).

Contract: every broken file gives a ``FileDigests`` with the right kind and a reason that names
the defect, or a specific ``CatalogError``; never any other exception. Flat hashes are always right
(oracle: ``sha1sum``/``sha256sum``), because non-conformant files fall back to them (formats.md 3).
Where the hasher still calls the file a conformant PE, its image hash must equal osslsigncode's.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.errors import CatalogEnvironmentError, CatalogInputError
from catalog.pe.hashing import HashOptions, hash_buffer, hash_file
from catalog.records import FileKind, HashAlgorithm
from fixtures.generate import BAD
from tests.conftest import FIXTURES, require_tool

BAD_DIR = FIXTURES / "pe" / "bad"


@dataclass(frozen=True, slots=True)
class Expect:
    kind: FileKind
    words: tuple[str, ...]
    """Lower-case words the reason (or, for a PE, the page-hash note) must contain."""
    pe_format: str | None = None


EXPECTED: dict[str, Expect] = {
    "empty.exe": Expect(FileKind.FLAT, ("too small",)),
    "mz-only.exe": Expect(FileKind.FLAT, ("e_lfanew", "end of the file")),
    "no-pe-signature.exe": Expect(FileKind.FLAT, ("pe signature",)),
    "elfanew-beyond-eof.exe": Expect(FileKind.FLAT, ("e_lfanew", "end of the file")),
    "truncated-in-section-table.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section table", "end of the file"), "PE32+"
    ),
    "truncated-in-section-data.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section", "raw data", "truncated"), "PE32+"
    ),
    "nsections-ffff.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section table", "65535", "end of the file"), "PE32+"
    ),
    "nsections-zero.exe": Expect(FileKind.PE, ("no section",), "PE32+"),
    "sizeofheaders-beyond-eof.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("sizeofheaders", "end of the file"), "PE32+"
    ),
    "rva-count-4.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("numberofrvaandsizes", "certificate"), "PE32+"
    ),
    "sizeofoptionalheader-huge.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section table", "end of the file"), "PE32+"
    ),
    "unknown-magic.exe": Expect(FileKind.PE_NONCONFORMANT, ("magic", "0x1234")),
    "cert-entry-beyond-eof.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("certificate table", "end of the file"), "PE32+"
    ),
    "signed-then-appended.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("certificate table", "not at the end", "23 bytes"), "PE32+"
    ),
    "cert-size-beyond-eof.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("certificate table", "end of the file"), "PE32+"
    ),
}
NAMES = tuple(sorted(EXPECTED))


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


@pytest.mark.integration
@pytest.mark.parametrize("name", NAMES)
def test_flat_hashes_equal_sha_sums(name: str) -> None:
    path = BAD_DIR / name
    result = hash_file(path, HashOptions())
    for tool, digest in (("sha1sum", result.flat_sha1), ("sha256sum", result.flat_sha256)):
        exe = require_tool(tool)
        out = subprocess.run([exe, str(path)], capture_output=True, text=True, check=True).stdout
        assert digest == bytes.fromhex(out.split()[0]), tool
    assert result.size == path.stat().st_size


@pytest.mark.integration
@pytest.mark.parametrize("name", [n for n in NAMES if EXPECTED[n].kind is FileKind.PE])
def test_broken_but_conformant_pes_hash_like_osslsigncode(name: str) -> None:
    """NumberOfSections = 0: the contiguous image hash is still defined (formats.md 1.4)."""
    exe = require_tool("osslsigncode")
    result = hash_file(BAD_DIR / name, HashOptions())
    for alg in HashAlgorithm:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "data.der"
            subprocess.run(
                [
                    exe,
                    "extract-data",
                    "-h",
                    alg.value,
                    "-in",
                    str(BAD_DIR / name),
                    "-out",
                    str(out),
                ],
                capture_output=True,
                check=True,
            )
            der = out.read_bytes()
        # The DigestInfo's OCTET STRING is the last thing in SpcIndirectDataContent and
        # osslsigncode's extract-data output ends with an empty SignerInfos SET (31 00).
        assert der.endswith(b"\x31\x00")
        digest = result.authenticode(alg)
        assert digest is not None
        tail = bytes([0x04, alg.digest_size]) + digest + b"\x31\x00"
        assert der.endswith(tail), f"{alg.value}: osslsigncode's digest differs"


def test_missing_file_is_an_environment_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogEnvironmentError, match="no such file"):
        hash_file(tmp_path / "absent.exe", HashOptions())


def test_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogInputError, match="directory"):
        hash_file(tmp_path, HashOptions())

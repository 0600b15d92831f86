"""The hasher on deliberately broken PEs (fixtures/pe/bad/, formats.md 1.4 and 2.2).

Contract: every broken file gives a ``FileDigests`` with the right kind and a reason that names
the defect, or a specific ``CatalogError``; never any other exception. Flat hashes are always right
(oracle: ``sha1sum``/``sha256sum``), because non-conformant files fall back to them (formats.md 3).
Where the hasher still calls the file a conformant PE, its image hash must equal osslsigncode's.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from catalog.pe.hashing import HashOptions, hash_file
from catalog.records import FileKind, HashAlgorithm
from tests.conftest import require_tool
from tests.support.catalog_bad_pe_fixtures import BAD_DIR, EXPECTED, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_flat_hashes_equal_sha_sums(name: str) -> None:
    path = BAD_DIR / name
    result = hash_file(path, HashOptions())
    for tool, digest in (("sha1sum", result.flat_sha1), ("sha256sum", result.flat_sha256)):
        exe = require_tool(tool)
        out = subprocess.run([exe, str(path)], capture_output=True, text=True, check=True).stdout
        assert digest == bytes.fromhex(out.split()[0]), tool
    assert result.size == path.stat().st_size


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

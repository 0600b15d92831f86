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

import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings

from catalog.errors import CatalogError
from catalog.pe.hashing import HashOptions, hash_buffer
from catalog.records import FileKind, HashAlgorithm
from tests.conftest import require_tool
from tests.support.catalog_hasher_properties import Case, mutated


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

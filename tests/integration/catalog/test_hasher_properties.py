"""Differential property test: every mutated fixture PE (the mutations of
``tests/support/catalog_hasher_properties.py``: flipped header bytes, truncation, appended data,
chosen values in the fields that steer hashing) that the hasher accepts as a conformant PE must
get osslsigncode's Authenticode digest. The formula checks on the same mutants are in
tests/unit/catalog/test_hasher_properties.py.
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

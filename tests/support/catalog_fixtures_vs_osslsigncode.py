"""Helpers shared by the catalog tests that compare the PE fixtures with osslsigncode."""

from __future__ import annotations

import functools

from catalog.pe.hashing import HashOptions, hash_file
from catalog.records import FileDigests
from fixtures.generate import BUILDS, SIGNED
from tests.conftest import FIXTURES

PE_DIR = FIXTURES / "pe"
UNSIGNED = tuple(b.name for b in BUILDS)
SIGNED_NAMES = tuple(s.name for s in SIGNED)
ALL_PES = UNSIGNED + SIGNED_NAMES


@functools.cache
def digests(name: str) -> FileDigests:
    return hash_file(PE_DIR / name, HashOptions())

"""Batched header parsing (catalog.pe.headers) agrees with the scalar reference parser, and
whole-buffer digests (digest_buffer) with the streaming session.

The reference, ``parse_pe_layout``, is itself checked against formats.md offsets read with
``struct`` in test_hasher_properties and against osslsigncode; here the batched decoder must give
the same layout, or the same error type and message, on every fixture, on Microsoft's files, and
on hypothesis mutants (the same mutation strategy), parsed together in one batch and with
prefixes shorter than the file.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.catalog_batch_headers import check, fixture_files


def test_microsoft_files_in_one_batch(oracle_dir: Path) -> None:
    files = fixture_files(oracle_dir)
    check([(d, len(d)) for d in files])

"""File-level behaviour of the hasher: bad input, large files, and batches that go on."""

from __future__ import annotations

from pathlib import Path

from catalog.pe.hashing import hash_file


def test_digests_survive_json(oracle_dir: Path) -> None:
    """What the tracer journals (to_dict as JSON) comes back as the same record."""
    import json

    from catalog.records import file_digests_from_dict

    for path in (
        oracle_dir / "microsoft" / "DXCore.dll",  # signed, page hashes, metadata
        oracle_dir / "makecat" / "unsigned.exe",
        oracle_dir / "makecat" / "unsigned.mof",
        oracle_dir / "edge" / "BadNtHeaders.exe",
    ):
        record = hash_file(path)
        assert file_digests_from_dict(json.loads(json.dumps(record.to_dict()))) == record

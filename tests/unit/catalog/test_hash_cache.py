"""The incremental hash cache (catalog/fleet/cache.py) with the fleet driver, on a real SQLite file.

Oracles: sha256sum of the files (flat SHA256 of non-PE files); which paths the batch function
was actually asked to read.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from catalog.errors import CatalogInputError
from catalog.fleet.cache import HashCache, StatKey
from catalog.fleet.executors import SerialExecutor, hash_many
from catalog.pe import hash_batch
from catalog.pe.hashing import HashOptions
from catalog.records import FileDigests, HashAlgorithm, HashResult

OPTIONS = HashOptions(algorithms=frozenset({HashAlgorithm.SHA256}))


def _sha256sum(path: Path) -> bytes:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return bytes.fromhex(out.stdout.split()[0])


class Recorder:
    """The real batch function, remembering which paths it was asked to read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def __call__(self, paths: Sequence[str], options: HashOptions) -> list[HashResult]:
        self.read.extend(paths)
        return hash_batch(paths, options)


def _run(
    tree: Path, cache: HashCache, options: HashOptions = OPTIONS
) -> tuple[list[str], list[HashResult]]:
    recorder = Recorder()
    results = list(
        hash_many([tree], options, SerialExecutor(), cache=cache, fn=recorder, batch_files=3)
    )
    return recorder.read, results


def _tree(root: Path, count: int = 7) -> Path:
    root.mkdir()
    for i in range(count):
        (root / f"f{i}.bin").write_bytes(os.urandom(100 + i))
    return root


def _check(results: list[HashResult]) -> None:
    for r in results:
        assert isinstance(r, FileDigests)
        assert r.flat_sha256 == _sha256sum(Path(r.path))


def test_unchanged_files_are_not_read_again(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t")
    with HashCache(tmp_path / "c.db", racy_window_ns=0) as cache:
        first_read, first = _run(tree, cache)
        again_read, again = _run(tree, cache)
        assert len(first_read) == 7
        assert again_read == []
        assert again == first
        _check(again)
        assert cache.stats().entries == 7
    with sqlite3.connect(tmp_path / "c.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_one_byte_change_with_size_and_mtime_restored_is_rehashed(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t")
    target = tree / "f3.bin"
    with HashCache(tmp_path / "c.db", racy_window_ns=0) as cache:
        _run(tree, cache)
        before = target.stat()
        time.sleep(0.05)  # past the kernel's coarse timestamp tick: ctime moves
        data = bytearray(target.read_bytes())
        data[10] ^= 0xFF
        target.write_bytes(bytes(data))
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = target.stat()
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        read, results = _run(tree, cache)
        assert read == [str(target)]
        _check(results)


def test_other_options_miss_and_racy_files_are_not_stored(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t", 3)
    with HashCache(tmp_path / "c.db", racy_window_ns=0) as cache:
        _run(tree, cache)
        read, results = _run(tree, cache, HashOptions())
        assert len(read) == 3
        _check(results)
    with HashCache(tmp_path / "fresh.db") as cache:  # default 2 s window: just written = racy
        _run(tree, cache)
        assert cache.stats().entries == 0
        assert not cache.storable(StatKey.of(str(tree / "f0.bin")))


def test_prune_drops_deleted_and_changed_files(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t", 4)
    with HashCache(tmp_path / "c.db", racy_window_ns=0) as cache:
        _run(tree, cache)
        (tree / "f0.bin").unlink()
        (tree / "f1.bin").write_bytes(b"changed")
        assert cache.prune() == 2
        assert cache.stats().entries == 2


def test_foreign_schema_and_non_database_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(CatalogInputError, match="not a hash cache"):
        HashCache(junk)
    old = tmp_path / "old.db"
    HashCache(old).close()
    with sqlite3.connect(old) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(CatalogInputError, match="schema 99"):
        HashCache(old)

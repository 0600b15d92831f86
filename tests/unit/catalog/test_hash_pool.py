"""Batches on worker processes give the same results, order and errors as threads.

The reference is ``hash_one`` (one file at a time, in-process); digests themselves are checked
against hashlib, osslsigncode and Microsoft's files elsewhere. Here: the process pool, the thread
fallback and a pool that cannot start all return exactly the reference's records, in input order,
with per-file failures in place (missing file, FIFO, folder walk failure).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

import catalog.pe.pool as pool
from catalog.pe.hashing import HashOptions, hash_batch, hash_one, hash_paths, iter_files
from catalog.records import FileDigests, FileFailure
from tests.conftest import FIXTURES


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for i, pe in enumerate(sorted((FIXTURES / "pe").glob("*.*"))):
        shutil.copy(pe, root / f"{i:02d}-{pe.name}")
        (root / f"{i:02d}-notes.txt").write_bytes(b"text %d\n" % i * 50)
    (root / "bad").mkdir()
    for pe in sorted((FIXTURES / "pe" / "bad").glob("*")):
        shutil.copy(pe, root / "bad" / pe.name)
    (root / "empty.dll").write_bytes(b"")
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe")
    return root


def expected(tree: Path, extra: list[str], options: HashOptions) -> list[object]:
    out: list[object] = []
    for item in iter_files([tree, *extra]):
        out.append(hash_one(item, options) if isinstance(item, str) else item)
    return out


@pytest.mark.parametrize("options", [HashOptions(), HashOptions(page_tables=False)])
def test_processes_threads_and_reference_agree(tree: Path, options: HashOptions) -> None:
    missing = str(tree / "missing.exe")
    want = expected(tree, [missing], options)
    on_processes = list(hash_paths([tree, missing], options, workers=2, processes=True))
    on_threads = list(hash_paths([tree, missing], options, workers=2, processes=False))
    assert on_processes == want
    assert on_threads == want
    failures = [r for r in want if isinstance(r, FileFailure)]
    assert any("no such file" in f.error for f in failures)
    if hasattr(os, "mkfifo"):
        assert any("not a regular file" in f.error for f in failures)
    for result in want:
        if isinstance(result, FileDigests):
            data = Path(result.path).read_bytes()
            assert result.flat_sha256 == hashlib.sha256(data).digest()


def test_a_pool_that_cannot_start_falls_back_to_threads(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "process_executor", lambda workers: None)
    options = HashOptions()
    assert list(hash_paths([tree], options, processes=True)) == expected(tree, [], options)


def test_batch_function_is_order_preserving_and_never_raises(tree: Path) -> None:
    paths = [str(tree / "missing"), str(tree / "bad"), *sorted(str(p) for p in tree.glob("*.*"))]
    results = hash_batch(paths, HashOptions())
    assert [r.path for r in results] == paths
    assert isinstance(results[0], FileFailure)
    assert isinstance(results[1], FileFailure)
    assert "is a directory" in results[1].error

"""Batches on worker processes give the same results, order and errors as threads.

The reference is ``hash_one`` (one file at a time, in-process); digests themselves are checked
against hashlib, osslsigncode and Microsoft's files elsewhere. Here: the process pool, the thread
fallback and a pool that cannot start all return exactly the reference's records, in input order,
with per-file failures in place (missing file, FIFO, folder walk failure).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

import catalog.pe.hashing as hashing
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


def test_batch_reports_a_file_that_changes_while_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.exe"
    path.write_bytes((FIXTURES / "pe" / "hello64.exe").read_bytes())
    real = hashing._read_whole

    def read_then_grow(fd: int, name: str, size: int) -> bytes:
        data = real(fd, name, size)
        with open(name, "ab") as f:
            f.write(b"more")
        return data

    monkeypatch.setattr(hashing, "_read_whole", read_then_grow)
    (result,) = hash_batch([str(path)], HashOptions())
    assert isinstance(result, FileFailure)
    assert "changed while it was being hashed" in result.error


def die_in_a_worker(batch: list[int], options: None) -> list[int]:
    """Kills the worker process it runs in; returns normally on a thread."""
    if multiprocessing.parent_process() is not None:
        os._exit(1)
    return [n * 2 for n in batch]


def test_a_pool_that_breaks_mid_run_finishes_on_threads() -> None:
    batches = [[i, i + 1] for i in range(0, 12, 2)]
    done = list(pool.run_ordered(die_in_a_worker, batches, None, workers=2, processes=True))
    assert [b for b, _ in done] == batches
    assert [r for _, r in done] == [[n * 2 for n in b] for b in batches]


def test_batches_close_on_bytes_as_well_as_on_count(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [p for p in iter_files([tree]) if isinstance(p, str) and Path(p).stat().st_size]
    big = max(Path(p).stat().st_size for p in files)
    batches = list(hashing._batches(files, 1000, big))
    assert [p for b in batches for p in b] == files  # nothing lost or reordered
    assert len(batches) > 1
    for batch in batches[:-1]:
        sizes = [Path(str(p)).stat().st_size for p in batch]
        assert sum(sizes[:-1]) < big <= sum(sizes)  # closed by the file that reached the cap
    # Tiny byte caps (one file per batch) on processes still give the reference's records.
    monkeypatch.setattr(hashing, "BATCH_BYTES", 1)
    options = HashOptions()
    got = list(hash_paths([tree], options, workers=2, processes=True))
    assert got == expected(tree, [], options)


def test_warm_up_starts_the_fork_server_that_pools_then_use(tree: Path) -> None:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server on this platform (spawn: nothing to warm up)")
    from multiprocessing import forkserver

    pool.warm_up()
    pid = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    assert pid is not None
    os.kill(pid, 0)  # alive
    options = HashOptions()
    assert list(hash_paths([tree], options, workers=2, processes=True)) == expected(
        tree, [], options
    )
    assert forkserver._forkserver._forkserver_pid == pid  # type: ignore[attr-defined]
    pool.warm_up()  # idempotent: the same server
    assert forkserver._forkserver._forkserver_pid == pid  # type: ignore[attr-defined]

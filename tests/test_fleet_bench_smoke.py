"""Smoke test of bench/fleet_bench.py (not timed): the local pool, the cache rescan and the paper
estimate run once on a tiny generated tree; the bench's own check compares every engine's
records with the in-process hasher's, and the flat digests are checked here with hashlib."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.fleet_bench import estimate_hours, make_tree, render, run
from catalog.fleet.executors import LocalExecutor, hash_many
from catalog.pe.hashing import HashOptions
from catalog.records import FileDigests


def test_fleet_bench_runs_on_a_tiny_tree(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree", 12, 4)
    report = run(tree, dask=False, workers=(1, 2))
    assert report["files"] == 12
    text = render(report)
    assert "process pool" in text
    assert "cache:" in text
    pool = LocalExecutor(2)
    try:
        for record in hash_many([tree], HashOptions(), pool):
            assert isinstance(record, FileDigests)
            digest = hashlib.sha256(Path(record.path).read_bytes()).digest()
            assert record.flat_sha256 == digest
    finally:
        pool.close()


def test_paper_estimate_is_the_larger_of_reading_and_driver_time() -> None:
    # 1 TB at 100 MB/s per worker over 2 workers = 5,000 s; 1e6 files / 10 per batch * 0.01 s
    # = 1,000 s of driver time: reading dominates. With 0.1 s per batch the driver does.
    assert abs(estimate_hours(1e12, 1e6, 100.0, 0.01, 10, workers=2) - 5_000 / 3600) < 1e-9
    assert abs(estimate_hours(1e12, 1e6, 100.0, 0.1, 10, workers=2) - 10_000 / 3600) < 1e-9

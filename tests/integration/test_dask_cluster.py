"""Hashing on a real Dask cluster on loopback: a ``dask scheduler`` and two ``dask worker``
processes started here (random free ports, bounded timeouts, always torn down).

Oracles: sha256sum of every file, and the local hasher's records (the same batch function run
in-process) for the PE fixtures' Authenticode digests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.fleet.dask import DaskExecutor
from catalog.fleet.executors import hash_many
from catalog.pe.hashing import HashOptions, hash_paths
from catalog.records import FileDigests, FileFailure, HashResult
from tests.conftest import FIXTURES, PROJECT_ROOT
from tests.support.fleet_kit import Cluster, slow_batch, start_cluster, started_batches

pytestmark = pytest.mark.slow


def _sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0].upper()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    pytest.importorskip("distributed", reason="the [fleet] extra (dask[distributed]) is missing")
    running = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(60):
        (root / f"data{i:02}.bin").write_bytes(bytes([i]) * (1000 + 37 * i))
    for pe in sorted((FIXTURES / "pe").glob("*.exe")):
        shutil.copy(pe, root / pe.name)
    return root


def _cli(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "inspector", *args], cwd=PROJECT_ROOT, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict)
    return doc


def test_cluster_digests_match_the_local_run_and_sha256sum(cluster: Cluster, tree: Path) -> None:
    remote = _cli("hash", "--json", "--dask", cluster.address, str(tree))
    local = _cli("hash", "--json", str(tree))
    assert remote["files"] == local["files"]
    files = remote["files"]
    assert isinstance(files, list)
    assert len(files) == len(list(tree.iterdir()))
    for record in files:
        if record["kind"] == "flat":
            assert record["flat_sha256"] == _sha256sum(Path(record["path"]))


def test_catalog_built_on_the_cluster_is_byte_identical(
    cluster: Cluster, tree: Path, tmp_path: Path
) -> None:
    outputs: list[bytes] = []
    for extra in (["--dask", cluster.address], []):
        out = tmp_path / f"app{len(outputs)}.cat"
        args = ["catalog", "build", str(tree), "-o", str(out), "--time", "2026-01-01T00:00:00Z"]
        _cli(*args, "--json", *extra)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_a_worker_killed_mid_run_has_its_batches_rerun(tmp_path: Path, tree: Path) -> None:
    pytest.importorskip("distributed", reason="the [fleet] extra (dask[distributed]) is missing")
    own = start_cluster(tmp_path / "own")
    try:
        options = HashOptions()
        expected = list(hash_paths([tree], options))
        executor = DaskExecutor(own.address, window=4)
        victim = own.workers[0].pid
        lost: set[str] = set()
        try:
            got: list[HashResult] = []
            stream = hash_many([tree], options, executor, fn=slow_batch, batch_files=4)
            for result in stream:
                got.append(result)
                if lost or own.workers[0].poll() is not None:
                    continue
                # Kill the worker once it holds a batch whose results we have not received yet
                # (running, or done but not fetched): that batch is lost with it.
                seen = {r.path for r in got}
                lost = {p for pid, p in started_batches(tree) if pid == victim and p not in seen}
                if lost:
                    own.kill_worker(0)
        finally:
            executor.close()
        assert lost, "the worker to kill never took a batch"
        assert got == expected
        reruns = {p for pid, p in started_batches(tree) if pid != victim}
        assert lost <= reruns  # every lost batch ran again on the surviving worker
    finally:
        own.stop()


def test_a_file_vanishing_between_listing_and_hashing_is_a_record(
    cluster: Cluster, tree: Path
) -> None:
    listed = sorted(str(p) for p in tree.iterdir())
    gone = listed[5]
    Path(gone).unlink()
    executor = DaskExecutor(cluster.address)
    try:
        results = list(hash_many(listed, HashOptions(), executor, batch_files=8))
    finally:
        executor.close()
    assert [r.path for r in results] == listed
    failure = results[5]
    assert isinstance(failure, FileFailure)
    assert failure.category == "environment"
    assert "no such file" in failure.error
    for r in results[:5] + results[6:]:
        assert isinstance(r, FileDigests)
        assert r.flat_sha256 is None or r.flat_sha256.hex().upper() == _sha256sum(Path(r.path))

"""Scale benchmark (issue 16): the local process pool with 1, 2 and 4 workers against a two-worker
Dask cluster on loopback, on the same files; the per-batch overhead of each engine; the hash
cache's rescan speed-up; and a paper estimate for a large software library.

    python -m bench.fleet_bench [DIR] [--files 400] [--kb 256] [--json out.json]

Without DIR a synthetic tree is generated (random blobs plus copies of the PE fixtures) in a
temporary folder. Every engine hashes the same files after one warm-up read (page cache warm);
the correctness check compares each engine's records with the in-process hasher's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from catalog.fleet.cache import HashCache
from catalog.fleet.executors import BatchExecutor, LocalExecutor, hash_many
from catalog.pe.hashing import HashOptions, hash_paths
from catalog.records import FileFailure, HashResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pe"
OPTIONS = HashOptions(metadata=False)


@dataclass(frozen=True, slots=True)
class Rate:
    engine: str
    workers: int
    seconds: float
    files: int
    megabytes: float

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.megabytes / self.seconds


def noop_batch(paths: Sequence[str], options: HashOptions) -> list[HashResult]:
    """A batch that reads nothing: what is left is the engine's round trip."""
    return [FileFailure(p, "not read", "input") for p in paths]


def make_tree(root: Path, files: int, kb: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    pes = sorted(FIXTURES.glob("*.exe")) + sorted(FIXTURES.glob("*.dll"))
    for i in range(files):
        if pes and i % 4 == 0:
            shutil.copy(pes[i % len(pes)], root / f"f{i:05}{pes[i % len(pes)].suffix}")
        else:
            size = max(1, (kb * 1024 * (1 + i % 7)) // 4)
            (root / f"f{i:05}.bin").write_bytes(os.urandom(size))
    return root


def _warm(paths: list[str]) -> int:
    total = 0
    for p in paths:
        total += len(Path(p).read_bytes())
    return total


def _time(engine: str, workers: int, executor: BatchExecutor, tree: Path, size: int,
          expected: list[HashResult]) -> Rate:  # fmt: skip
    start = time.perf_counter()
    got = list(hash_many([tree], OPTIONS, executor))
    seconds = time.perf_counter() - start
    if got != expected:
        raise SystemExit(f"{engine} x{workers}: records differ from the in-process hasher")
    return Rate(engine, workers, seconds, len(got), size / 1e6)


def batch_overhead(executor: BatchExecutor, paths: list[str], batches: int = 200) -> float:
    """Seconds per batch of one path through ``noop_batch`` (submission to result)."""
    chosen = (paths * (batches // max(1, len(paths)) + 1))[:batches]
    list(executor.map_ordered(noop_batch, [[p] for p in chosen[:10]], OPTIONS))  # warm up
    start = time.perf_counter()
    list(executor.map_ordered(noop_batch, [[p] for p in chosen], OPTIONS))
    return (time.perf_counter() - start) / len(chosen)


def cache_speedup(tree: Path, folder: Path) -> tuple[float, float]:
    """(first cached scan, rescan of the unchanged tree) in seconds, in-process hasher."""
    with HashCache(folder / "bench-cache.db") as cache:
        start = time.perf_counter()
        list(hash_many([tree], OPTIONS, LocalExecutor(2), cache=cache))
        first = time.perf_counter() - start
        start = time.perf_counter()
        list(hash_many([tree], OPTIONS, LocalExecutor(2), cache=cache))
        again = time.perf_counter() - start
    return first, again


def estimate_hours(
    total_bytes: float, mean_file_bytes: float, mb_per_s_per_worker: float,
    overhead_s: float, batch_files: int, workers: int,
) -> float:  # fmt: skip
    """Paper estimate: the workers' reading time, or the driver's serial per-batch cost when that
    is larger (results stream while workers read, so the two overlap)."""
    read_s = total_bytes / 1e6 / mb_per_s_per_worker / workers
    driver_s = total_bytes / mean_file_bytes / batch_files * overhead_s
    return max(read_s, driver_s) / 3600


def run(tree: Path, *, dask: bool = True, workers: Sequence[int] = (1, 2, 4)) -> dict[str, object]:
    paths = sorted(str(p) for p in tree.rglob("*") if p.is_file())
    size = _warm(paths)
    expected = list(hash_paths([tree], OPTIONS))
    rates: list[Rate] = []
    overheads: dict[str, float] = {}
    for n in workers:
        pool = LocalExecutor(n)
        try:
            rates.append(_time("process pool", n, pool, tree, size, expected))
            if n == 2:
                overheads["process pool x2"] = batch_overhead(pool, paths)
        finally:
            pool.close()
    if dask:
        from catalog.fleet.dask import DaskExecutor

        cluster = DaskExecutor("local:2")
        try:
            rates.append(_time("dask loopback", 2, cluster, tree, size, expected))
            overheads["dask loopback x2"] = batch_overhead(cluster, paths)
        finally:
            cluster.close()
    with tempfile.TemporaryDirectory() as folder:
        time.sleep(2.1)  # files older than the cache's racy window
        first, again = cache_speedup(tree, Path(folder))
    return {
        "files": len(paths),
        "megabytes": size / 1e6,
        "rates": [
            {**asdict(r), "files_per_s": r.files_per_s, "mb_per_s": r.mb_per_s} for r in rates
        ],
        "batch_overhead_s": overheads,
        "cache": {"first_s": first, "rescan_s": again, "speedup": first / again},
    }


def render(report: dict[str, object]) -> str:
    lines = [f"{report['files']} files, {report['megabytes']:.1f} MB"]
    lines.append(f"{'engine':<16}{'workers':>8}{'s':>9}{'files/s':>10}{'MB/s':>9}")
    rates = report["rates"]
    assert isinstance(rates, list)
    for r in rates:
        lines.append(
            f"{r['engine']:<16}{r['workers']:>8}{r['seconds']:>9.2f}"
            f"{r['files_per_s']:>10.0f}{r['mb_per_s']:>9.1f}"
        )
    overheads = report["batch_overhead_s"]
    assert isinstance(overheads, dict)
    for name, seconds in overheads.items():
        lines.append(f"per-batch overhead, {name}: {seconds * 1000:.2f} ms")
    cache = report["cache"]
    assert isinstance(cache, dict)
    lines.append(
        f"cache: first scan {cache['first_s']:.2f} s, unchanged rescan {cache['rescan_s']:.3f} s "
        f"({cache['speedup']:.1f}x)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", nargs="?", type=Path)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--kb", type=int, default=256, help="mean size of the random blobs")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        tree = args.tree or make_tree(Path(folder) / "tree", args.files, args.kb)
        report = run(tree, dask=not args.no_dask)
    print(render(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

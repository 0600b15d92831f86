"""A real Dask cluster on loopback for the fleet tests: ``dask scheduler`` + ``dask worker``
processes on random free ports, always torn down; and a slow batch function for the workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.pe import hash_batch
from catalog.pe.hashing import HashOptions
from catalog.records import HashResult

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def batch_log(tree: Path) -> Path:
    return tree.parent / "batches.log"


def slow_batch(paths: Sequence[str], options: HashOptions) -> list[HashResult]:
    """``hash_batch`` that takes a while, so a worker can be killed in the middle of it; each
    start is logged as ``pid first-path`` beside the hashed folder."""
    if paths:
        with batch_log(Path(paths[0]).parent).open("a") as log:
            log.write(f"{os.getpid()} {paths[0]}\n")
    time.sleep(0.4)
    return hash_batch(paths, options)


def started_batches(tree: Path) -> list[tuple[int, str]]:
    log = batch_log(tree)
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    return [(int(pid), path) for pid, path in (line.split(" ", 1) for line in lines if line)]


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def kill_worker(self, index: int) -> None:
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait(timeout=30)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=20)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with log.open("wb") as out:
        return subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def start_cluster(tmp: Path, workers: int = 2, timeout: float = 90.0) -> Cluster:
    """Scheduler + ``workers`` single-thread workers (no nanny: a killed worker stays dead)."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _spawn(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        tmp / "scheduler.log",
    )
    cluster = Cluster(address, scheduler)
    try:
        for i in range(workers):
            args = [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1"]
            args += ["--no-nanny", "--no-dashboard", "--name", f"w{i}"]
            cluster.workers.append(_spawn(args, tmp / f"worker{i}.log"))
        _wait_for_workers(cluster, workers, timeout, tmp)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for_workers(cluster: Cluster, count: int, timeout: float, tmp: Path) -> None:
    probe = (
        "import sys\nfrom distributed import Client\n"
        f"with Client({cluster.address!r}, timeout={timeout}) as c:\n"
        f"    c.wait_for_workers({count}, timeout={timeout})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout + 30,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in tmp.glob("*.log"))
        raise RuntimeError(f"the loopback cluster did not start: {done.stderr[-2000:]}\n{logs}")

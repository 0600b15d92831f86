"""Tracer benchmark: start/stop latency, recorder CPU and memory, burst throughput (tracer.md 4).

Builds a tree of ``--files`` files (default 200,000 in 2,000 directories), starts a real recorder
on it, measures it idle, writes a burst of ``--burst`` files from a separate process as fast as
possible, and stops. Targets: start < 5 s and stop < 5 s on 200,000 files, idle < 1% of a core,
no live event lost in the burst. Linux only (reads /proc for the recorder's CPU and memory).

    .venv/bin/python -m bench.tracer_bench [--files 200000] [--burst 20000] [--sources auto]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracer.control import request
from tracer.session import start_session, stop_session
from tracer.state import SessionOptions

_TICK = os.sysconf("SC_CLK_TCK")
_WRITER = """
import sys, time
root, n = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
for i in range(n):
    with open(f"{root}/d{i % 200:03d}/burst{i:06d}.dll", "wb") as f:
        f.write(b"x" * 64)
print(time.perf_counter() - t)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def memory_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def build_tree(root: Path, files: int) -> None:
    per_dir = 100
    for d in range(max(1, files // per_dir)):
        sub = root / f"t{d // 100:03d}" / f"s{d:05d}"
        sub.mkdir(parents=True)
        for f in range(per_dir):
            (sub / f"f{f:03d}.bin").write_bytes(b"")
    for d in range(200):
        (root / f"d{d:03d}").mkdir(exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--burst", type=int, default=20_000)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    ap.add_argument("--sources", default="auto")
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    args = ap.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("this benchmark reads /proc; run it on Linux", file=sys.stderr)
        return 2
    work = Path(args.dir or tempfile.mkdtemp(prefix="tracer-bench-"))
    root = work / "root"
    os.environ["INSPECTOR_STATE_DIR"] = str(work / "state")
    try:
        t = time.perf_counter()
        build_tree(root, args.files)
        print(f"tree: {args.files} files built in {time.perf_counter() - t:.1f} s")
        opts = SessionOptions(sources=tuple(args.sources.split(",")))
        t = time.perf_counter()
        info = start_session(str(root), options=opts)
        start_s = time.perf_counter() - t
        pid = int(json.loads(Path(info.recorder_path).read_text())["pid"])
        rss_ready = memory_kib(pid, "VmRSS")
        c0, w0 = cpu_seconds(pid), time.perf_counter()
        time.sleep(args.idle)
        idle_pct = 100 * (cpu_seconds(pid) - c0) / (time.perf_counter() - w0)
        c1, w1 = cpu_seconds(pid), time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _WRITER, str(root), str(args.burst)],
            check=True,
            capture_output=True,
            text=True,
        )
        writer_s = float(out.stdout)
        # Wait until the recorder's journal stops growing (every live event of the burst is in
        # it), or 60 s; the time of the last growth is when the recorder caught up.
        deadline = time.monotonic() + 60
        events, caught_up = -1, time.perf_counter()
        while time.monotonic() < deadline:
            now_events = int(request(info, {"cmd": "status"}, 10)["events"])
            if now_events != events:
                events, caught_up = now_events, time.perf_counter()
            elif time.perf_counter() - caught_up > 1.0:
                break
            time.sleep(0.05)
        drain_s = caught_up - w1
        burst_cpu = cpu_seconds(pid) - c1
        rss_peak = memory_kib(pid, "VmHWM")
        t = time.perf_counter()
        result = stop_session(str(root))
        stop_s = time.perf_counter() - t
        m = result.manifest
        burst = [e for e in m.entries if "/burst" in e.path]
        missing = args.burst - len(burst)
        # The snapshot alone guarantees nothing is missing; live loss shows as files only the
        # snapshot saw, and it must be reported as degraded.
        snapshot_only = sum(1 for e in burst if set(e.sources) == {"snapshot"})
        print(f"start (baseline walk + arm + ready): {start_s:.2f} s")
        print(f"stop (flush + walk + reduce):        {stop_s:.2f} s")
        print(f"recorder idle CPU:                   {idle_pct:.2f} % of a core")
        print(
            f"burst: {args.burst} files written in {writer_s:.2f} s; {events} live events "
            f"journaled after {drain_s:.2f} s ({events / drain_s:,.0f} events/s); recorder CPU "
            f"{burst_cpu:.2f} s ({100 * burst_cpu / drain_s:.0f} % of a core)"
        )
        print(f"files missing from the manifest:     {missing}")
        print(f"files no live source saw:            {snapshot_only}")
        mib = f"{rss_ready / 1024:.0f} / {rss_peak / 1024:.0f} MiB"
        print(f"recorder RSS ready / peak:           {mib}")
        print(f"degraded: {list(m.degraded) or 'no'}")
        lost_silently = snapshot_only > 0 and not m.degraded
        return 0 if missing == 0 and not lost_silently else 1
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

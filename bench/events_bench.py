"""Benchmark: reading Code Integrity EVTX logs - the parser choice and the reader's memory.

Writes a CodeIntegrity/Operational log of N audit events, each with its 3089 signature event
(``fixtures.evtx_writer``: real MS-EVEN6 binary XML that both parsers read), then, in one run on
the same file:

1. renders every record to XML with pyevtx-rs (``evtx``, Rust) and with ``python-evtx`` (pure
   Python; on a sample of records, then scaled) - the choice ``policy/events/evtx_log.py`` made;
2. reads the whole log into events with ``policy.events.read_events`` (render, parse,
   normalise, correlate, de-duplicate): records/s and peak traced memory at N/10 and N records,
   to show memory follows the number of distinct files, not the log's size.

    .venv/bin/python -m bench.events_bench [--events 20000] [--python-evtx-sample 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

import evtx
import Evtx.Evtx as python_evtx  # noqa: N813 - the package's own module name

from fixtures.evtx_writer import LogEvent, audit_event, signature_event, write_evtx
from policy.events import read_events


def make_log(path: Path, n: int, distinct: int | None = None) -> int:
    """``n`` audit events (+ ``n`` signature events) for ``distinct`` files (default: all)."""
    distinct = distinct or n
    events: list[LogEvent] = []
    issuer = hashlib.sha256(b"issuer").digest()
    leaf = hashlib.sha256(b"leaf").digest()
    for i in range(n):
        f = i % distinct
        act = f"00000000-0000-4000-8000-{i:012d}"
        events.append(
            audit_event(
                3076,
                f"\\Device\\HarddiskVolume3\\Program Files\\App\\f{f}.dll",
                sha1=hashlib.sha1(b"%d" % f).digest(),
                sha256=hashlib.sha256(b"%d" % f).digest(),
                original_file_name=f"f{f}.dll",
                file_version="1.0.0.0",
                activity_id=act,
            )
        )
        events.append(
            signature_event(
                act,
                total=1,
                publisher="Contoso Ltd",
                issuer="Contoso CA",
                publisher_tbs=leaf,
                issuer_tbs=issuer,
            )
        )
    data = write_evtx(events)
    path.write_bytes(data)
    return len(data)


def render_rust(path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    count = sum(1 for _ in evtx.PyEvtxParser(str(path), number_of_threads=1).records())
    return count, time.perf_counter() - start


def render_python(path: Path, sample: int) -> tuple[int, float]:
    start = time.perf_counter()
    count = 0
    with python_evtx.Evtx(str(path)) as log:
        for record in log.records():
            record.xml()
            count += 1
            if count >= sample:
                break
    return count, time.perf_counter() - start


def read_all(path: Path) -> tuple[int, float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    found = read_events([str(path)])
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(found.events), elapsed, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--python-evtx-sample", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    n = args.events
    results: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "ci.evtx"
        size = make_log(log, n)
        records, rust_s = render_rust(log)
        sampled, py_s = render_python(log, min(args.python_evtx_sample, records))
        rust_rate = records / rust_s
        py_rate = sampled / py_s
        files, read_s, peak = read_all(log)
        small = Path(tmp) / "small.evtx"
        make_log(small, max(n // 10, 1))
        _, _, small_peak = read_all(small)
        repeats = Path(tmp) / "repeats.evtx"
        make_log(repeats, n, distinct=max(n // 100, 1))
        distinct_files, _, repeat_peak = read_all(repeats)
        results = {
            "records": records,
            "log_bytes": size,
            "evtx_records_per_s": round(rust_rate),
            "python_evtx_records_per_s": round(py_rate),
            "evtx_over_python_evtx": round(rust_rate / py_rate, 1),
            "read_events_records_per_s": round(records / read_s),
            "read_events_seconds": round(read_s, 2),
            "files": files,
            "peak_traced_mb_n": round(peak / 1e6, 1),
            "peak_traced_mb_n_over_10": round(small_peak / 1e6, 1),
            "peak_traced_mb_n_with_1pct_distinct_files": round(repeat_peak / 1e6, 1),
            "distinct_files_in_repeats": distinct_files,
        }
    for key, value in results.items():
        print(f"{key:45} {value}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

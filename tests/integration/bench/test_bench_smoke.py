"""Smoke test of the benchmarks in bench/ (not timed): every method runs once over three small
generated files, so the benchmark code stays exercised and type-checked in CI. The correctness
checks it performs compare our digests with hashlib and LIEF (independent implementations)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.hash_throughput import (
    run_benchmark,
)


def test_osslsigncode_subset_finds_our_image_hash(three_files: list[Path]) -> None:
    from tests.conftest import require_tool

    require_tool("osslsigncode")
    report = run_benchmark([str(p) for p in three_files], repetitions=1, osslsigncode_every=1)
    assert report.osslsigncode_files == 3
    assert report.measurements["osslsigncode"].files == 3
    assert report.checks.mismatches == []
    # osslsigncode pads unsigned images the Windows way: both PEs agree, the unaligned one too
    assert report.checks.osslsigncode_agree == 2


def test_hash_cli_bench_runs_and_checks_outputs(tmp_path: Path, three_files: list[Path]) -> None:
    """bench.hash_cli once over tiny workloads: every method runs; the outputs are checked
    inside (one record per file; flat SHA-256 against hashlib)."""
    from bench import hash_cli

    saved = tmp_path / "rows.json"
    args = ["--real", str(three_files[0].parent), "--small", "12", "--repetitions", "1"]
    assert hash_cli.main([*args, "--json", str(saved)]) == 0
    rows = [hash_cli.Row(**r) for r in json.loads(saved.read_text())]
    assert [(r.workload, r.files) for r in rows] == [("real PEs", 2), ("small-12", 12)]
    for row in rows:
        assert set(row.seconds) == {"limit", *hash_cli.COMMANDS}
        # sha-sums on a dozen files may end before the first sample; Python never does
        assert all(row.peak_rss_mb[m] > 0 for m in hash_cli.COMMANDS if m.startswith("hash"))
    assert "ratio to the limit" in hash_cli.render(rows)

"""Smoke test of the benchmarks in bench/ (not timed): every method runs once over three small
generated files, so the benchmark code stays exercised and type-checked in CI. The correctness
checks it performs compare our digests with hashlib and LIEF (independent implementations)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from bench.corpus import extract_pe_members, list_files, summarize
from bench.hash_throughput import (
    main,
    probe_large_file,
    render,
    run_benchmark,
    write_synthetic_large_pe,
)
from tests.support.bench_inputs import write_three_files


@pytest.fixture
def three_files(tmp_path: Path) -> list[Path]:
    return write_three_files(tmp_path)


def test_every_method_runs_and_agrees_with_hashlib_and_lief(three_files: list[Path]) -> None:
    sizes = sum(p.stat().st_size for p in three_files)
    assert three_files[0].stat().st_size % 8 == 0
    assert three_files[1].stat().st_size % 8 != 0

    report = run_benchmark([str(p) for p in three_files], workers=2, repetitions=1)

    assert report.files == 3
    assert report.total_bytes == sizes
    expected_methods = {
        "ours-full",
        "ours-image",
        "ours-meta",
        "raw-read-sha1",
        "raw-read-sha256",
        "raw-mmap-sha1",
        "raw-mmap-sha256",
        "reference",
        "ceiling",
        "signify",
        "lief",
    }
    assert set(report.measurements) == expected_methods
    for measurement in report.measurements.values():
        assert measurement.files == 3
        assert measurement.total_bytes == sizes
        assert measurement.seconds > 0
    checks = report.checks
    assert checks.mismatches == []
    assert checks.kinds == {"pe": 2, "flat": 1}
    assert checks.flat_vs_hashlib == 3
    assert checks.lief_agree == 1  # the aligned PE; LIEF does not pad the unaligned one
    assert checks.lief_not_comparable == 1
    assert checks.signify_agree == 1
    assert [r.name for r in report.ratios if r.target is not None] == [
        "ours full (metadata=False) / hashlib reference",
        "ours image-only / signify",
        "ours image-only / LIEF",
    ]
    table = render(report)
    for measurement in report.measurements.values():
        assert measurement.label in table
    assert "MISMATCH" not in table


def test_large_file_probe_reports_digest_and_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.exe"
    write_synthetic_large_pe(big, size=1 << 20)
    probe = probe_large_file(str(big), metadata=False)
    assert probe.size == 1 << 20
    assert probe.matches_hashlib  # the child's flat SHA256 against hashlib in this process
    assert probe.bounded


def test_corpus_extraction_and_summary(tmp_path: Path, three_files: list[Path]) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-win_amd64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/core.pyd", three_files[0].read_bytes())
        archive.writestr("demo/readme.txt", b"skipped: not a PE suffix")
        archive.writestr("../escape.dll", b"never written outside the corpus")
    out = tmp_path / "files"

    extracted = extract_pe_members([wheel], out)

    assert [p.relative_to(out).as_posix() for p in extracted] == [
        "demo-1.0-py3-none-win_amd64/demo/core.pyd"
    ]
    assert hashlib.sha256(extracted[0].read_bytes()).digest() == (
        hashlib.sha256(three_files[0].read_bytes()).digest()
    )
    assert not (tmp_path / "escape.dll").exists()
    summary = summarize(list_files(tmp_path))
    # three_files + the extracted copy + the wheel (a zip: not a PE)
    assert (summary.files, summary.pe, summary.flat, summary.signed) == (5, 3, 2, 0)


def test_cli_on_a_folder(tmp_path: Path, three_files: list[Path]) -> None:
    report = tmp_path / "out.json"
    args = [str(three_files[0].parent), "--repetitions", "1", "--osslsigncode-every", "0"]
    status = main([*args, "--no-large-probe", "--json", str(report)])
    assert status == 0
    assert '"ours-full"' in report.read_text(encoding="utf-8")


def test_catalog_build_bench_runs_end_to_end() -> None:
    """Hash, build, sign and read back a 40-member catalog through the benchmark's own code."""
    from bench import catalog_build

    figures = catalog_build.run(40, 2, read_back=True)
    assert figures["members"] == 40
    assert figures["catalog_bytes"] > figures["unsigned_bytes"]
    assert figures["peak_mib_full"] > 0
    assert "read_s" in figures

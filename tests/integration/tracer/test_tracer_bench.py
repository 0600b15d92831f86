"""Smoke test of bench/tracer_bench.py on a small tree (not timed): it runs and loses nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.tracer_bench import main


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the benchmark reads /proc")
def test_tracer_bench_runs_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INSPECTOR_STATE_DIR", str(tmp_path / "unused"))  # restored afterwards
    code = main(["--files", "2000", "--burst", "300", "--idle", "0.3", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "files missing from the manifest:     0" in out
    assert "files no live source saw:            0" in out or "degraded: ['" in out

